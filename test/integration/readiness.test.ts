/**
 * /readyz must tell a load balancer the truth: ready while a broker answers, not ready while none
 * does. The cluster here is the test's own, so stopping its only broker disturbs nobody else.
 * While it is down, the floods of per-connection warnings it provokes stay a line each.
 */
import net from 'node:net';
import { resolveConfig } from '../../src/config/load-config';
import { startGateway, type RunningGateway } from '../../src/main';
import { createLogger } from '../../src/observability/logger';
import { CapturedLogs } from '../support/captured-logs';
import { startCluster, startNode, stopCluster, stopNode, type Cluster } from './support/kafka-harness';
import { isolatedState } from './support/isolated-state';

const NAME = 'readyz';
const PORT = 9692;
const HOST = '127.0.0.1';
const BOOTSTRAP_PORT = 24100;
const HTTP_PORT = 24190;
const ANSWER_WITHIN_MS = 2_000;

let cluster: Cluster;
let running: RunningGateway;
const logs = new CapturedLogs();

async function readyz(): Promise<{
  status: number;
  body: { status: string; checks: Record<string, string> };
}> {
  const response = await fetch(`http://${HOST}:${HTTP_PORT}/readyz`, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: (await response.json()) as never };
}

/**
 * Waits for `status`, and for the broker check to read `brokers` when given: under load another
 * check turned /readyz 503 a moment before the broker check's own limit ran out.
 */
async function waitForStatus(status: number, timeoutMs: number, brokers?: RegExp): Promise<void> {
  const started = Date.now();
  for (;;) {
    const answer = await readyz();
    if (answer.status === status && (brokers === undefined || brokers.test(answer.body.checks.brokers)))
      return;
    if (Date.now() - started > timeoutMs)
      throw new Error(`/readyz did not answer ${status} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Opens `count` connections to the bootstrap listener, writes `bytes` on each, and closes them. */
async function connections(count: number, bytes: Buffer): Promise<void> {
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const socket = net.connect({ host: HOST, port: BOOTSTRAP_PORT });
          socket.on('error', () => resolve());
          socket.on('close', () => resolve());
          socket.on('connect', () => socket.end(bytes));
          socket.resume();
        }),
    ),
  );
}

function count(message: string, since: number): number {
  return logs.lines.slice(since).filter((line) => line.msg === message).length;
}

beforeAll(async () => {
  cluster = await startCluster({ name: NAME, brokers: 1, port: PORT });
  const config = resolveConfig({
    kafka: { bootstrapServers: cluster.brokerAddresses, connectTimeoutMs: 1_000 },
    listeners: { bindHost: HOST, bootstrapPort: BOOTSTRAP_PORT, brokerPortBase: BOOTSTRAP_PORT },
    http: { host: HOST, port: HTTP_PORT },
    readiness: { brokerAnswerWithinMs: ANSWER_WITHIN_MS },
    state: isolatedState(),
    logging: { level: 'info' },
  });
  running = await startGateway(config, createLogger('info', logs));
}, 180_000);

afterAll(async () => {
  await running?.stop();
  await stopCluster(NAME);
}, 120_000);

test('ready while the broker answers, with the age of its last answer', async () => {
  const { status, body } = await readyz();
  expect(status).toBe(200);
  expect(body.checks.brokers).toMatch(/^answered \d+ ms ago/);
});

test('a thousand clients leaving in the middle of a frame make one warning', async () => {
  const mark = logs.mark();
  // Three bytes of a four-byte size prefix.
  await connections(1_000, Buffer.from([0, 0, 0]));
  await logs.waitFor((line) => line.msg === 'client closed the connection in the middle of a frame', mark);
  expect(count('client closed the connection in the middle of a frame', mark)).toBe(1);
});

test('not ready while the broker is down, with the failing check named; ready again once it is back', async () => {
  const stopping = Date.now();
  await stopNode(NAME, 1);
  await waitForStatus(503, ANSWER_WITHIN_MS * 5, /^failing/);
  const tookMs = Date.now() - stopping;
  const { body } = await readyz();
  expect(body.status).toBe('not ready');
  expect(body.checks.brokers).toMatch(/^failing: no broker answered for \d+ ms/);
  console.log(`/readyz turned 503 ${tookMs} ms after the broker was told to stop`);

  // Every client that comes in now finds no broker: one line, not one per client.
  const mark = logs.mark();
  await connections(300, Buffer.alloc(0));
  await logs.waitFor((line) => line.msg === 'no broker reachable for client', mark);
  expect(count('no broker reachable for client', mark)).toBeLessThanOrEqual(1);

  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push((await readyz()).status);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(samples).toEqual([503, 503, 503, 503, 503]);

  await startNode(NAME, 1);
  await waitForStatus(200, 30_000);
  expect((await readyz()).body.checks.brokers).toMatch(/^answered/);
}, 150_000);
