/**
 * The HTTP API answers what its OpenAPI document (GET /openapi.json) says: the document is a
 * valid OpenAPI 3.1 document, and every answer of a real gateway in front of the real broker,
 * for every operation and for the refusals around them, has a status the document lists for that
 * operation and a body its schema accepts. Refusals outside any operation (no route, a method a
 * route does not serve) have the one error body.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { REPO_ROOT, uniqueTopic } from './support/kafka-harness';
import {
  ADMIN_TOKEN,
  createTopics,
  demoSpec,
  httpCall,
  startValidatingGateway,
  type HttpAnswer,
  type ValidatingGateway,
} from './support/validating-gateway';

jest.setTimeout(60_000);

const READ_TOKEN = 'contract-test-read-token';
const PUBLISHED = uniqueTopic('contract-published');
const DEAD_LETTERS = uniqueTopic('contract-dlq');
const PORT = 24500;

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object> };
}

let gateway: ValidatingGateway;
let document: OpenApiDocument;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
/** Every operation a call reached, to show at the end that none went untried. */
const reached = new Set<string>();

/** The operation whose path template matches `route`, preferring literal segments over parameters. */
function operationFor(method: string, route: string): { template: string; operation: Operation } | null {
  const pathname = route.split('?')[0];
  const candidates = Object.entries(document.paths)
    .filter(([template]) => {
      const pattern = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
      return new RegExp(`^${pattern}$`).test(pathname);
    })
    .map(([template, operations]) => ({ template, operation: operations[method.toLowerCase()] }))
    .filter((candidate) => candidate.operation !== undefined)
    .sort((a, b) => a.template.split('{').length - b.template.split('{').length);
  return candidates[0] ?? null;
}

function mediaType(answer: HttpAnswer): string {
  return (answer.headers.get('content-type') ?? '').split(';')[0].trim();
}

function validate(schema: object, value: unknown, what: string): void {
  const check = ajv.compile({ ...schema, components: document.components });
  if (!check(value)) throw new Error(`${what} does not match the document: ${ajv.errorsText(check.errors)}`);
}

/** Calls the API and checks the answer against the document. */
async function call(
  method: string,
  route: string,
  options: { body?: string; token?: string | null; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined && headers['content-type'] === undefined)
    headers['content-type'] = 'application/yaml';
  const response = await fetch(`http://127.0.0.1:${PORT + 10}${route}`, {
    method,
    headers,
    body: options.body,
  });
  const text = await response.text();
  const answer: HttpAnswer = {
    status: response.status,
    headers: response.headers,
    text,
    json: <T>() => JSON.parse(text) as T,
  };
  const what = `${method} ${route} → ${answer.status}`;
  const found = operationFor(method, route);
  if (found === null) {
    expect([404, 405]).toContain(answer.status);
    validate({ $ref: '#/components/schemas/Error' }, answer.json(), what);
    return answer;
  }
  reached.add(`${method} ${found.template}`);
  const declared = found.operation.responses[String(answer.status)];
  if (declared === undefined)
    throw new Error(
      `${what}: the document lists no ${answer.status} for ${method} ${found.template}: ${text}`,
    );
  if (method === 'HEAD' || answer.status === 204) return answer;
  const content = declared.content?.[mediaType(answer)];
  if (content === undefined)
    throw new Error(
      `${what}: the document lists no ${mediaType(answer)} body (has ${Object.keys(declared.content ?? {})})`,
    );
  const type = mediaType(answer);
  const body = type === 'application/json' || type.endsWith('+json') ? answer.json() : text;
  validate(content.schema, body, what);
  return answer;
}

beforeAll(async () => {
  await createTopics([PUBLISHED, DEAD_LETTERS], 1);
  gateway = await startValidatingGateway({
    bootstrapPort: PORT,
    httpPort: PORT + 10,
    adminToken: ADMIN_TOKEN,
    tokens: [{ name: 'dashboard', role: 'read', token: READ_TOKEN }],
    asyncapi: { specs: [{ file: path.join(REPO_ROOT, 'asyncapi', 'demo.yaml'), id: 'demo' }] },
    ingest: { requireApiKeys: true, cloudEvents: { routes: [{ type: 'contract.*', topic: PUBLISHED }] } },
    discovery: { enabled: true, topics: [PUBLISHED] },
    logLevel: 'warn',
  });
  const answer = await httpCall(`http://127.0.0.1:${PORT + 10}`, 'GET', '/openapi.json');
  expect(answer.status).toBe(200);
  document = answer.json<OpenApiDocument>();
});

