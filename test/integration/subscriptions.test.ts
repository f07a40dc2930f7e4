/**
 * Subscriptions against the real broker and real HTTP targets (servers started here): async
 * delivery in order per key, retries with backoff (500s, timeouts, 429 with Retry-After), dead
 * letters with their headers, OAuth 2 client credentials, sync routes, conflicts, pause/resume,
 * replay from a time and status.
 *
 * Gateway ports: 25400 (bootstrap) and 25410 (HTTP), in front of the shared broker.
 */
import type { Producer } from 'kafkajs';
import { BOOTSTRAP, eventually, kafkaClient, uniqueTopic } from './support/kafka-harness';
import { HttpTarget, type Received } from './support/http-target';
import {
  createTopics,
  metricSample,
  readPartition,
  startValidatingGateway,
  type ValidatingGateway,
} from './support/validating-gateway';

jest.setTimeout(90_000);

const HOST = '127.0.0.1';
const ADMIN = 'subscriptions-admin-token';
const DLQ = uniqueTopic('sub-dlq');

let gateway: ValidatingGateway;
let producer: Producer;
const targets: HttpTarget[] = [];

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

async function call(
  method: string,
  route: string,
  options: { body?: unknown; headers?: Record<string, string>; raw?: string } = {},
): Promise<Answer> {
  const response = await fetch(`http://${HOST}:${gateway.config.http.port}${route}`, {
    method,
    headers: {
      ...(options.body !== undefined && { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: a 204, or a target's own answer
  }
  return { status: response.status, headers: response.headers, text, body };
}

const admin = { authorization: `Bearer ${ADMIN}` };

async function subscribe(id: string, settings: Record<string, unknown>): Promise<Answer> {
  const answer = await call('PUT', `/subscriptions/${id}`, { body: settings, headers: admin });
  if (answer.status !== 201 && answer.status !== 200)
    throw new Error(`PUT /subscriptions/${id} answered ${answer.status}: ${answer.text}`);
  return answer;
}

async function target(): Promise<HttpTarget> {
  const started = await new HttpTarget().start();
  targets.push(started);
  return started;
}

async function produce(
  topic: string,
  messages: { key?: string; value: unknown; headers?: Record<string, string> }[],
) {
  await producer.send({
    topic,
    acks: -1,
    messages: messages.map((m) => ({
      key: m.key ?? null,
      value: JSON.stringify(m.value),
      ...(m.headers !== undefined && { headers: m.headers }),
    })),
  });
}

const bodyOf = (request: Received) => JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const answer = await call('GET', '/metrics');
  return metricSample(answer.text, name, labels);
}

beforeAll(async () => {
  await createTopics([DLQ], 1);
  producer = kafkaClient(BOOTSTRAP).producer();
  await producer.connect();
  gateway = await startValidatingGateway({
    bootstrapPort: 25400,
    httpPort: 25410,
    adminToken: ADMIN,
    ingest: { requireApiKeys: true },
    subscriptions: { allowedTargets: ['127.0.0.1'], sessionTimeoutMs: 6000, topicRefreshMs: 1000 },
    logLevel: 'warn',
  });
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await producer?.disconnect();
  await Promise.all(targets.map((t) => t.stop()));
});

describe('async delivery', () => {
  test('records with the same key arrive in order, different keys concurrently, as CloudEvents', async () => {
    const topic = uniqueTopic('sub-order');
    await createTopics([topic], 2);
    const sink = await target();
    let inFlight = 0;
    let maxInFlight = 0;
    sink.behaviour = () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const delayMs = 5 + Math.floor(Math.random() * 25);
      setTimeout(() => inFlight--, delayMs);
      return { status: 200, delayMs };
    };
    await subscribe('ordered', {
      type: 'async',
      events: { topics: [topic] },
      target: { url: sink.url('/orders') },
      concurrency: 4,
      deadLetterTopic: DLQ,
    });
    const keys = ['alpha', 'beta', 'gamma', 'delta'];
    for (let seq = 0; seq < 10; seq++)
      await produce(
        topic,
        keys.map((key) => ({ key, value: { key, seq } })),
      );
    await sink.until(40);
    for (const key of keys) {
      const seqs = sink.received
        .map(bodyOf)
        .filter((v) => v.key === key)
        .map((v) => v.seq);
      expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(4);
    const first = sink.received[0];
    expect(first.method).toBe('POST');
    expect(first.headers['ce-specversion']).toBe('1.0');
    expect(first.headers['ce-type']).toBe('kafka.record');
    expect(first.headers['ce-source']).toBe(`/topics/${topic}`);
    expect(keys).toContain(first.headers['ce-partitionkey']);
    expect(first.headers['content-type']).toMatch(/^application\/json/);
    // Every record once: no duplicates without a failure.
    expect(new Set(sink.received.map((r) => r.headers['ce-id'])).size).toBe(40);
    await eventually(async () =>
      (await metric('event_gateway_subscription_deliveries_total', {
        subscription: 'ordered',
        outcome: 'delivered',
      })) === 40
        ? true
        : undefined,
    );
  });

  test('500s and a timeout are retried with backoff, then the record is delivered', async () => {
    const topic = uniqueTopic('sub-retry');
    await createTopics([topic], 1);
    const sink = await target();
    sink.behaviour = (_request, seen) => {
      if (seen.length === 0) return { status: 500 };
      if (seen.length === 1) return { status: 200, delayMs: 1_500 };
      return { status: 204 };
    };
    await subscribe('retrying', {
      type: 'async',
      events: { topics: [topic] },
      target: { url: sink.url('/retry'), timeoutMs: 400 },
      retry: { initialBackoffMs: 300, maxBackoffMs: 5_000, maxAttempts: 5 },
      deadLetterTopic: DLQ,
    });
    await produce(topic, [{ key: 'k', value: { n: 1 } }]);
    await sink.until(3);
    const [a, b, c] = sink.received;
    // Equal jitter: at least half of each backoff (300 ms, then 600 ms) is waited for sure.
    expect(b.at - a.at).toBeGreaterThanOrEqual(150);
    // The second attempt timed out after 400 ms, then waited at least 300 ms.
    expect(c.at - b.at).toBeGreaterThanOrEqual(400 + 300);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sink.received).toHaveLength(3);
    expect(
      await metric('event_gateway_subscription_attempts_total', { subscription: 'retrying', result: '5xx' }),
    ).toBe(1);
    expect(
      await metric('event_gateway_subscription_attempts_total', {
        subscription: 'retrying',
        result: 'timeout',
      }),
    ).toBe(1);
    expect(
      await metric('event_gateway_subscription_attempts_total', { subscription: 'retrying', result: '2xx' }),
    ).toBe(1);
    const status = await call('GET', '/subscriptions/retrying/status', { headers: admin });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      state: 'active',
      instance: { delivered: 1, retried: 2, deadLettered: 0 },
    });
  });

  test('a 429 with Retry-After is waited out', async () => {
    const topic = uniqueTopic('sub-429');
    await createTopics([topic], 1);
    const sink = await target();
    sink.behaviour = (_request, seen) =>
      seen.length === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 };
    await subscribe('throttled', {
      type: 'async',
      events: { topics: [topic] },
      target: { url: sink.url('/throttled') },
      retry: { initialBackoffMs: 10, maxBackoffMs: 50 },
      deadLetterTopic: DLQ,
    });
    await produce(topic, [{ value: { n: 1 } }]);
    await sink.until(2);
    expect(sink.received[1].at - sink.received[0].at).toBeGreaterThanOrEqual(1_900);
  });

  test('a 400 goes straight to the dead-letter topic, keeping key, value and headers', async () => {
    const topic = uniqueTopic('sub-dead');
    const dlq = uniqueTopic('sub-dead-dlq');
    await createTopics([topic, dlq], 1);
    const sink = await target();
    sink.behaviour = () => ({ status: 400, body: 'no such order' });
    await subscribe('refused', {
      type: 'async',
      events: { topics: [topic] },
      target: { url: sink.url('/refused') },
      deadLetterTopic: dlq,
    });
    await produce(topic, [{ key: 'order-7', value: { order: 7 }, headers: { origin: 'test' } }]);
    await sink.until(1);
    const stored = await eventually(async () => {
      const partition = await readPartition(dlq, 0);
      return partition.records.length > 0 ? partition.records : undefined;
    });
    expect(stored).toHaveLength(1);
    const [letter] = stored;
    expect(letter.key?.toString()).toBe('order-7');
    expect(JSON.parse(letter.value!.toString())).toEqual({ order: 7 });
    const headers = Object.fromEntries(letter.headers.map((h) => [h.key, h.value?.toString()]));
    expect(headers).toMatchObject({
      origin: 'test',
      _eg_dlq_subscription: 'refused',
      _eg_dlq_topic: topic,
      _eg_dlq_partition: '0',
      _eg_dlq_offset: '0',
      _eg_dlq_status: '400',
      _eg_dlq_attempts: '1',
    });
    expect(headers._eg_dlq_error).toContain('400');
    expect(Date.parse(headers._eg_dlq_first_attempt_at!)).toBeLessThanOrEqual(
      Date.parse(headers._eg_dlq_last_attempt_at!),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sink.received).toHaveLength(1);
    expect(
      await metric('event_gateway_subscription_deliveries_total', {
        subscription: 'refused',
        outcome: 'dead_lettered',
      }),
    ).toBe(1);
  });

  test('an OAuth 2 token is fetched once and reused; GET never shows the client secret', async () => {
    const topic = uniqueTopic('sub-oauth');
    await createTopics([topic], 1);
    const tokens = await target();
    tokens.behaviour = () => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ access_token: 'token-1', token_type: 'Bearer', expires_in: 3600 }),
    });
    const sink = await target();
    sink.behaviour = (request) => ({
      status: request.headers.authorization === 'Bearer token-1' ? 200 : 401,
    });
    const put = await subscribe('oauth', {
      type: 'async',
      events: { topics: [topic] },
      target: {
        url: sink.url('/oauth'),
        auth: {
          oauth2: {
            tokenUrl: tokens.url('/token'),
            clientId: 'gateway',
            clientSecret: 's3cret-value',
            scope: 'events',
          },
        },
      },
      deadLetterTopic: DLQ,
    });
    expect(put.text).not.toContain('s3cret-value');
    await produce(
      topic,
      Array.from({ length: 10 }, (_, n) => ({ key: `k${n}`, value: { n } })),
    );
    await sink.until(10);
    expect(sink.received.every((r) => r.headers.authorization === 'Bearer token-1')).toBe(true);
    expect(tokens.received).toHaveLength(1);
    const [tokenRequest] = tokens.received;
    expect(tokenRequest.method).toBe('POST');
    expect(new URLSearchParams(tokenRequest.body.toString()).get('grant_type')).toBe('client_credentials');
    expect(tokenRequest.headers.authorization).toBe(
      `Basic ${Buffer.from('gateway:s3cret-value').toString('base64')}`,
    );
    const shown = await call('GET', '/subscriptions/oauth', { headers: admin });
    expect(shown.status).toBe(200);
    expect(shown.text).not.toContain('s3cret-value');
    expect(shown.body.target).toMatchObject({ auth: { oauth2: { clientId: 'gateway', scope: 'events' } } });
    const list = await call('GET', '/subscriptions', { headers: admin });
    expect(list.text).not.toContain('s3cret-value');
  });

  test('pause stops delivery on every instance; resume continues where it stopped', async () => {
    const topic = uniqueTopic('sub-pause');
    await createTopics([topic], 1);
    const sink = await target();
    await subscribe('pausable', {
      type: 'async',
      events: { topics: [topic] },
      target: { url: sink.url('/pause') },
      deadLetterTopic: DLQ,
    });
    await produce(topic, [{ value: { n: 0 } }]);
    await sink.until(1);
    const paused = await call('POST', '/subscriptions/pausable/pause', { headers: admin });
    expect(paused.status).toBe(200);
    expect(paused.body.paused).toBe(true);
    await eventually(async () => {
      const status = await call('GET', '/subscriptions/pausable/status', { headers: admin });
      return status.body.state === 'paused' ? true : undefined;
    });
    await produce(topic, [{ value: { n: 1 } }, { value: { n: 2 } }]);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(sink.received).toHaveLength(1);
    const resumed = await call('POST', '/subscriptions/pausable/resume', { headers: admin });
    expect(resumed.status).toBe(200);
    expect(resumed.body.paused).toBe(false);
    await sink.until(3);
    expect(sink.received.map((r) => bodyOf(r).n)).toEqual([0, 1, 2]);
  });

  test('replay from a time delivers again what the topic holds since then, alongside live delivery', async () => {
    const topic = uniqueTopic('sub-replay');
    await createTopics([topic], 2);
    const sink = await target();
    await subscribe('replayed', {
      type: 'async',
      events: { topics: [topic] },
      target: { url: sink.url('/replay') },
      deadLetterTopic: DLQ,
    });
    await produce(topic, [{ key: 'old', value: { n: 'before' } }]);
    await sink.until(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const from = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await produce(
      topic,
      Array.from({ length: 6 }, (_, n) => ({ key: `k${n}`, value: { n } })),
    );
    await sink.until(7);
    const replay = await call('POST', '/subscriptions/replayed/replay', { body: { from }, headers: admin });
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ from });
    await sink.until(13);
    const ids = sink.received.map((r) => r.headers['ce-id']);
    const again = sink.received.slice(7).map(bodyOf);
    expect(again.map((v) => v.n).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set(ids).size).toBe(7);
    // Live delivery goes on beside it, and the replay removes itself once done.
    await produce(topic, [{ key: 'live', value: { n: 'live' } }]);
    await sink.until(14);
    await eventually(async () => {
      const shown = await call('GET', '/subscriptions/replayed', { headers: admin });
      return shown.body.replays === undefined ? true : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sink.received).toHaveLength(14);
  });

  test('a pattern and a CloudEvents type select the records delivered', async () => {
    const topic = uniqueTopic('sub-select');
    await createTopics([topic], 1);
    const sink = await target();
    await subscribe('selective', {
      type: 'async',
      events: {
        topics: [topic],
        type: 'com.example.order.created',
        pattern: { value: { total: [{ numeric: ['>', 100] }] } },
      },
      target: { url: sink.url('/select') },
      deadLetterTopic: DLQ,
    });
    const ce = (id: string, type: string) => ({
      ce_specversion: '1.0',
      ce_id: id,
      ce_source: '/shop',
      ce_type: type,
      'content-type': 'application/json',
    });
    await produce(topic, [
      { value: { total: 500 }, headers: ce('1', 'com.example.order.created') },
      { value: { total: 50 }, headers: ce('2', 'com.example.order.created') },
      { value: { total: 900 }, headers: ce('3', 'com.example.order.cancelled') },
      { value: { total: 900 } },
      { value: { total: 101 }, headers: ce('5', 'com.example.order.created') },
    ]);
    await sink.until(2);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(sink.received.map((r) => r.headers['ce-id'])).toEqual(['1', '5']);
    expect(sink.received[0].headers['ce-source']).toBe('/shop');
    expect(sink.received[0].headers['ce-type']).toBe('com.example.order.created');
  });
});

