import pino from 'pino';
import { AccessControl } from '../../../src/http/access';
import { HttpServer } from '../../../src/http/http-server';
import { registerApiKeyRoutes } from '../../../src/ingest/api-key-routes';
import { API_KEY_KIND, ApiKeys, hashSecret, type StoredApiKey } from '../../../src/ingest/api-keys';
import { MemoryStateLog } from '../../../src/state/memory-state-log';
import { StateStore } from '../../../src/state/state-store';
import { CapturedLogs } from '../../support/captured-logs';

const ADMIN = 'admin-token-0123456789';
const READER = 'read-token-0123456789';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

describe('API key routes', () => {
  let server: HttpServer;
  let state: StateStore;
  let keys: ApiKeys;
  let logs: CapturedLogs;
  let base: string;

  beforeEach(async () => {
    logs = new CapturedLogs();
    const logger = pino({ level: 'info' }, logs);
    state = new StateStore(new MemoryStateLog(), { writeTimeoutMs: 1_000 }, logger);
    keys = new ApiKeys(state, { logger });
    await state.start();
    server = await HttpServer.create({ host: '127.0.0.1', port: 0, logger, version: 'test' });
    const access = new AccessControl([
      { name: 'ops', role: 'admin', token: ADMIN },
      { name: 'viewer', role: 'read', token: READER },
    ]);
    registerApiKeyRoutes(server.app, { keys, state, access, logger });
    await server.listen();
    base = `http://127.0.0.1:${server.port()}`;
  });

  afterEach(async () => {
    await server.close();
    await state.stop();
  });

  async function call(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined = options.raw;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${base}${path}`, { method, headers, body });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      text,
      body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    };
  }

  const put = (name: string, body: unknown, headers?: Record<string, string>) =>
    call('PUT', `/api-keys/${name}`, { token: ADMIN, body, headers });

  it('shows the secret once, on creation, and stores only its hash', async () => {
    const created = await put('orders', {
      grants: { topics: ['orders', '/^audit\\./'], types: ['com.shop.*'] },
      rate: { eventsPerSecond: 100 },
      allowFrom: ['10.0.0.0/8'],
      description: 'the shop',
    });
    expect(created.status).toBe(201);
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.body).toEqual({
      name: 'orders',
      secret,
      grants: { topics: ['orders', '/^audit\\./'], types: ['com.shop.*'] },
      rate: { eventsPerSecond: 100 },
      allowFrom: ['10.0.0.0/8'],
      description: 'the shop',
      revision: expect.stringMatching(/^\d+$/),
      updatedAt: expect.any(String),
      updatedBy: 'ops',
    });
    expect(created.headers.get('etag')).toBe(`"${created.body.revision as string}"`);

    const stored = state.get<StoredApiKey>(API_KEY_KIND, 'orders')!.document;
    expect(stored.secretHash).toBe(hashSecret(secret));
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(keys.authenticate({ 'x-api-key': secret }, '10.1.1.1').name).toBe('orders');

    const one = await call('GET', '/api-keys/orders', { token: READER });
    const all = await call('GET', '/api-keys', { token: READER });
    expect(one.status).toBe(200);
    expect(one.headers.get('etag')).toBe(created.headers.get('etag'));
    const { secret: _shown, ...withoutSecret } = created.body;
    expect(one.body).toEqual(withoutSecret);
    expect(all.body).toEqual({ apiKeys: [withoutSecret] });
    for (const text of [one.text, all.text, JSON.stringify(logs.lines)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(stored.secretHash);
    }
    expect(logs.find((line) => line.msg === 'API key stored')).toMatchObject({
      apiKey: 'orders',
      by: 'ops',
      created: true,
    });
  });

  it('keeps the secret when a key is replaced, and shows a new one when rotated', async () => {
    const first = (await put('k', { grants: { topics: ['a'] } })).body.secret as string;
    const replaced = await put('k', { grants: { topics: ['b'] } });
    expect(replaced.status).toBe(200);
    expect(replaced.body).not.toHaveProperty('secret');
    expect(keys.authenticate({ authorization: `Bearer ${first}` }, '::1').mayPublish('b')).toBe(true);

    const rotated = await put('k', { grants: { topics: ['b'] }, rotate: true });
    expect(rotated.status).toBe(200);
    const second = rotated.body.secret as string;
    expect(second).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second).not.toBe(first);
    expect(() => keys.authenticate({ authorization: `Bearer ${first}` }, '::1')).toThrow(/not valid/);
    expect(keys.authenticate({ authorization: `Bearer ${second}` }, '::1').name).toBe('k');
    expect(JSON.stringify(logs.lines)).not.toContain(second);
  });

  it('lists keys sorted by name', async () => {
    await put('zeta', { grants: { topics: ['z'] } });
    await put('Alpha', { grants: { topics: ['a'] } });
    await put('beta', { grants: { topics: ['b'] } });
    const all = await call('GET', '/api-keys', { token: READER });
    expect((all.body.apiKeys as { name: string }[]).map((key) => key.name)).toEqual([
      'Alpha',
      'beta',
      'zeta',
    ]);
  });

  it('needs an admin token to change keys and a token to read them', async () => {
    const body = { grants: { topics: ['a'] } };
    const asReader = await call('PUT', '/api-keys/k', { token: READER, body });
    expect(asReader.status).toBe(403);
    expect(asReader.body.error).toMatch(/token 'viewer' has the read role; admin is required/);
    expect((await call('PUT', '/api-keys/k', { body })).status).toBe(401);
    expect((await call('GET', '/api-keys', {})).status).toBe(401);
    expect((await call('GET', '/api-keys/k', { token: 'wrong' })).status).toBe(401);
    expect((await put('k', body)).status).toBe(201);
    expect((await call('DELETE', '/api-keys/k', { token: READER })).status).toBe(403);
    expect(state.get(API_KEY_KIND, 'k')).toBeDefined();
  });

  it('refuses invalid settings with 400 and the reasons, storing nothing', async () => {
    const semantic = await put('k', {
      grants: { topics: ['ok', '/(a)\\1/'] },
      rate: {},
      allowFrom: ['10.0.0.0/33', 'localhost'],
    });
    expect(semantic.status).toBe(400);
    expect(semantic.body).toEqual({
      error: 'invalid API key settings',
      status: 400,
      problems: [
        expect.stringMatching(/^grants\.topics\.1: .*backreference/),
        'rate: needs eventsPerSecond, bytesPerSecond or both',
        "allowFrom.0: '10.0.0.0/33' has a prefix length outside 0-32",
        "allowFrom.1: 'localhost' is not an IP address or CIDR block",
      ],
    });
    for (const body of [
      {},
      { grants: { topics: [] } },
      { grants: { topics: ['a'] }, rate: { eventsPerSecond: 0 } },
      { grants: { topics: [''] } },
    ]) {
      const refused = await put('k', body);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatch(/^the request is invalid: /);
    }
    // Unknown properties are refused by name: a body cannot set the hash, nor a misspelt setting pass unnoticed.
    const smuggled = await put('k', { grants: { topics: ['a'] }, secretHash: hashSecret('mine') });
    expect(smuggled.status).toBe(400);
    expect(smuggled.body.error).toContain('additional properties');
    const misspelt = await put('k', { grants: { topics: ['a'], topic: ['b'] } });
    expect(misspelt.status).toBe(400);
    expect(misspelt.body.error).toContain('"topic"');
    const notJson = await call('PUT', '/api-keys/k', { token: ADMIN, raw: '{"grants":' });
    expect([notJson.status, notJson.body.error]).toEqual([400, expect.stringMatching(/not JSON/)]);
    const badName = await put('-dash', { grants: { topics: ['a'] } });
    expect(badName.status).toBe(400);
    expect((await put('a'.repeat(65), { grants: { topics: ['a'] } })).status).toBe(400);
    expect(state.list(API_KEY_KIND)).toEqual([]);
  });

  it('follows If-Match and If-None-Match, answering 412 on a stale revision', async () => {
    const created = await put('k', { grants: { topics: ['a'] } });
    const tag = created.headers.get('etag')!;
    expect((await put('k', { grants: { topics: ['b'] } }, { 'if-none-match': '*' })).status).toBe(412);
    const updated = await put('k', { grants: { topics: ['b'] } }, { 'if-match': tag });
    expect(updated.status).toBe(200);
    const stale = await put('k', { grants: { topics: ['c'] } }, { 'if-match': tag });
    expect([stale.status, stale.body.error]).toEqual([412, expect.stringMatching(/^precondition failed/)]);
    expect((await put('new', { grants: { topics: ['c'] } }, { 'if-match': '*' })).status).toBe(412);
    expect((await put('k', { grants: { topics: ['c'] } }, { 'if-match': 'nope' })).status).toBe(400);
    const staleDelete = await call('DELETE', '/api-keys/k', { token: ADMIN, headers: { 'if-match': tag } });
    expect(staleDelete.status).toBe(412);
    const current = updated.headers.get('etag')!;
    const deleted = await call('DELETE', '/api-keys/k', { token: ADMIN, headers: { 'if-match': current } });
    expect(deleted.status).toBe(204);
  });

  it('deletes a key (204), after which it is refused, and answers 404 for one it does not have', async () => {
    const secret = (await put('k', { grants: { topics: ['a'] } })).body.secret as string;
    const deleted = await call('DELETE', '/api-keys/k', { token: ADMIN });
    expect([deleted.status, deleted.text]).toEqual([204, '']);
    expect(() => keys.authenticate({ 'x-api-key': secret }, '127.0.0.1')).toThrow(/not valid/);
    expect(logs.find((line) => line.msg === 'API key deleted')).toMatchObject({ apiKey: 'k', by: 'ops' });
    const again = await call('DELETE', '/api-keys/k', { token: ADMIN });
    expect(again.body).toEqual({ error: "no API key named 'k'", status: 404 });
    expect((await call('GET', '/api-keys/k', { token: READER })).status).toBe(404);
  });

  it('documents every answer in the OpenAPI document, without secrets in what GET returns', async () => {
    const doc = (await call('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, { tags: string[]; responses: Record<string, unknown> }>>;
    };
    const item = doc.paths['/api-keys/{name}'];
    expect(Object.keys(item).sort()).toEqual(['delete', 'get', 'put']);
    expect(Object.keys(item.put.responses).sort()).toEqual(
      ['200', '201', '400', '401', '403', '412', '413', '415', '503'].sort(),
    );
    expect(item.get.tags).toEqual(['api-keys']);
    expect(JSON.stringify(item.get.responses['200'])).not.toMatch(/secret/i);
    expect(JSON.stringify(doc.paths['/api-keys'].get.responses['200'])).not.toMatch(/secret/i);
  });
});
