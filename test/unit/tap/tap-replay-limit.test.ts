import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { createLogger } from '../../../src/observability/logger';
import { TapServer, type TapHistory } from '../../../src/http/tap/tap-server';

/** A history whose replays last until the test ends them. */
class HeldHistory implements TapHistory {
  readonly pending: (() => void)[] = [];
  replay(): Promise<Map<string, bigint>> {
    return new Promise((resolve) => this.pending.push(() => resolve(new Map())));
  }
}

describe('concurrent history replays', () => {
  const history = new HeldHistory();
  const tap = new TapServer({
    logger: createLogger('silent'),
    maxBufferedBytes: 1 << 20,
    maxDroppedBeforeClose: 100,
    maxReplayRecords: 10,
    maxConcurrentReplays: 2,
    authorize: () => true,
  });
  tap.useHistory(history);
  const server = http.createServer();
  server.on('upgrade', (request, socket, head) =>
    tap.handleUpgrade(request, socket, head, new URL(request.url ?? '/', 'http://tap')),
  );
  const sockets: WebSocket[] = [];

  beforeAll(() => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)));
  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    tap.close();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Opens `/ws?from=earliest`: the status of a refusal, or 101. */
  function connect(): Promise<{ status: number; body: string }> {
    const { port } = server.address() as AddressInfo;
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws?from=earliest`);
    sockets.push(socket);
    return new Promise((resolve, reject) => {
      socket.on('open', () => resolve({ status: 101, body: '' }));
      socket.on('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      socket.on('error', reject);
    });
  }

  test('beyond the limit a replay is refused with 503 until one ends', async () => {
    expect((await connect()).status).toBe(101);
    expect((await connect()).status).toBe(101);
    const refused = await connect();
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toEqual({
      status: 503,
      error: expect.stringContaining('tap.maxConcurrentReplays'),
    });
    history.pending.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    expect((await connect()).status).toBe(101);
    expect((await connect()).status).toBe(503);
  });
});
