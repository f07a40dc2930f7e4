/**
 * The HTTP port faces whoever can reach it. These tests run the gateway as its own process (the
 * CLI, as users run it) and throw malformed, hostile and abandoned requests at every route and
 * at the upgrade path: the process must stay up and keep answering /healthz.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { BOOTSTRAP, REPO_ROOT } from './support/kafka-harness';
import { isolatedState } from './support/isolated-state';

const HOST = '127.0.0.1';
const BOOTSTRAP_PORT = 24000;
const HTTP_PORT = 24090;
const ADMIN_TOKEN = 'hostile-admin-token-0123456789';
const TAP_TOKEN = 'hostile-tap-token-0123456789';

let child: ChildProcess;
let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
let output = '';

/** Sends raw bytes and collects whatever comes back until the server closes or `waitMs` passes. */
function exchange(
  bytes: Buffer | string,
  options: { waitMs?: number; reset?: 'before-reading' | 'after-reading' } = {},
): Promise<string> {
  const { waitMs = 1_000, reset } = options;
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port: HTTP_PORT });
    let received = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // SO_LINGER 0: the peer sees a reset, not an orderly close.
      if (reset === 'after-reading' && !socket.destroyed) socket.resetAndDestroy();
      else socket.destroy();
      resolve(received);
    };
    const timer = setTimeout(finish, waitMs);
    socket.on('error', finish);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('close', finish);
    socket.on('connect', () => {
      socket.write(bytes, () => {
        if (reset === 'before-reading') {
          done = true;
          clearTimeout(timer);
          socket.resetAndDestroy();
          resolve('');
        }
      });
    });
  });
}

async function healthy(): Promise<boolean> {
  try {
    const response = await fetch(`http://${HOST}:${HTTP_PORT}/healthz`, {
      signal: AbortSignal.timeout(5_000),
    });
    return response.status === 200;
  } catch {
    return false;
  }
}

async function expectAlive(): Promise<void> {
  // Give an error that would kill the process the chance to do so before looking.
  await new Promise((resolve) => setTimeout(resolve, 50));
  if (exited !== null) {
    throw new Error(`the gateway exited (${exited.code ?? exited.signal}):\n${output.slice(-4000)}`);
  }
  expect(await healthy()).toBe(true);
}

function upgradeRequest(target: string, headers: string[] = []): string {
  return [
    `GET ${target} HTTP/1.1`,
    `Host: ${HOST}:${HTTP_PORT}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
    '',
    '',
  ].join('\r\n');
}

function statusOf(response: string): number {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(response);
  return match ? Number(match[1]) : 0;
}

beforeAll(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'eg-hostile-'));
  const config = path.join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    JSON.stringify({
      kafka: { bootstrapServers: [BOOTSTRAP] },
      listeners: { bindHost: HOST, bootstrapPort: BOOTSTRAP_PORT, brokerPortBase: BOOTSTRAP_PORT },
      http: { host: HOST, port: HTTP_PORT, tokens: [{ name: 'ops', role: 'admin', token: ADMIN_TOKEN }] },
      asyncapi: { specs: [path.join(REPO_ROOT, 'asyncapi/demo.yaml')] },
      tap: { topics: ['hostile-tap'], token: TAP_TOKEN },
      state: isolatedState(),
      logging: { level: 'warn' },
    }),
  );
  // tsx as a loader, not its launcher: a signal must reach the gateway process itself.
  child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', config], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const deadline = Date.now() + 60_000;
  while (!(await healthy())) {
    if (exited !== null || Date.now() > deadline) throw new Error(`the gateway did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 90_000);

afterAll(async () => {
  if (exited === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
});

describe('requests that used to end the process', () => {
  test('an upgrade request whose target is not a URL is answered 400', async () => {
    const response = await exchange(upgradeRequest('//['));
    expect(statusOf(response)).toBe(400);
    await expectAlive();
  });

  test.each([
    ['an unknown path (404)', upgradeRequest(`/nope?token=${TAP_TOKEN}`), 404],
    ['a pattern that is not JSON (400)', upgradeRequest(`/ws?token=${TAP_TOKEN}&pattern=%7B`), 400],
    ['a wrong tap token (401)', upgradeRequest('/ws?token=not-the-token'), 401],
    ['the admin token where a tap token is set (401)', upgradeRequest(`/ws?token=${ADMIN_TOKEN}`), 401],
  ])('a refused upgrade, %s, then a reset by the client', async (_name, request, status) => {
    expect(statusOf(await exchange(request))).toBe(status);
    for (let i = 0; i < 20; i++) {
      await exchange(request, { reset: 'before-reading' });
      await exchange(request, { reset: 'after-reading' });
    }
    await expectAlive();
  });

  test('an accepted upgrade survives a reset too', async () => {
    const response = await exchange(upgradeRequest(`/ws?token=${TAP_TOKEN}`), {
      reset: 'after-reading',
      waitMs: 500,
    });
    expect(statusOf(response)).toBe(101);
    await expectAlive();
  });
});

const ROUTES = [
  '/healthz',
  '/readyz',
  '/metrics',
  '/specs',
  '/specs/demo',
  '/specs/demo/document',
  '/specs/%',
  '/specs/%E0%A4%A',
  '/throttle',
  '/patterns/test',
  '/ws',
  '//[',
  '%',
  '/\u0000',
  `/${'a'.repeat(64 * 1024)}`,
  '*',
  'http://[::1',
];

const requestArbitrary = fc.record({
  method: fc.oneof(
    fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'CONNECT', 'TRACE'),
    fc.string({ minLength: 1, maxLength: 12 }),
  ),
  path: fc.oneof(
    fc.constantFrom(...ROUTES),
    fc.tuple(fc.constantFrom(...ROUTES), fc.string({ maxLength: 40 })).map(([route, tail]) => route + tail),
    fc.string({ maxLength: 200 }),
  ),
  query: fc.oneof(
    fc.constant(''),
    fc.constantFrom(
      `?token=${TAP_TOKEN}`,
      '?topic=hostile-tap&pattern=%7B%22value%22%3A1%7D',
      '?pattern=%ZZ',
      '?from=yesterday',
    ),
    fc.string({ maxLength: 60 }).map((q) => `?${q}`),
  ),
  upgrade: fc.boolean(),
  authorization: fc.constantFrom(undefined, `Bearer ${ADMIN_TOKEN}`, 'Bearer wrong', 'Basic Og==', 'Bearer '),
  headers: fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 80 })), {
    maxLength: 4,
  }),
  body: fc.oneof(
    fc.constant(''),
    fc.string({ maxLength: 400 }),
    fc.constantFrom(
      '{"pattern": {"value": [1]}, "event": {"value": 1}}',
      '[[[[[[[[[[',
      '{"quotas": 1}',
      'asyncapi: 3.0.0',
    ),
  ),
  framing: fc.constantFrom('content-length', 'wrong-length', 'chunked', 'garbage-chunked', 'none'),
  ending: fc.constantFrom('read', 'reset-before-reading', 'reset-after-reading', 'half'),
});

