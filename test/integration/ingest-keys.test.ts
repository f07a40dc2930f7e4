/**
 * Publishers' API keys across a fleet: two gateways share one state topic, so a key created,
 * rotated or deleted through either is in force on both. What a key grants (topics by name or
 * /regex/, a rate, client addresses) is enforced on the REST door, and the key management API
 * never shows a secret again after handing it out.
 *
 * Gateway ports: 25200 and 25220 (bootstrap P, HTTP P + 10), in front of the shared broker.
 */
import { createHash } from 'node:crypto';
import { kafkaClient, BOOTSTRAP, uniqueTopic } from './support/kafka-harness';
import { createTopics, startValidatingGateway, type ValidatingGateway } from './support/validating-gateway';

jest.setTimeout(60_000);

const HOST = '127.0.0.1';
const ADMIN = 'ingest-keys-admin-token';
const STATE_TOPIC = uniqueTopic('eg-state-keys');
const ORDERS = uniqueTopic('kt-orders');
const AUDIT = uniqueTopic('kt-audit');
const OTHER = uniqueTopic('kt-other');
/** How long a change made through one instance may take to be in force on the other. */
const PROPAGATION_LIMIT_MS = 10_000;

let a: ValidatingGateway;
let b: ValidatingGateway;
let clusterId: string;
/** Every secret handed out, so that no listing can be checked against fewer than all of them. */
const secrets: string[] = [];

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