afterAll(() => gateway?.stop());

test('the document is a valid OpenAPI 3.1 document', async () => {
  expect(document.openapi).toBe('3.1.0');
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'openapi-')), 'openapi.json');
  writeFileSync(file, JSON.stringify(document));
  const cli = path.join(
    REPO_ROOT,
    'node_modules/@seriousme/openapi-schema-validator/bin/validate-api-cli.js',
  );
  const { stdout } = await promisify(execFile)(process.execPath, [cli, file]);
  expect(stdout).toMatch(/"valid": ?true/);
});

test('health and metrics', async () => {
  await call('GET', '/healthz');
  expect((await call('GET', '/readyz')).status).toBe(200);
  expect((await call('GET', '/metrics')).text).toContain('event_gateway_');
  await call('GET', '/openapi.json');
  const { brokers } = (await call('GET', '/brokers', { token: READ_TOKEN })).json<{
    brokers: { nodeId: number; gateway: string }[];
  }>();
  expect(brokers[0].gateway).toBe(`127.0.0.1:${PORT + brokers[0].nodeId}`);
  expect((await call('GET', '/brokers', { token: null })).status).toBe(401);
  expect((await call('GET', '/whoami', { token: READ_TOKEN })).json()).toEqual({
    name: 'dashboard',
    role: 'read',
  });
});

test('specs: upload, read, history, replace with If-Match, delete; every refusal', async () => {
  const id = 'contract-spec';
  const topic = uniqueTopic('contract');
  const text = demoSpec('3.0', topic);

  expect((await call('GET', '/specs', { token: null })).status).toBe(401);
  expect((await call('GET', '/specs', { token: 'not-a-token-at-all' })).status).toBe(401);
  expect((await call('PUT', `/specs/${id}`, { body: text, token: READ_TOKEN })).status).toBe(403);
  expect((await call('PUT', '/specs/-bad', { body: text })).status).toBe(400);
  expect((await call('PUT', `/specs/${id}`, { body: '' })).status).toBe(400);
  expect((await call('PUT', `/specs/${id}`, { body: 'asyncapi: 3.0.0\n' })).json()).toHaveProperty(
    'diagnostics',
  );
  expect((await call('PUT', `/specs/${id}`, { body: '- '.repeat(2000) })).status).toBe(400);
  expect((await call('PUT', `/specs/${id}`, { body: text, headers: { 'if-match': 'nope' } })).status).toBe(
    400,
  );
  expect((await call('PUT', '/specs/demo', { body: text })).status).toBe(409);
  expect(
    (await call('PUT', `/specs/${id}`, { body: 'x'.repeat(gateway.config.asyncapi.maxSpecBytes + 1) }))
      .status,
  ).toBe(413);

  const dryRun = await call('PUT', `/specs/${id}?dryRun=true`, { body: text });
  expect(dryRun.status).toBe(201);
  expect(
    (await call('PUT', `/specs/${id}?dryRun=true`, { body: 'asyncapi: 3.0.0\n' })).json(),
  ).toHaveProperty('diagnostics');
  expect(
    (await call('PUT', `/specs/${id}?dryRun=true`, { body: text, headers: { 'if-match': '"1"' } })).status,
  ).toBe(412);
  expect((await call('GET', `/specs/${id}`)).status).toBe(404);
  const created = await call('PUT', `/specs/${id}`, { body: text });
  expect(created.status).toBe(201);
  const first = created.headers.get('etag')!;
  expect(first).toMatch(/^"\d+"$/);
  const replaced = await call('PUT', `/specs/${id}`, {
    body: `${text}\n# again\n`,
    headers: { 'content-type': 'text/plain', 'if-match': first },
  });
  expect(replaced.status).toBe(200);
  expect((await call('PUT', `/specs/${id}`, { body: text, headers: { 'if-match': first } })).status).toBe(
    412,
  );

  expect(
    (await call('GET', '/specs', { token: READ_TOKEN })).json<{ specs: unknown[] }>().specs.length,
  ).toBeGreaterThanOrEqual(2);
  expect((await call('GET', `/specs/${id}`, { token: READ_TOKEN })).headers.get('etag')).toBe(
    replaced.headers.get('etag'),
  );
  expect((await call('GET', `/specs/${id}/document`)).text).toContain('# again');
  expect((await call('GET', '/specs/demo/document')).status).toBe(200);
  expect((await call('GET', '/specs/missing')).status).toBe(404);
  expect((await call('GET', '/specs/missing/document')).status).toBe(404);
  expect((await call('GET', '/specs/-bad')).status).toBe(400);
  const revisions = (await call('GET', `/specs/${id}/revisions`)).json<{
    revisions: { revision: string }[];
  }>();
  expect(revisions.revisions).toHaveLength(2);
  const oldest = revisions.revisions[1].revision;
  expect((await call('GET', `/specs/${id}/revisions/${oldest}/document`)).text).toBe(text);
  expect((await call('GET', `/specs/${id}/revisions/999999/document`)).status).toBe(404);
  expect((await call('GET', `/specs/${id}/revisions/x/document`)).status).toBe(400);
  expect((await call('GET', '/specs/missing/revisions')).status).toBe(404);

  expect((await call('DELETE', '/specs/demo')).status).toBe(409);
  expect((await call('DELETE', `/specs/${id}`, { token: READ_TOKEN })).status).toBe(403);
  expect((await call('DELETE', `/specs/${id}`, { headers: { 'if-match': first } })).status).toBe(412);
  expect((await call('DELETE', `/specs/${id}`)).status).toBe(204);
  expect((await call('DELETE', `/specs/${id}`)).status).toBe(404);
});

