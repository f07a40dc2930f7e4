import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The version in package.json, which sits one level above both src/ and dist/. Read once at
 * start; a build without it (a bundler that moved files) still runs, as version 0.0.0.
 */
function readVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const GATEWAY_VERSION = readVersion();
