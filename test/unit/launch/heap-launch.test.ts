import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  HEAP_ENV,
  HEAP_FLAG,
  LAUNCHED_ENV,
  heapFlagFor,
  mallocTunablesFor,
} from '../../../src/launch/heap-launch';

const GIB = 2 ** 30;

describe('heapFlagFor', () => {
  it('asks for a 128 MB initial old generation when memory allows', () => {
    expect(heapFlagFor([], {}, 8 * GIB)).toBe(`${HEAP_FLAG}=128`);
  });

  it('takes at most a quarter of a small memory, and nothing below 16 MB', () => {
    expect(heapFlagFor([], {}, 256 * 2 ** 20)).toBe(`${HEAP_FLAG}=64`);
    expect(heapFlagFor([], {}, 48 * 2 ** 20)).toBeNull();
  });

  it('leaves a process alone that was given heap settings, or told to keep Node’s own', () => {
    expect(heapFlagFor([`${HEAP_FLAG}=300`], {}, 8 * GIB)).toBeNull();
    expect(heapFlagFor(['--initial-heap-size=200'], {}, 8 * GIB)).toBeNull();
    expect(heapFlagFor([], { NODE_OPTIONS: `--max-old-space-size=512 ${HEAP_FLAG}=64` }, 8 * GIB)).toBeNull();
    expect(heapFlagFor([], { [HEAP_ENV]: 'inherit' }, 8 * GIB)).toBeNull();
    expect(heapFlagFor([], { [LAUNCHED_ENV]: '123' }, 8 * GIB)).toBeNull();
  });

  it('keeps other Node flags out of the decision', () => {
    expect(heapFlagFor(['--import', 'tsx', '--max-old-space-size=4096'], {}, 8 * GIB)).toBe(
      `${HEAP_FLAG}=128`,
    );
  });
});

describe('mallocTunablesFor', () => {
  it('keeps half the initial old generation free in the heap, and fixes the mapping threshold', () => {
    expect(mallocTunablesFor({}, `${HEAP_FLAG}=128`)).toBe(
      `glibc.malloc.trim_threshold=${64 * 2 ** 20}:glibc.malloc.mmap_threshold=${32 * 2 ** 20}`,
    );
    expect(mallocTunablesFor({}, `${HEAP_FLAG}=16`)).toBe(
      `glibc.malloc.trim_threshold=${8 * 2 ** 20}:glibc.malloc.mmap_threshold=${4 * 2 ** 20}`,
    );
  });

  it('adds to other tunables, and leaves malloc alone when the operator tuned it', () => {
    expect(mallocTunablesFor({ GLIBC_TUNABLES: 'glibc.pthread.rseq=0' }, `${HEAP_FLAG}=128`)).toMatch(
      /^glibc\.pthread\.rseq=0:glibc\.malloc\.trim_threshold=/,
    );
    expect(mallocTunablesFor({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, `${HEAP_FLAG}=128`)).toBeNull();
    expect(mallocTunablesFor({ MALLOC_TRIM_THRESHOLD_: '1000000' }, `${HEAP_FLAG}=128`)).toBeNull();
  });
});

const REPO_ROOT = path.resolve(__dirname, '../../..');

interface Launched {
  launcher: ChildProcess;
  gateway: { pid: number; ppid: number; execArgv: string[]; glibcTunables: string | null };
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the stand-in the way a user starts the CLI, and waits for the relaunched process's line. */
function launch(env: NodeJS.ProcessEnv = {}): Promise<Launched> {
  const launcher = spawn(process.execPath, ['--import', 'tsx', 'test/unit/support/heap-launch-cli.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, [HEAP_ENV]: undefined, [LAUNCHED_ENV]: undefined, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    launcher.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    let output = '';
    launcher.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line !== undefined) resolve({ launcher, gateway: JSON.parse(line), exit });
    });
    void exit.then(() => reject(new Error(`the launcher exited before the gateway spoke: ${output}`)));
  });
}

/** Running: a process that died but waits for its new parent to reap it (a zombie) is not. */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return !alive(pid);
}

describe('the launcher', () => {
  it('runs the gateway in a child with the heap flag, passes SIGTERM on and exits as it did', async () => {
    const { launcher, gateway, exit } = await launch({ HEAP_LAUNCH_EXIT: '7' });
    expect(gateway.ppid).toBe(launcher.pid);
    expect(gateway.execArgv).toEqual(expect.arrayContaining(['--import', 'tsx']));
    expect(gateway.execArgv.some((arg) => arg.startsWith(`${HEAP_FLAG}=`))).toBe(true);
    expect(gateway.glibcTunables).toMatch(/glibc\.malloc\.trim_threshold=\d+/);
    launcher.kill('SIGTERM');
    expect(await exit).toEqual({ code: 7, signal: null });
    expect(await gone(gateway.pid)).toBe(true);
  }, 60_000);

  it('takes the gateway with it when killed outright', async () => {
    const { launcher, gateway, exit } = await launch();
    launcher.kill('SIGKILL');
    expect((await exit).signal).toBe('SIGKILL');
    expect(await gone(gateway.pid)).toBe(true);
  }, 60_000);

  it('dies of the signal that killed the gateway', async () => {
    const { gateway, exit } = await launch();
    process.kill(gateway.pid, 'SIGKILL');
    expect(await exit).toEqual({ code: null, signal: 'SIGKILL' });
  }, 60_000);

  it('does not relaunch when told to keep Node’s heap settings', async () => {
    const { launcher, gateway, exit } = await launch({ [HEAP_ENV]: 'inherit' });
    expect(gateway.pid).toBe(launcher.pid);
    expect(gateway.execArgv.some((arg) => arg.startsWith(HEAP_FLAG))).toBe(false);
    launcher.kill('SIGTERM');
    expect(await exit).toEqual({ code: 0, signal: null });
  }, 60_000);
});