async function call(
  gateway: ValidatingGateway,
  method: string,
  route: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(`http://${HOST}:${gateway.config.http.port}${route}`, {
    method,
    headers: {
      ...(options.body !== undefined && { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // 204s have no body
  }
  return { status: response.status, headers: response.headers, text, body };
}

const admin = { authorization: `Bearer ${ADMIN}` };
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

async function putKey(gateway: ValidatingGateway, name: string, settings: Record<string, unknown>) {
  const answer = await call(gateway, 'PUT', `/api-keys/${name}`, { body: settings, headers: admin });
  if (answer.status !== 201 && answer.status !== 200)
    throw new Error(`PUT /api-keys/${name} answered ${answer.status}: ${answer.text}`);
  if (typeof answer.body.secret === 'string') secrets.push(answer.body.secret);
  return answer;
}

function publish(
  gateway: ValidatingGateway,
  topic: string,
  headers: Record<string, string>,
  data: unknown = { n: 1 },
): Promise<Answer> {
  return call(gateway, 'POST', `/v3/clusters/${clusterId}/topics/${topic}/records`, {
    body: { key: { type: 'STRING', data: 'k' }, value: { data } },
    headers,
  });
}

/**
 * Polls until `check` answers `status` and returns the milliseconds it took. GET /v3/clusters
 * authenticates without writing a record or charging a key's rate, so it is the probe of choice.
 */
async function until(
  status: number,
  check: () => Promise<Answer>,
  what: string,
  limitMs = PROPAGATION_LIMIT_MS,
): Promise<number> {
  const started = Date.now();
  let last: Answer;
  for (;;) {
    last = await check();
    if (last.status === status) return Date.now() - started;
    if (Date.now() - started > limitMs)
      throw new Error(`${what}: still ${last.status} after ${limitMs} ms: ${last.text}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const clusters = (gateway: ValidatingGateway, headers: Record<string, string>) => () =>
  call(gateway, 'GET', '/v3/clusters', { headers });

function start(port: number): Promise<ValidatingGateway> {
  return startValidatingGateway({
    bootstrapPort: port,
    httpPort: port + 10,
    adminToken: ADMIN,
    ingest: { requireApiKeys: true },
    state: { topic: STATE_TOPIC },
    logLevel: 'warn',
  });
}

beforeAll(async () => {
  await createTopics([ORDERS, AUDIT, OTHER], 1);
  const kafkaAdmin = kafkaClient(BOOTSTRAP).admin();
  await kafkaAdmin.connect();
  clusterId = (await kafkaAdmin.describeCluster()).clusterId;
  await kafkaAdmin.disconnect();
  [a, b] = await Promise.all([start(25200), start(25220)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

test('no key, or a key nobody issued: 401 asking for a bearer key', async () => {
  const none = await publish(a, ORDERS, {});
  expect(none.status).toBe(401);
  expect(none.headers.get('www-authenticate')).toBe('Bearer');
  expect(none.body.error).toMatch(/API key is required/);
  const unknown = await publish(a, ORDERS, bearer('x'.repeat(43)));
  expect(unknown.status).toBe(401);
  expect(unknown.body.error).toMatch(/not valid/);
  expect((await publish(b, ORDERS, { 'x-api-key': 'nope' })).status).toBe(401);
  // Managing keys takes the admin token, not a publisher's key.
  expect(
    (await call(a, 'PUT', '/api-keys/sneaky', { body: { grants: { topics: ['x'] } }, headers: {} })).status,
  ).toBe(401);
});

test('a key created on A publishes through B; it grants its topics (names and /regex/) and nothing else', async () => {
  const created = await putKey(a, 'orders-writer', {
    grants: { topics: [ORDERS, '/^kt-audit-/'] },
    description: 'orders and audit',
  });
  expect(created.status).toBe(201);
  const secret = created.body.secret as string;
  expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(created.headers.get('etag')).toMatch(/^"\d+"$/);

  // Measured with the request a publisher sends: until B has applied the key it answers 401.
  const answered = Date.now();
  let attempts = 0;
  let first: Answer;
  for (;;) {
    attempts++;
    first = await publish(b, ORDERS, bearer(secret), { first: true });
    if (first.status !== 401 || Date.now() - answered > PROPAGATION_LIMIT_MS) break;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  const delayMs = Date.now() - answered;
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ topic_name: ORDERS, offset: expect.any(Number) });
  console.log(
    `an API key created on instance A published through instance B ${delayMs} ms after A's 201 ` +
      `(${attempts} attempts)`,
  );

  const audit = await publish(b, AUDIT, bearer(secret));
  expect(audit.status).toBe(200);
  expect(audit.body.topic_name).toBe(AUDIT);

  const denied = await publish(b, OTHER, bearer(secret));
  expect(denied.status).toBe(403);
  expect(denied.body.error).toContain(`'${OTHER}'`);
  expect(denied.body.error).toContain('orders-writer');
  expect((await publish(a, OTHER, bearer(secret))).status).toBe(403);

  // The other way to present a key.
  const viaHeader = await publish(a, ORDERS, { 'x-api-key': secret }, { header: 'x-api-key' });
  expect(viaHeader.status).toBe(200);
  expect((await publish(a, OTHER, { 'x-api-key': secret })).status).toBe(403);

  // Topics listed to a publisher are those its key grants.
  const topics = await call(b, 'GET', `/v3/clusters/${clusterId}/topics`, { headers: bearer(secret) });
  expect(topics.status).toBe(200);
  const names = (topics.body.data as { topic_name: string }[]).map((t) => t.topic_name);
  expect(names).toEqual(expect.arrayContaining([ORDERS, AUDIT]));
  expect(names).not.toContain(OTHER);
});

test('a rate of 5 events per second: the burst passes, then 429 with Retry-After', async () => {
  const { body } = await putKey(a, 'slow-writer', {
    grants: { topics: [ORDERS] },
    rate: { eventsPerSecond: 5 },
  });
  const secret = body.secret as string;
  await until(200, clusters(a, bearer(secret)), 'the rated key on A');
  const statuses: number[] = [];
  let refused: Answer | undefined;
  for (let i = 0; i < 10; i++) {
    const answer = await publish(a, ORDERS, bearer(secret), { i });
    statuses.push(answer.status);
    if (answer.status === 429) refused ??= answer;
  }
  // One second's worth of burst, then the rest of the ten sent at once are refused.
  expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
  expect(statuses.filter((s) => s === 200).length).toBeLessThan(10);
  expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
  expect(refused).toBeDefined();
  expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(refused!.body.error).toMatch(/slow-writer.*over its rate/);
  // Rates are counted per instance: B has charged nothing to this key yet.
  await until(200, clusters(b, bearer(secret)), 'the rated key on B');
  expect((await publish(b, ORDERS, bearer(secret))).status).toBe(200);
});

test('allowFrom: a key for 10.0.0.0/8 is refused from 127.0.0.1 with 403', async () => {
  const { body } = await putKey(b, 'inside-only', {
    grants: { topics: [ORDERS] },
    allowFrom: ['10.0.0.0/8'],
  });
  const secret = body.secret as string;
  // Until A knows the key it is a 401; then the address decides.
  await until(403, clusters(a, bearer(secret)), 'the address-bound key on A');
  const refused = await publish(a, ORDERS, bearer(secret));
  expect(refused.status).toBe(403);
  expect(refused.body.error).toMatch(/inside-only.*127\.0\.0\.1/);
  expect((await publish(b, ORDERS, bearer(secret))).status).toBe(403);
});

test('rotated on B: the old secret stops working on A, the new one works there', async () => {
  const { body } = await putKey(a, 'rotating', { grants: { topics: [ORDERS] } });
  const old = body.secret as string;
  await until(200, clusters(b, bearer(old)), 'the key before rotation on B');

  const rotated = await putKey(b, 'rotating', { grants: { topics: [ORDERS] }, rotate: true });
  expect(rotated.status).toBe(200);
  const fresh = rotated.body.secret as string;
  expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(fresh).not.toBe(old);

  const tookMs = await until(401, clusters(a, bearer(old)), 'the rotated-out secret on A');
  expect((await publish(a, ORDERS, bearer(old))).status).toBe(401);
  expect((await publish(a, ORDERS, bearer(fresh))).status).toBe(200);
  expect((await publish(b, ORDERS, bearer(old))).status).toBe(401);
  console.log(`a secret rotated on instance B was refused on instance A ${tookMs} ms after B's answer`);

  // Replacing a key without rotate keeps its secret and does not show it.
  const replaced = await putKey(a, 'rotating', { grants: { topics: [ORDERS, AUDIT] } });
  expect(replaced.status).toBe(200);
  expect(replaced.body).not.toHaveProperty('secret');
  await until(200, () => publish(b, AUDIT, bearer(fresh)), 'the widened key on B');
});

test('deleted on A: refused on B', async () => {
  const { body } = await putKey(b, 'doomed', { grants: { topics: [ORDERS] } });
  const secret = body.secret as string;
  await until(200, clusters(a, bearer(secret)), 'the key before deletion on A');
  await until(200, clusters(b, bearer(secret)), 'the key before deletion on B');
  expect((await call(a, 'DELETE', '/api-keys/doomed', { headers: admin })).status).toBe(204);
  const tookMs = await until(401, clusters(b, bearer(secret)), 'the deleted key on B');
  const refused = await publish(b, ORDERS, bearer(secret));
  expect(refused.status).toBe(401);
  expect(refused.body.error).toMatch(/not valid/);
  expect((await publish(a, ORDERS, bearer(secret))).status).toBe(401);
  expect((await call(b, 'GET', '/api-keys/doomed', { headers: admin })).status).toBe(404);
  console.log(`a key deleted on instance A was refused on instance B ${tookMs} ms after A's 204`);
});

test('GET /api-keys never shows a secret nor its hash', async () => {
  expect(secrets.length).toBeGreaterThanOrEqual(5);
  const forbidden = secrets.flatMap((secret) => [
    secret,
    createHash('sha256').update(secret, 'utf8').digest('hex'),
  ]);
  // Every key stored so far, as both instances show it.
  const names = ['orders-writer', 'slow-writer', 'inside-only', 'rotating'];
  for (const gateway of [a, b]) {
    const list = await call(gateway, 'GET', '/api-keys', { headers: admin });
    expect(list.status).toBe(200);
    const keys = list.body.apiKeys as Record<string, unknown>[];
    const listed = keys.map((key) => key.name);
    for (const name of names) {
      if (!listed.includes(name)) {
        await until(200, () => call(gateway, 'GET', `/api-keys/${name}`, { headers: admin }), name);
      }
    }
    const answers = [
      list,
      await call(gateway, 'GET', '/api-keys', { headers: admin }),
      ...(await Promise.all(
        names.map((name) => call(gateway, 'GET', `/api-keys/${name}`, { headers: admin })),
      )),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      for (const value of forbidden) expect(answer.text).not.toContain(value);
      expect(answer.text).not.toMatch(/secret/i);
      expect(answer.text).not.toMatch(/hash/i);
    }
    const full = answers[1].body.apiKeys as Record<string, unknown>[];
    expect(full.map((key) => key.name)).toEqual(expect.arrayContaining(names));
    for (const key of full) {
      expect(Object.keys(key).sort()).toEqual(
        expect.arrayContaining(['grants', 'name', 'revision', 'updatedAt']),
      );
      expect(key).not.toHaveProperty('secret');
      expect(key).not.toHaveProperty('secretHash');
    }
  }
});
