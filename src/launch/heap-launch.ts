import { spawn } from 'node:child_process';
import os from 'node:os';

/**
 * V8 sizes a young heap's old generation tightly, and below that size it starts a full, marking
 * collection whenever the room left is less than the young generation. A gateway keeps 20-30 MB
 * alive (HTTP routes, schemas, clients) and churns through short-lived request objects, so at
 * full load it ran a full collection every 100-300 ms, after only a few MB of allocation: about
 * a third of its CPU. A larger initial old generation takes that trigger away; collections then
 * come when the heap has really grown. V8 reads the flag only when it creates the heap, so the
 * gateway starts Node with it, relaunching itself when it was not given.
 */
export const HEAP_FLAG = '--initial-old-space-size';
/** Set to `inherit` to run with Node's own heap settings (no relaunch). */
export const HEAP_ENV = 'EVENT_GATEWAY_NODE_HEAP';
/** Marks the relaunched process, which must die with the launcher (consumed at start). */
export const LAUNCHED_ENV = 'EVENT_GATEWAY_LAUNCHED';

const PREFERRED_MB = 128;

/**
 * The flag to start Node with, or null when it needs none: the flag (or a heap option of V8's) was
 * given, or the operator chose Node's own settings. With little memory (a small container) the
 * initial old generation takes at most a quarter of it.
 */
export function heapFlagFor(
  execArgv: readonly string[],
  env: NodeJS.ProcessEnv,
  memoryBytes: number,
): string | null {
  if (env[HEAP_ENV] === 'inherit' || env[LAUNCHED_ENV] !== undefined) return null;
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((arg) => arg.startsWith(HEAP_FLAG) || arg.startsWith('--initial-heap-size'))) return null;
  const megabytes = Math.min(PREFERRED_MB, Math.floor(memoryBytes / 4 / 2 ** 20));
  return megabytes >= 16 ? `${HEAP_FLAG}=${megabytes}` : null;
}

/**
 * glibc's malloc gives freed memory at the top of its heap back to the kernel once more than
 * 128 KB is free there. Every read from a client socket is a fresh 64 KB buffer and every
 * produce request a pipeline reads is assembled into one more, so under load the heap's top rose
 * and fell all the time and each rise was paid again in page faults (about 19,000 per 100,000
 * records of 1 KiB validated, some 6 % of the gateway's CPU). Keeping up to half the initial old
 * generation's size free in the heap takes that away; the threshold above which a block gets a
 * mapping of its own is fixed too, as setting one tunable stops glibc adjusting the other. Returns
 * the GLIBC_TUNABLES value for the relaunched gateway, or null when the operator set malloc
 * tunables already (other C libraries ignore the variable).
 */
export function mallocTunablesFor(env: NodeJS.ProcessEnv, heapFlag: string): string | null {
  if (/glibc\.malloc\./.test(env.GLIBC_TUNABLES ?? '')) return null;
  if (Object.keys(env).some((name) => name.startsWith('MALLOC_') && name.endsWith('_'))) return null;
  const megabytes = Number(heapFlag.slice(heapFlag.indexOf('=') + 1));
  const trim = (megabytes / 2) * 2 ** 20;
  const ours = `glibc.malloc.trim_threshold=${trim}:glibc.malloc.mmap_threshold=${Math.min(32 * 2 ** 20, trim / 2)}`;
  return env.GLIBC_TUNABLES ? `${env.GLIBC_TUNABLES}:${ours}` : ours;
}

/** Memory this process may use: the cgroup's limit when there is one, else the machine's. */
function availableMemory(): number {
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  const total = os.totalmem();
  return constrained !== undefined && constrained > 0 ? Math.min(constrained, total) : total;
}

/**
 * Starts this command again under Node with the heap flag (and malloc tunables), when it lacks it, and stays in front
 * of it: signals that ask for a stop are passed on, its exit status becomes this process's, and
 * should this process be killed outright the gateway dies too (it watches the channel between
 * them). Returns false when the current process should run the gateway itself.
 */
export function relaunchWithHeapFlag(): boolean {
  const flag = heapFlagFor(process.execArgv, process.env, availableMemory());
  if (flag === null) return false;
  const malloc = mallocTunablesFor(process.env, flag);
  const tunables = malloc === null ? {} : { GLIBC_TUNABLES: malloc };
  const child = spawn(process.execPath, [...process.execArgv, flag, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...tunables, [LAUNCHED_ENV]: String(process.pid) },
    // Its own process group: a terminal's Ctrl-C reaches the launcher alone, which passes it on once.
    detached: true,
  });
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  for (const signal of signals) process.on(signal, () => child.kill(signal));
  child.on('error', (error) => {
    console.error(`event-gateway failed to start: ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal === null) process.exit(code ?? 1);
    for (const forwarded of signals) process.removeAllListeners(forwarded);
    process.kill(process.pid, signal);
  });
  return true;
}

/**
 * In the relaunched process: forget the launcher's mark (so that cluster workers forked later do
 * not take it for theirs) and die at once if the launcher is gone without a word, as the gateway
 * would have had it been killed itself.
 */
export function followLauncher(): void {
  if (process.env[LAUNCHED_ENV] === undefined) return;
  delete process.env[LAUNCHED_ENV];
  const channel = process.channel;
  if (channel === undefined) return;
  channel.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}