describe('topics, rate and lifetime', () => {
  test('a /regex/ entry picks up a topic created after the subscription, from its beginning', async () => {
    const prefix = uniqueTopic('sub-rx');
    const existing = `${prefix}.one`;
    await createTopics([existing], 1);
    const sink = await target();
    await subscribe('by-regex', {
      type: 'async',
      events: { topics: [`/^${prefix.replace(/\./g, '\\.')}\\..*$/`] },
      target: { url: sink.url('/regex') },
      deadLetterTopic: DLQ,
    });
    await produce(existing, [{ value: { from: 'one' } }]);
    await sink.until(1);
    const later = `${prefix}.two`;
    await createTopics([later], 1);
    // Produced before the gateway has seen the topic: read from the beginning, it is not missed.
    await produce(later, [{ value: { from: 'two' } }]);
    await sink.until(2, 30_000);
    expect(sink.received.map((r) => bodyOf(r).from)).toEqual(['one', 'two']);
  });

  test('the rate limit spaces requests to the target', async () => {
    const topic = uniqueTopic('sub-rate');
    await createTopics([topic], 1);
    const sink = await target();
    await subscribe('paced', {
      type: 'async',
      events: { topics: [topic] },
      target: { url: sink.url('/paced') },
      rateLimit: { requestsPerSecond: 5 },
      concurrency: 8,
      deadLetterTopic: DLQ,
    });
    await produce(
      topic,
      Array.from({ length: 15 }, (_, n) => ({ key: `k${n}`, value: { n } })),
    );
    await sink.until(15, 30_000);
    // At most one second's worth (5) at once, then 5 per second: 15 requests span at least ~2 s.
    const span = sink.received[14].at - sink.received[0].at;
    expect(span).toBeGreaterThanOrEqual(1_800);
  });

  test('a deleted subscription delivers nothing more', async () => {
    const topic = uniqueTopic('sub-deleted');
    await createTopics([topic], 1);
    const sink = await target();
    await subscribe('short-lived', {
      type: 'async',
      events: { topics: [topic] },
      target: { url: sink.url('/deleted') },
      deadLetterTopic: DLQ,
    });
    await produce(topic, [{ value: { n: 1 } }]);
    await sink.until(1);
    expect((await call('DELETE', '/subscriptions/short-lived', { headers: admin })).status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await produce(topic, [{ value: { n: 2 } }]);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(sink.received).toHaveLength(1);
  });
});

describe('the resource', () => {
  test('refusals: same events to the same target (409), a target not allowed (400), bad settings (400)', async () => {
    const topic = uniqueTopic('sub-conflict');
    await createTopics([topic], 1);
    const sink = await target();
    const settings = {
      type: 'async',
      events: { topics: [topic] },
      target: { url: sink.url('/same') },
      deadLetterTopic: DLQ,
    };
    await subscribe('first', settings);
    const again = await call('PUT', '/subscriptions/second', { body: settings, headers: admin });
    expect(again.status).toBe(409);
    expect(again.body.error).toContain("'first'");
    // The same URL written differently is the same target.
    const differently = await call('PUT', '/subscriptions/second', {
      body: { ...settings, target: { url: sink.url('/same').replace('http://', 'HTTP://') } },
      headers: admin,
    });
    expect(differently.status).toBe(409);
    // Replacing itself is no conflict.
    expect((await call('PUT', '/subscriptions/first', { body: settings, headers: admin })).status).toBe(200);
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/latest/meta-data/',
      'http://10.0.0.1/hook',
      'ftp://127.0.0.1/hook',
    ]) {
      const refused = await call('PUT', '/subscriptions/elsewhere', {
        body: { ...settings, target: { url } },
        headers: admin,
      });
      expect(refused.status).toBe(400);
      expect(JSON.stringify(refused.body.problems)).toContain('target.url');
    }
    const noDlq = await call('PUT', '/subscriptions/nodlq', {
      body: { ...settings, target: { url: sink.url('/x') }, deadLetterTopic: uniqueTopic('missing') },
      headers: admin,
    });
    expect(noDlq.status).toBe(400);
    expect(JSON.stringify(noDlq.body.problems)).toContain('does not exist');
    const badPattern = await call('PUT', '/subscriptions/badpattern', {
      body: {
        ...settings,
        target: { url: sink.url('/y') },
        events: { topics: [topic], pattern: { value: { n: [{ wildcard: 1 }] } } },
      },
      headers: admin,
    });
    expect(badPattern.status).toBe(400);
    // The state topic holds target secrets: nothing may subscribe to it, nor to Kafka's own topics.
    for (const topics of [[gateway.config.state.topic], ['__consumer_offsets']]) {
      const internal = await call('PUT', '/subscriptions/internal', {
        body: { ...settings, target: { url: sink.url('/internal') }, events: { topics } },
        headers: admin,
      });
      expect(internal.status).toBe(400);
      expect(JSON.stringify(internal.body.problems)).toContain('internal');
    }
    const loop = await call('PUT', '/subscriptions/loop', {
      body: { ...settings, target: { url: sink.url('/loop') }, deadLetterTopic: topic },
      headers: admin,
    });
    expect(loop.status).toBe(400);
    expect(JSON.stringify(loop.body.problems)).toContain('deadLetterTopic');
    const unauthorised = await call('PUT', '/subscriptions/anyone', { body: settings });
    expect(unauthorised.status).toBe(401);
    expect((await call('DELETE', '/subscriptions/first', { headers: admin })).status).toBe(204);
    expect((await call('GET', '/subscriptions/first', { headers: admin })).status).toBe(404);
  });
});