test('throttle: read, replace, refusals', async () => {
  const current = await call('GET', '/throttle', { token: READ_TOKEN });
  expect(current.status).toBe(200);
  expect((await call('PUT', '/throttle', { body: 'quotas: []\n', token: READ_TOKEN })).status).toBe(403);
  expect((await call('PUT', '/throttle', { body: '[1, 2]' })).status).toBe(400);
  expect((await call('PUT', '/throttle', { body: 'quotas: [{name: x}]' })).json()).toHaveProperty('problems');
  expect((await call('PUT', '/throttle', { body: ': :' })).status).toBe(400);
  const quota = 'quotas:\n  - {name: contract, kind: topic, match: [contract-x], bytesPerSecond: 1000000}\n';
  const replaced = await call('PUT', '/throttle', {
    body: quota,
    headers: { 'content-type': 'application/json' },
  });
  expect(replaced.status).toBe(200);
  expect(replaced.json()).toMatchObject({ throttle: { quotas: [{ name: 'contract', kind: 'topic' }] } });
  expect(
    (await call('PUT', '/throttle', { body: 'quotas: []', headers: { 'if-match': '"1"' } })).status,
  ).toBe(412);
  expect((await call('PUT', '/throttle', { body: 'quotas: []' })).status).toBe(200);
});

test('patterns: match, refusals', async () => {
  const json = { 'content-type': 'application/json' };
  const ask = (body: string, headers: Record<string, string> = json) =>
    call('POST', '/patterns/test', { body, headers, token: null });
  expect((await ask('{"pattern": {"value": {"a": [1]}}, "event": {"value": {"a": 1}}}')).json()).toEqual({
    matches: true,
  });
  expect((await ask('{"pattern": {"value": 3}, "event": {}}')).json()).toHaveProperty('path', 'value');
  expect((await ask('{"pattern": {}}')).status).toBe(400);
  expect((await ask('{"pattern"')).status).toBe(400);
  expect((await ask('['.repeat(100_000))).status).toBe(400);
  expect(
    (await ask('{"pattern": {"value": {"a": [1]}}, "event": {}}', { 'content-type': 'text/plain' })).status,
  ).toBe(200);
  expect((await ask(`"${'x'.repeat(300_000)}"`)).status).toBe(413);
});

