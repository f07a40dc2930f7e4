import type { TargetSettings } from '../../../src/subscriptions/subscription';
import { TargetClient, retryAfterMs, type DeliveryAttempt } from '../../../src/subscriptions/target-client';
import { TargetPolicy, type Resolver } from '../../../src/subscriptions/target-policy';
import { closedPort, json, startServer, type TestServer } from './http-server';

const anywhere = new TargetPolicy(['*']);
const servers: TestServer[] = [];
const clients: TargetClient[] = [];

afterEach(async () => {
  clients.splice(0).forEach((client) => client.close());
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(handle: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const started = await startServer(handle);
  servers.push(started);
  return started;
}

function client(
  target: TargetSettings,
  options: { policy?: TargetPolicy; maxResponseBytes?: number; maxConnections?: number } = {},
) {
  const made = new TargetClient({
    target,
    policy: options.policy ?? anywhere,
    maxConnections: options.maxConnections ?? 4,
    maxResponseBytes: options.maxResponseBytes ?? 1024,
  });
  clients.push(made);
  return made;
}

const event = { headers: { 'content-type': 'application/json', 'ce-id': '1' }, body: Buffer.from('{"a":1}') };

function expectKind<K extends DeliveryAttempt['kind']>(
  attempt: DeliveryAttempt,
  kind: K,
): Extract<DeliveryAttempt, { kind: K }> {
  expect(attempt).toMatchObject({ kind });
  expect(attempt.durationMs).toBeGreaterThanOrEqual(0);
  return attempt as Extract<DeliveryAttempt, { kind: K }>;
}

describe('TargetClient.send', () => {
  it('POSTs the body with the target headers, then the request headers, then the auth headers', async () => {
    const target = await server((_request, response) => json(response, 202, { ok: true }));
    const sent = client({
      url: `${target.origin}/hooks/in?tenant=a`,
      headers: { 'X-Team': 'payments', 'Content-Type': 'text/plain', 'x-api-key': 'from-target' },
      auth: { apiKey: { header: 'X-Api-Key', value: 'k1' } },
    });
    const answered = expectKind(await sent.send(event), 'answered');
    expect(answered.status).toBe(202);
    expect(answered.headers['content-type']).toBe('application/json');
    expect(JSON.parse(answered.body.toString())).toEqual({ ok: true });
    const [seen] = target.seen;
    expect(seen).toMatchObject({ method: 'POST', url: '/hooks/in?tenant=a', body: '{"a":1}' });
    expect(seen.headers).toMatchObject({
      'x-team': 'payments',
      'content-type': 'application/json',
      'ce-id': '1',
      'x-api-key': 'k1',
      'content-length': '7',
    });
  });

  it('sends Basic credentials, the target method, and a path appended to the target path', async () => {
    const target = await server((_request, response) => response.writeHead(204).end());
    const sent = client({
      url: `${target.origin}/base/?v=1`,
      method: 'PUT',
      auth: { basic: { username: 'user', password: 'pass' } },
    });
    expectKind(await sent.send({ headers: {}, body: null, path: '/orders/7?x=2' }), 'answered');
    expectKind(await sent.send({ headers: {}, body: null, method: 'GET', path: 'status' }), 'answered');
    expect(target.seen.map(({ method, url }) => `${method} ${url}`)).toEqual([
      'PUT /base/orders/7?v=1&x=2',
      'GET /base/status?v=1',
    ]);
    expect(target.seen[0].headers.authorization).toBe(`Basic ${Buffer.from('user:pass').toString('base64')}`);
    expect(target.seen[0].headers['content-length']).toBe('0');
    const refused = expectKind(await sent.send({ headers: {}, body: null, path: '/../admin' }), 'refused');
    expect(refused.reason).toMatch(/dot segment/);
    for (const path of ['..', '/a/%2E%2e/b', '/a\\..\\b', '/a/..%2fb', '/.?x', '/x#y'])
      expectKind(await sent.send({ headers: {}, body: null, path }), 'refused');
    expectKind(await sent.send({ headers: {}, body: null, path: '/a..b/.well-known' }), 'answered');
    expect(target.seen.map(({ url }) => url).slice(2)).toEqual(['/base/a..b/.well-known?v=1']);
  });

  it('keeps connections alive, at most maxConnections of them', async () => {
    const target = await server((_request, response) => setTimeout(() => response.end('ok'), 20));
    const sent = client({ url: target.origin }, { maxConnections: 2 });
    const attempts = await Promise.all(Array.from({ length: 10 }, () => sent.send(event)));
    expect(attempts.every((attempt) => attempt.kind === 'answered')).toBe(true);
    expect(target.connections()).toBe(2);
  });

  it('renews an OAuth 2.0 token when the target answers 401, and tries once more', async () => {
    let issued = 0;
    const tokens = await server((_request, response) =>
      json(response, 200, { access_token: `tok-${++issued}` }),
    );
    const accepted = new Set<string>();
    const target = await server((request, response) => {
      if (accepted.has(request.headers.authorization ?? '')) response.writeHead(200).end('welcome');
      else response.writeHead(401).end();
    });
    const auth = { oauth2: { tokenUrl: `${tokens.origin}/token`, clientId: 'c', clientSecret: 's' } };
    const sent = client({ url: target.origin, auth });
    accepted.add('Bearer tok-2');
    const answered = expectKind(await sent.send(event), 'answered');
    expect(answered.status).toBe(200);
    expect(target.seen.map((seen) => seen.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    // Once only: a target that turns every token down gets two tries, not a loop.
    accepted.clear();
    expect(expectKind(await sent.send(event), 'answered').status).toBe(401);
    expect(target.seen).toHaveLength(4);
    expect(tokens.seen).toHaveLength(3);
  });

  it('does not try again after a 401 without OAuth 2.0', async () => {
    const target = await server((_request, response) => response.writeHead(401).end());
    const sent = client({ url: target.origin, auth: { basic: { username: 'u', password: 'p' } } });
    expect(expectKind(await sent.send(event), 'answered').status).toBe(401);
    expect(target.seen).toHaveLength(1);
  });

  it('reports a target that does not answer in time as a timeout', async () => {
    const target = await server(() => undefined);
    const attempt = expectKind(await client({ url: target.origin, timeoutMs: 100 }).send(event), 'timeout');
    expect(attempt.durationMs).toBeGreaterThanOrEqual(95);
    expect(attempt.durationMs).toBeLessThan(2000);
  });

  it('reports a refused connection as unreachable', async () => {
    const port = await closedPort();
    const attempt = expectKind(await client({ url: `http://127.0.0.1:${port}/` }).send(event), 'unreachable');
    expect(attempt.error).toMatch(/ECONNREFUSED/);
    const byName = expectKind(await client({ url: `http://localhost:${port}/` }).send(event), 'unreachable');
    expect(byName.error).toMatch(/ECONNREFUSED/);
    // Several addresses fail together as an AggregateError, whose own message is empty.
    const both: Resolver = (_hostname, _options, callback) =>
      process.nextTick(callback, null, [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ]);
    const multi = client({ url: `http://multi.test:${port}/` }, { policy: new TargetPolicy(['*'], both) });
    expect(expectKind(await multi.send(event), 'unreachable').error).toMatch(
      /connect ECONNREFUSED 127\.0\.0\.1/,
    );
  });

  it('stops reading an answer larger than maxResponseBytes', async () => {
    const target = await server((request, response) => {
      if (request.url === '/declared')
        return response.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000));
      response.writeHead(200);
      response.write('x'.repeat(1000));
      setTimeout(() => response.end('x'.repeat(4000)), 10);
    });
    const sent = client({ url: target.origin }, { maxResponseBytes: 2048 });
    for (const path of ['/declared', '/chunked']) {
      const attempt = expectKind(await sent.send({ ...event, path }), 'unreachable');
      expect(attempt.error).toBe("the target's answer is larger than 2048 bytes");
    }
    expectKind(await client({ url: target.origin }, { maxResponseBytes: 5000 }).send(event), 'answered');
  });

  it('connects only to addresses the policy allows', async () => {
    const target = await server((_request, response) => response.end('ok'));
    const narrow = new TargetPolicy(['10.0.0.0/8']);
    const byName = expectKind(
      await client({ url: `http://localhost:${target.port}/` }, { policy: narrow }).send(event),
      'refused',
    );
    expect(byName.reason).toMatch(/"localhost" resolved to 127\.0\.0\.1/);
    const byIp = expectKind(await client({ url: target.origin }, { policy: narrow }).send(event), 'refused');
    expect(byIp.reason).toMatch(/127\.0\.0\.1 is not in/);
    const metadata = expectKind(
      await client({ url: 'http://169.254.169.254/latest' }).send(event),
      'refused',
    );
    expect(metadata.reason).toMatch(/metadata/);
    const rebinding: Resolver = (_hostname, _options, callback) =>
      process.nextTick(callback, null, [{ address: '::ffff:169.254.169.254', family: 6 }]);
    const rebound = client(
      { url: 'http://hooks.example.com/' },
      { policy: new TargetPolicy(['*'], rebinding) },
    );
    expect(expectKind(await rebound.send(event), 'refused').reason).toMatch(/::ffff:169\.254\.169\.254/);
    expect(target.seen).toHaveLength(0);
  });

  it('reports a token that cannot be had without calling the target', async () => {
    const tokens = await server((_request, response) => json(response, 401, { error: 'invalid_client' }));
    const target = await server((_request, response) => response.end());
    const auth = { oauth2: { tokenUrl: `${tokens.origin}/token`, clientId: 'c', clientSecret: 's' } };
    const attempt = expectKind(await client({ url: target.origin, auth }).send(event), 'unreachable');
    expect(attempt.error).toMatch(/token endpoint .* answered 401: error "invalid_client"/);
    expect(target.seen).toHaveLength(0);
  });

  it('never rejects, whatever it is sent, and is unreachable once closed', async () => {
    const target = await server((_request, response) => response.end());
    const sent = client({ url: target.origin });
    expectKind(await sent.send({ headers: { 'X-Bad': 'a\r\nb' }, body: null }), 'unreachable');
    expectKind(await sent.send({ headers: {}, body: null, method: 'NOT A METHOD' }), 'unreachable');
    expectKind(await sent.send({ headers: {}, body: null, path: '/with space' }), 'unreachable');
    expectKind(await client({ url: 'not a url' }).send(event), 'unreachable');
    sent.close();
    expect(expectKind(await sent.send(event), 'unreachable').error).toMatch(/closed/);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  const after = (value: string | undefined) => retryAfterMs({ 'retry-after': value }, now);

  it('reads delta-seconds and HTTP-dates', () => {
    expect(after('120')).toBe(120_000);
    expect(after(' 0 ')).toBe(0);
    expect(after('Wed, 01 May 2024 12:00:30 GMT')).toBe(30_000);
    expect(after('Wednesday, 01-May-24 12:01:00 GMT')).toBe(60_000);
    expect(after('Wed May  1 12:00:05 2024')).toBe(5_000);
  });

  it('gives 0 for the past, at most a day, and nothing for what is neither form', () => {
    expect(after('-5')).toBe(0);
    expect(after('Tue, 30 Apr 2024 12:00:00 GMT')).toBe(0);
    expect(after('999999999999999999999')).toBe(86_400_000);
    expect(after('Fri, 01 May 2099 12:00:00 GMT')).toBe(86_400_000);
    for (const bogus of [
      undefined,
      '',
      '1.5',
      '1e3',
      'soon',
      '2024-05-01T12:00:30Z',
      'Wed, 31 Feb 2024 25:00:00 GMT',
      '1'.repeat(100),
    ])
      expect(after(bogus)).toBeUndefined();
    expect(retryAfterMs({})).toBeUndefined();
  });
});
