#!/usr/bin/env node
import { followLauncher, relaunchWithHeapFlag } from './launch/heap-launch';

if (!relaunchWithHeapFlag()) {
  followLauncher();
  // Loaded only here, so that a launcher holds nothing but node: modules (a few MB).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('./command');
}
