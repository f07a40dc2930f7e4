/**
 * Stands in for the gateway behind the launcher: relaunches itself like src/cli.ts, then prints
 * one JSON line (pid, Node flags, malloc tunables) and waits. SIGTERM ends it with the status in
 * HEAP_LAUNCH_EXIT (0), as the gateway ends after a drain.
 */
import { followLauncher, relaunchWithHeapFlag } from '../../../src/launch/heap-launch';

if (!relaunchWithHeapFlag()) {
  followLauncher();
  process.on('SIGTERM', () => process.exit(Number(process.env.HEAP_LAUNCH_EXIT ?? 0)));
  console.log(
    JSON.stringify({
      pid: process.pid,
      execArgv: process.execArgv,
      ppid: process.ppid,
      glibcTunables: process.env.GLIBC_TUNABLES ?? null,
    }),
  );
  setInterval(() => undefined, 1000);
}