describe('sync subscriptions', () => {
  let key: string;
  let topic: string;

  beforeAll(async () => {
    topic = uniqueTopic('sub-sync');
    await createTopics([topic], 1);
    const answer = await call('PUT', '/api-keys/caller', {
      body: { grants: { topics: [topic] } },
      headers: admin,
    });
    expect(answer.status).toBe(201);
    key = answer.body.secret as string;
  });

  test("a request is written to Kafka first, then answered with the target's status, headers and body", async () => {
    const sink = await target();
    sink.behaviour = (request) => {
      const event = bodyOf(request);
      return {
        status: 201,
        headers: { 'content-type': 'application/json', 'x-quote': 'yes' },
        body: JSON.stringify({ price: 42, for: (event.body as { item: string }).item }),
      };
    };
    await subscribe('quote', {
      type: 'sync',
      events: { topics: [topic] },
      target: { url: sink.url('/quote') },
      sync: { path: '/sync/quote', method: 'POST' },
    });
    const answer = await call('POST', '/sync/quote?currency=EUR', {
      body: { item: 'book' },
      headers: { authorization: `Bearer ${key}` },
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ price: 42, for: 'book' });
    expect(answer.headers.get('x-quote')).toBe('yes');
    expect(sink.received).toHaveLength(1);
    expect(sink.received[0].headers['ce-type']).toBe('http.request');
    const stored = await readPartition(topic, 0);
    expect(stored.records).toHaveLength(1);
    const headers = Object.fromEntries(stored.records[0].headers.map((h) => [h.key, h.value?.toString()]));
    expect(headers.ce_type).toBe('http.request');
    const data = JSON.parse(stored.records[0].value!.toString()) as Record<string, unknown>;
    expect(data).toMatchObject({
      method: 'POST',
      path: '/sync/quote',
      query: { currency: 'EUR' },
      body: { item: 'book' },
    });
    // The caller's credentials are not stored in Kafka.
    expect(stored.records[0].value!.toString()).not.toContain(key);
  });

  test('a second sync subscription on the same route is a 409; unknown paths 404, other methods 405', async () => {
    const sink = await target();
    const conflict = await call('PUT', '/subscriptions/quote-again', {
      body: {
        type: 'sync',
        events: { topics: [topic] },
        target: { url: sink.url('/other') },
        sync: { path: '/sync/quote' },
      },
      headers: admin,
    });
    expect(conflict.status).toBe(409);
    const outside = await call('PUT', '/subscriptions/outside', {
      body: {
        type: 'sync',
        events: { topics: [topic] },
        target: { url: sink.url('/other') },
        sync: { path: '/specs/x' },
      },
      headers: admin,
    });
    expect(outside.status).toBe(400);
    const auth = { authorization: `Bearer ${key}` };
    expect((await call('POST', '/sync/nothing-here', { body: {}, headers: auth })).status).toBe(404);
    const wrongMethod = await call('DELETE', '/sync/quote', { headers: auth });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect((await call('POST', '/sync/quote', { body: {} })).status).toBe(401);
  });

  test('a target that does not answer in time is a 504; one that cannot be reached a 502', async () => {
    const slow = await target();
    slow.behaviour = () => ({ status: 200, delayMs: 3_000 });
    await subscribe('slow', {
      type: 'sync',
      events: { topics: [topic] },
      target: { url: slow.url('/slow'), timeoutMs: 300 },
      sync: { path: '/sync/slow' },
    });
    const auth = { authorization: `Bearer ${key}` };
    const late = await call('POST', '/sync/slow', { body: {}, headers: auth });
    expect(late.status).toBe(504);
    const gone = await target();
    const url = gone.url('/gone');
    await gone.stop();
    await subscribe('gone', {
      type: 'sync',
      events: { topics: [topic] },
      target: { url },
      sync: { path: '/sync/gone' },
    });
    const unreachable = await call('POST', '/sync/gone', { body: {}, headers: auth });
    expect(unreachable.status).toBe(502);
    expect(unreachable.body.error).toContain('cannot be reached');
    expect(unreachable.body.record).toMatchObject({ topic, partition: 0 });
  });

  test('CORS is answered per subscription', async () => {
    const sink = await target();
    await subscribe('browser', {
      type: 'sync',
      events: { topics: [topic] },
      target: { url: sink.url('/browser') },
      sync: { path: '/sync/browser', cors: { origins: ['https://app.example.com'] } },
    });
    const allowed = await call('OPTIONS', '/sync/browser', {
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const refused = await call('OPTIONS', '/sync/browser', {
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(refused.status).toBe(403);
    const answered = await call('POST', '/sync/browser', {
      body: {},
      headers: { authorization: `Bearer ${key}`, origin: 'https://app.example.com' },
    });
    expect(answered.status).toBe(200);
    expect(answered.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  });
});