test('the HTTP door: API keys, REST records, CloudEvents', async () => {
  const json = { 'content-type': 'application/json' };
  const grants = JSON.stringify({ grants: { topics: [PUBLISHED] } });
  expect(
    (await call('PUT', '/api-keys/publisher', { body: grants, headers: json, token: READ_TOKEN })).status,
  ).toBe(403);
  expect((await call('PUT', '/api-keys/publisher', { body: '{"grants": 1}', headers: json })).status).toBe(
    400,
  );
  const created = await call('PUT', '/api-keys/publisher', { body: grants, headers: json });
  expect(created.status).toBe(201);
  const secret = created.json<{ secret: string }>().secret;
  expect((await call('PUT', '/api-keys/publisher', { body: grants, headers: json })).status).toBe(200);
  expect((await call('GET', '/api-keys', { token: READ_TOKEN })).text).not.toContain(secret);
  expect((await call('GET', '/api-keys/publisher')).status).toBe(200);
  expect((await call('GET', '/api-keys/nobody')).status).toBe(404);

  const clusters = await call('GET', '/v3/clusters', { token: secret });
  const clusterId = clusters.json<{ data: { cluster_id: string }[] }>().data[0].cluster_id;
  expect((await call('GET', '/v3/clusters', { token: null })).status).toBe(401);
  expect((await call('GET', `/v3/clusters/${clusterId}/topics`, { token: secret })).text).toContain(
    PUBLISHED,
  );
  expect((await call('GET', '/v3/clusters/elsewhere/topics', { token: secret })).status).toBe(404);
  const records = (topic: string) => `/v3/clusters/${clusterId}/topics/${topic}/records`;
  const record = '{"value": {"data": {"n": 1}}}';
  expect(
    (await call('POST', records(PUBLISHED), { body: record, headers: json, token: secret })).status,
  ).toBe(200);
  const stream = await call('POST', records(PUBLISHED), {
    body: `${record}\n${record}`,
    headers: json,
    token: secret,
  });
  expect(stream.status).toBe(200);
  expect((await call('POST', records(PUBLISHED), { body: record, headers: json, token: null })).status).toBe(
    401,
  );
  expect(
    (await call('POST', records('demo-not-granted'), { body: record, headers: json, token: secret })).status,
  ).toBe(404);
  expect(
    (await call('POST', records(PUBLISHED), { body: '{"value": 1}', headers: json, token: secret })).status,
  ).toBe(400);

  const event = {
    'ce-specversion': '1.0',
    'ce-id': '1',
    'ce-source': 'contract',
    'content-type': 'application/json',
  };
  expect(
    (
      await call('POST', '/events', {
        body: '{}',
        headers: { ...event, 'ce-type': 'contract.x' },
        token: secret,
      })
    ).status,
  ).toBe(200);
  expect(
    (
      await call('POST', '/events', {
        body: '{}',
        headers: { ...event, 'ce-type': 'nowhere' },
        token: secret,
      })
    ).status,
  ).toBe(422);
  expect(
    (await call('POST', '/events', { body: 'x', headers: { 'content-type': 'text/plain' }, token: secret }))
      .status,
  ).toBe(415);
  const batch = JSON.stringify([
    { specversion: '1.0', id: '2', source: 'contract', type: 'contract.y', data: { a: 1 } },
    { specversion: '1.0', id: '3', source: 'contract', type: 'contract.y', data: { a: 2 } },
  ]);
  const batched = await call('POST', '/events', {
    body: batch,
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    token: secret,
  });
  expect(batched.status).toBe(200);

  expect((await call('DELETE', '/api-keys/publisher', { token: READ_TOKEN })).status).toBe(403);
  expect((await call('DELETE', '/api-keys/publisher')).status).toBe(204);
  expect((await call('DELETE', '/api-keys/publisher')).status).toBe(404);
});

