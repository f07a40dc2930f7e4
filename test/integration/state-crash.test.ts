/**
 * A gateway killed with SIGKILL in the middle of a PUT, then started again: every change it
 * acknowledged is there, and a change it did not acknowledge is either wholly there or not at all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BOOTSTRAP, REPO_ROOT, uniqueTopic } from './support/kafka-harness';
import { demoSpec } from './support/validating-gateway';

jest.setTimeout(180_000);

const HOST = '127.0.0.1';
const BOOTSTRAP_PORT = 24800;
const HTTP_PORT = 24890;
const BASE = `http://${HOST}:${HTTP_PORT}`;

let config: string;

async function ready(): Promise<boolean> {
  try {
    return (await fetch(`${BASE}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
  } catch {
    return false;
  }
}

async function startProcess(): Promise<ChildProcess> {
  // tsx as a loader, not its launcher: a signal must reach the gateway process itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', config], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  const deadline = Date.now() + 60_000;
  while (!(await ready())) {
    if (exited || Date.now() > deadline) throw new Error(`the gateway did not become ready:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return child;
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

beforeAll(() => {
  const dir = mkdtempSync(path.join(tmpdir(), 'eg-crash-'));
  config = path.join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      kafka: { bootstrapServers: [BOOTSTRAP] },
      listeners: { bindHost: HOST, bootstrapPort: BOOTSTRAP_PORT, brokerPortBase: BOOTSTRAP_PORT },
      http: { host: HOST, port: HTTP_PORT },
      state: { topic: uniqueTopic('eg-state-crash') },
      logging: { level: 'warn' },
    }),
  );
});

test('SIGKILL during PUT loses no acknowledged change and half-applies nothing', async () => {
  const acknowledged = new Map<string, string>();
  const unacknowledged = new Map<string, string>();
  let child = await startProcess();
  for (let round = 0; round < 3; round++) {
    const text = demoSpec('3.0', uniqueTopic(`kept-${round}`));
    expect((await fetch(`${BASE}/specs/kept-${round}`, { method: 'PUT', body: text })).status).toBe(201);
    acknowledged.set(`kept-${round}`, text);

    // Several uploads in flight, then the process is killed at once.
    const inflight = Array.from({ length: 10 }, (_, i) => {
      const id = `inflight-${round}-${i}`;
      const body = demoSpec('3.0', uniqueTopic(id));
      unacknowledged.set(id, body);
      return fetch(`${BASE}/specs/${id}`, { method: 'PUT', body }).then(
        (response) => {
          if (response.status === 201) {
            acknowledged.set(id, body);
            unacknowledged.delete(id);
          }
        },
        () => undefined,
      );
    });
    await new Promise((resolve) => setTimeout(resolve, [150, 600, 1500][round]));
    await kill(child);
    await Promise.all(inflight);
    child = await startProcess();

    const listed = (await (await fetch(`${BASE}/specs`)).json()) as { specs: { id: string }[] };
    const ids = new Set(listed.specs.map((s) => s.id));
    for (const [id, body] of acknowledged) {
      expect(ids.has(id)).toBe(true);
      expect(await (await fetch(`${BASE}/specs/${id}/document`)).text()).toBe(body);
    }
    for (const [id, body] of unacknowledged) {
      if (!ids.has(id)) continue;
      // Written before the kill but not answered: it must be whole.
      expect(await (await fetch(`${BASE}/specs/${id}/document`)).text()).toBe(body);
    }
    console.log(
      `round ${round}: ${acknowledged.size} acknowledged, all present; ` +
        `${[...unacknowledged.keys()].filter((id) => ids.has(id)).length} of ${unacknowledged.size} unacknowledged present, whole`,
    );
  }
  await kill(child);
});