type HostileRequest = typeof requestArbitrary extends fc.Arbitrary<infer T> ? T : never;

function render(request: HostileRequest): string {
  const lines = [`${request.method} ${request.path}${request.query} HTTP/1.1`, `Host: ${HOST}`];
  if (request.upgrade) {
    lines.push('Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13');
    lines.push('Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==');
  }
  if (request.authorization !== undefined) lines.push(`Authorization: ${request.authorization}`);
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  const body = Buffer.from(request.body);
  switch (request.framing) {
    case 'content-length':
      lines.push(`Content-Length: ${body.length}`);
      return `${lines.join('\r\n')}\r\n\r\n${request.body}`;
    case 'wrong-length':
      lines.push(`Content-Length: ${body.length + 17}`);
      return `${lines.join('\r\n')}\r\n\r\n${request.body}`;
    case 'chunked':
      lines.push('Transfer-Encoding: chunked');
      return `${lines.join('\r\n')}\r\n\r\n${body.length.toString(16)}\r\n${request.body}\r\n0\r\n\r\n`;
    case 'garbage-chunked':
      lines.push('Transfer-Encoding: chunked');
      return `${lines.join('\r\n')}\r\n\r\nzz\r\n${request.body}`;
    case 'none':
      return `${lines.join('\r\n')}\r\n\r\n`;
  }
}

async function send(request: HostileRequest): Promise<void> {
  const text = render(request);
  if (request.ending === 'half') {
    // Half a request, then silence: the connection must not hold anything up.
    await exchange(text.slice(0, Math.max(1, Math.floor(text.length / 2))), { waitMs: 100 });
    return;
  }
  await exchange(text, {
    waitMs: 400,
    reset:
      request.ending === 'reset-before-reading'
        ? 'before-reading'
        : request.ending === 'reset-after-reading'
          ? 'after-reading'
          : undefined,
  });
}

test('random methods, paths, headers, bodies, upgrades and resets never take the gateway down', async () => {
  let batches = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(requestArbitrary, { minLength: 1, maxLength: 12 }), async (requests) => {
      await Promise.all(requests.map(send));
      batches++;
      if (exited !== null) return false;
      return healthy();
    }),
    { numRuns: 40, endOnFailure: true },
  );
  expect(batches).toBeGreaterThan(0);
  await expectAlive();
}, 240_000);