test('subscriptions: create, read, pause, resume, replay, status, delete; every refusal', async () => {
  const json = { 'content-type': 'application/json' };
  const settings = {
    type: 'async',
    events: { topics: [PUBLISHED] },
    target: { url: 'http://127.0.0.1:9/hook', auth: { basic: { username: 'gw', password: 'pw-secret' } } },
    deadLetterTopic: DEAD_LETTERS,
  };
  const body = JSON.stringify(settings);
  expect((await call('PUT', '/subscriptions/hook', { body, headers: json, token: READ_TOKEN })).status).toBe(
    403,
  );
  expect((await call('PUT', '/subscriptions/hook', { body, headers: json, token: null })).status).toBe(401);
  expect(
    (await call('PUT', '/subscriptions/hook', { body: '{"type": "async"}', headers: json })).status,
  ).toBe(400);
  expect(
    (await call('PUT', '/subscriptions/hook', { body: '['.repeat(100_000), headers: json })).status,
  ).toBe(413);
  const created = await call('PUT', '/subscriptions/hook', { body, headers: json });
  expect(created.status).toBe(201);
  expect(created.text).not.toContain('pw-secret');
  expect(
    (await call('PUT', '/subscriptions/hook', { body, headers: { ...json, 'if-match': '"1"' } })).status,
  ).toBe(412);
  expect((await call('PUT', '/subscriptions/hook2', { body, headers: json })).status).toBe(409);
  expect((await call('GET', '/subscriptions', { token: READ_TOKEN })).status).toBe(200);
  expect((await call('GET', '/subscriptions/hook', { token: READ_TOKEN })).status).toBe(200);
  expect((await call('GET', '/subscriptions/nobody')).status).toBe(404);
  expect((await call('GET', '/subscriptions/bad%20id')).status).toBe(400);
  expect((await call('POST', '/subscriptions/hook/pause', { token: READ_TOKEN })).status).toBe(403);
  expect((await call('POST', '/subscriptions/hook/pause')).json()).toMatchObject({ paused: true });
  expect((await call('POST', '/subscriptions/nobody/pause')).status).toBe(404);
  expect((await call('POST', '/subscriptions/hook/resume')).json()).toMatchObject({ paused: false });
  expect((await call('POST', '/subscriptions/nobody/resume')).status).toBe(404);
  const from = new Date(Date.now() - 60_000).toISOString();
  expect(
    (await call('POST', '/subscriptions/hook/replay', { body: JSON.stringify({ from }), headers: json }))
      .status,
  ).toBe(202);
  expect(
    (await call('POST', '/subscriptions/hook/replay', { body: '{"from": "yesterday"}', headers: json }))
      .status,
  ).toBe(400);
  expect(
    (await call('POST', '/subscriptions/nobody/replay', { body: JSON.stringify({ from }), headers: json }))
      .status,
  ).toBe(404);
  expect((await call('GET', '/subscriptions/hook/status', { token: READ_TOKEN })).status).toBe(200);
  expect((await call('GET', '/subscriptions/nobody/status')).status).toBe(404);
  expect((await call('DELETE', '/subscriptions/hook', { token: READ_TOKEN })).status).toBe(403);
  expect((await call('DELETE', '/subscriptions/hook')).status).toBe(204);
  expect((await call('DELETE', '/subscriptions/hook')).status).toBe(404);
});

test('discovery: sampled topics, a draft contract; refusals', async () => {
  // The HTTP door's test above published to PUBLISHED, which no spec describes.
  expect((await call('GET', '/discovery/topics', { token: null })).status).toBe(401);
  expect((await call('GET', '/discovery/topics', { token: READ_TOKEN })).text).toContain(PUBLISHED);
  const draft = await call('GET', `/discovery/topics/${PUBLISHED}/asyncapi`, { token: READ_TOKEN });
  expect(draft.json()).toMatchObject({ asyncapi: '3.0.0' });
  expect((await call('GET', '/discovery/topics/nothing-sampled/asyncapi')).status).toBe(404);
  expect((await call('GET', '/discovery/topics/not%20a%20topic/asyncapi')).status).toBe(400);
});

test('refusals outside any operation have the error body', async () => {
  expect((await call('GET', '/nothing-here')).status).toBe(404);
  const wrongMethod = await call('PATCH', '/specs/x');
  expect(wrongMethod.status).toBe(405);
  expect(wrongMethod.headers.get('allow')?.split(', ').sort()).toEqual(['DELETE', 'GET', 'HEAD', 'PUT']);
  expect((await call('POST', '/healthz')).status).toBe(405);
});

test('every operation of the document was called', () => {
  const operations = Object.entries(document.paths).flatMap(([template, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${template}`),
  );
  expect(operations.filter((operation) => !reached.has(operation))).toEqual([]);
});
