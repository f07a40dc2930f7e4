/**
 * What an operator sees of the gateway, end to end against the real broker: the WebSocket tap
 * (records as Kafka holds them, filters, the token, slow subscribers), Prometheus metrics, produce
 * spans and trace context in record headers, the rate-limited log of invalid records, and health.
 *
 * Every topic is unique to the run and described by a spec uploaded over HTTP, so counts are
 * exact and nothing depends on what other test files produced. Ports: bootstrap 27000 (broker N
 * at 27000 + N), HTTP 27090.
 */
import { randomBytes } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Producer } from 'kafkajs';
import { resolveConfig } from '../../src/config/load-config';
import type { TapRecord } from '../../src/http/tap/tap-record';
import { startGateway, type RunningGateway } from '../../src/main';
import { createLogger } from '../../src/observability/logger';
import { CapturedLogs, LEVEL } from './support/gateway-harness';
import { BOOTSTRAP, eventually, kafkaClient, kcat, uniqueTopic } from './support/kafka-harness';
import { Metrics } from './support/prometheus';
import {
  createTopics,
  demoSpec,
  httpCall,
  readPartitionUntil,
  VALIDATION_HEADER,
  type HttpAnswer,
} from './support/validating-gateway';
import { TapClient, TapRefused } from './support/ws-client';
import { isolatedState } from './support/isolated-state';

jest.setTimeout(30_000);

const HOST = '127.0.0.1';
const BOOTSTRAP_PORT = 27000;
const HTTP_PORT = 27090;
const GATEWAY = `${HOST}:${BOOTSTRAP_PORT}`;
const HTTP_ADDRESS = `${HOST}:${HTTP_PORT}`;
const TAP_TOKEN = 'observability-tap-token';
/** Small enough that a subscriber who stops reading is behind after a few records. */
const TAP_MAX_BUFFERED_BYTES = 2048;
const TAP_MAX_DROPPED = 5;
/** The slowest a healthy subscriber may see a record after it was produced. */
const PROMPT_MS = 1_000;

const TRACE_ID = randomBytes(16).toString('hex');
const PARENT_SPAN_ID = randomBytes(8).toString('hex');

const topics = {
  /** Described by the demo contract and mirrored: valid and invalid records for the tap. */
  tap: uniqueTopic('obs-tap'),
  /** Mirrored, no contract: for the topic filter. */
  tapOther: uniqueTopic('obs-tap-other'),
  /** Mirrored, no contract: large records for the slow-subscriber test. */
  stall: uniqueTopic('obs-stall'),
  metrics: uniqueTopic('obs-metrics'),
  undescribed: uniqueTopic('obs-undescribed'),
  trace: uniqueTopic('obs-trace'),
  logs: uniqueTopic('obs-logs'),
  /** Published over HTTP: the HTTP door's spans. */
  httpTrace: uniqueTopic('obs-http-trace'),
};
const DESCRIBED = [topics.tap, topics.metrics, topics.trace, topics.logs];

const VALID = (lumens: number) => JSON.stringify({ lumens, sentAt: '2024-05-01T10:00:00Z' });
const NEGATIVE = '{"lumens":-1}';
const NEGATIVE_ERROR = 'lumens: Must be greater than or equal to 0';

let running: RunningGateway;
const logs = new CapturedLogs();
const spans = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
const openClients: TapClient[] = [];

// ---------------------------------------------------------------------------------------------
// Helpers

function http(method: string, route: string, body?: string): Promise<HttpAnswer> {
  return httpCall(`http://${HTTP_ADDRESS}`, method, route, { body });
}

async function scrape(): Promise<Metrics> {
  const answer = await http('GET', '/metrics');
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
  return Metrics.parse(answer.text);
}

/** Polls /metrics until `check` holds for it. */
async function metricsWhen(
  check: (m: Metrics) => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<Metrics> {
  try {
    return await eventually(
      async () => {
        const metrics = await scrape();
        return check(metrics) ? metrics : undefined;
      },
      timeoutMs,
      50,
    );
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
  }
}

/** Produces `key<TAB>value` lines through the gateway with kcat (librdkafka). */
async function kcatProduce(
  topic: string,
  lines: readonly [key: string, value: string][],
  options: { headers?: Record<string, string>; clientId?: string } = {},
): Promise<void> {
  const args = ['-b', GATEWAY, '-t', topic, '-P', '-K', '\t', '-X', 'linger.ms=5'];
  if (options.clientId !== undefined) args.push('-X', `client.id=${options.clientId}`);
  for (const [key, value] of Object.entries(options.headers ?? {})) args.push('-H', `${key}=${value}`);
  await kcat(args, lines.map(([key, value]) => `${key}\t${value}\n`).join(''));
}

async function tapClient(query: Record<string, string | readonly string[]> = {}): Promise<TapClient> {
  const client = await TapClient.connect(HTTP_ADDRESS, { token: TAP_TOKEN, ...query });
  openClients.push(client);
  return client;
}

const isSentinel = (record: TapRecord) => record.key === 'sentinel';
const notSentinel = (record: TapRecord) => !isSentinel(record);

/** How long after it was produced (its CreateTime) each record reached the subscriber, in ms. */
const delays = (received: { record: TapRecord; receivedAt: number }[]) =>
  received.map((r) => r.receivedAt - Date.parse(r.record.timestamp));

/**
 * The tap consumer starts at the latest offsets, which it looks up only after it joined its group:
 * a record produced in between would never be mirrored. A sentinel that does arrive on every
 * mirrored topic proves the consumer is positioned.
 */
async function waitUntilMirroring(mirrored: readonly string[]): Promise<void> {
  await running.tap!.ready();
  const client = await tapClient();
  const producer = kafkaClient(BOOTSTRAP, 'observability-sentinel').producer();
  await producer.connect();
  try {
    await eventually(
      async () => {
        await producer.sendBatch({
          topicMessages: mirrored.map((topic) => ({ topic, messages: [{ key: 'sentinel', value: '{}' }] })),
        });
        await new Promise((resolve) => setTimeout(resolve, 500));
        const seen = new Set(client.records(isSentinel).map((r) => r.record.topic));
        return mirrored.every((t) => seen.has(t)) ? true : undefined;
      },
      20_000,
      0,
    );
  } finally {
    await producer.disconnect();
    await client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The gateway

beforeAll(async () => {
  await createTopics(Object.values(topics));
  const config = resolveConfig(
    {
      kafka: { bootstrapServers: BOOTSTRAP.split(',').map((s) => s.trim()) },
      listeners: { bindHost: HOST, bootstrapPort: BOOTSTRAP_PORT, brokerPortBase: BOOTSTRAP_PORT },
      http: { host: HOST, port: HTTP_PORT },
      tap: {
        topics: [topics.tap, topics.tapOther, topics.stall],
        token: TAP_TOKEN,
        maxBufferedBytes: TAP_MAX_BUFFERED_BYTES,
        maxDroppedBeforeClose: TAP_MAX_DROPPED,
        groupIdPrefix: 'observability-test-tap-',
      },
      tracing: { enabled: true, injectTraceparent: true },
      ingest: { requireApiKeys: false },
      state: isolatedState(),
      logging: { level: 'info' },
      shutdown: { drainTimeoutMs: 2_000 },
    },
    'observability test gateway',
  );
  running = await startGateway(config, createLogger(config.logging.level, logs), {
    tracer: provider.getTracer('observability-test'),
  });
  for (const topic of DESCRIBED) {
    const answer = await http('PUT', `/specs/${topic}`, demoSpec('3.0', topic));
    expect(answer.status).toBe(201);
  }
  await waitUntilMirroring([topics.tap, topics.tapOther, topics.stall]);
}, 60_000);

afterEach(async () => {
  await Promise.all(openClients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await running?.stop();
  await provider.shutdown();
});

// ---------------------------------------------------------------------------------------------
// Health

describe('health', () => {
  it('answers /healthz and reports ready with its checks on /readyz', async () => {
    const health = await http('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });

    const ready = await http('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: {
        brokers: expect.stringMatching(/^answered \d+ ms ago; [1-9]\d* known$/),
        listening: 'true',
        specs: `${DESCRIBED.length} loaded`,
        state: expect.stringMatching(/^following eg-state-\S+ at offset \d+$/),
        tap: 'mirroring 3 topic(s)',
      },
    });
  });
});

// ---------------------------------------------------------------------------------------------
// WebSocket tap

describe('WebSocket tap', () => {
  it('streams records produced through the gateway within a second, invalid ones with their parsed verdict', async () => {
    const everything = await tapClient();
    const invalidOnly = await tapClient({ invalid: 'true' });
    const otherOnly = await tapClient({ topic: topics.tapOther });

    await kcatProduce(topics.tap, [
      ['valid-1', VALID(100)],
      ['negative', NEGATIVE],
      ['valid-2', VALID(7)],
    ]);
    await kcatProduce(topics.tapOther, [['other', 'not json, and nobody checks']]);

    const seen = await everything.waitForRecords(4, notSentinel);
    expect(seen.map((r) => [r.record.topic, r.record.key])).toEqual(
      expect.arrayContaining([
        [topics.tap, 'valid-1'],
        [topics.tap, 'negative'],
        [topics.tap, 'valid-2'],
        [topics.tapOther, 'other'],
      ]),
    );
    expect(Math.max(...delays(seen))).toBeLessThan(PROMPT_MS);

    const ofTap = seen.filter((r) => r.record.topic === topics.tap).map((r) => r.record);
    expect(ofTap.map((r) => r.key)).toEqual(['valid-1', 'negative', 'valid-2']);
    const first = Number(ofTap[0].offset);
    expect(ofTap.map((r) => Number(r.offset))).toEqual([first, first + 1, first + 2]);
    const invalid = ofTap[1];
    expect(invalid).toMatchObject({ topic: topics.tap, partition: 0, value: NEGATIVE });
    expect(invalid.validationError).toEqual({ ts: expect.any(String), errors: [NEGATIVE_ERROR] });
    expect(JSON.parse(invalid.headers[VALIDATION_HEADER]!)).toEqual(invalid.validationError);
    expect(ofTap[0].validationError).toBeUndefined();
    expect(ofTap[0].value).toBe(VALID(100));
    expect(Date.parse(ofTap[0].timestamp)).not.toBeNaN();

    const other = seen.find((r) => r.record.topic === topics.tapOther)!.record;
    expect(other.value).toBe('not json, and nobody checks');
    expect(other.validationError).toBeUndefined();

    // The filtered clients had every chance to receive the rest by now.
    await invalidOnly.waitForRecords(1, notSentinel);
    await otherOnly.waitForRecords(1, notSentinel);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(invalidOnly.records(notSentinel).map((r) => [r.record.topic, r.record.key])).toEqual([
      [topics.tap, 'negative'],
    ]);
    expect(otherOnly.records(notSentinel).map((r) => [r.record.topic, r.record.key])).toEqual([
      [topics.tapOther, 'other'],
    ]);
  });

  it('refuses a client without the token and accepts it as a query parameter or bearer token', async () => {
    const queries: Record<string, string>[] = [{}, { token: 'not-the-observability-token' }];
    for (const query of queries) {
      const refused = await TapClient.connect(HTTP_ADDRESS, query).then(
        (client) => {
          openClients.push(client);
          return null;
        },
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(TapRefused);
      expect((refused as TapRefused).status).toBe(401);
    }
    const bearer = await TapClient.connect(HTTP_ADDRESS, {}, { authorization: `Bearer ${TAP_TOKEN}` });
    openClients.push(bearer);
    const byQuery = await tapClient();
    expect(bearer.isOpen && byQuery.isOpen).toBe(true);
    await metricsWhen((m) => m.get('event_gateway_tap_clients') === 2, 'two tap clients counted');
  });

  it('drops records for a stalled client and closes it, without delaying a healthy one', async () => {
    await metricsWhen((m) => m.get('event_gateway_tap_clients') === 0, 'no tap client left over');
    const droppedBefore = (await scrape()).get('event_gateway_tap_dropped_total') ?? 0;
    const healthy = await tapClient({ topic: topics.stall });
    const stalled = await tapClient({ topic: topics.stall });
    await metricsWhen((m) => m.get('event_gateway_tap_clients') === 2, 'both tap clients counted');
    stalled.pause();
    const closeMark = logs.mark();

    const producer: Producer = kafkaClient(GATEWAY, 'observability-stall').producer();
    await producer.connect();
    const value = 'x'.repeat(16 * 1024);
    let produced = 0;
    try {
      // The kernel buffers of the stalled connection take an unknown amount before the gateway's
      // own buffer starts to grow, so keep producing until the gateway gives up on the client.
      for (let batch = 0; batch < 60; batch++) {
        await producer.send({
          topic: topics.stall,
          messages: Array.from({ length: 10 }, () => ({ key: `stall-${produced++}`, value })),
        });
        const metrics = await scrape();
        if (metrics.get('event_gateway_tap_clients') === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await producer.disconnect();
    }

    const closedLine = await logs.waitFor(
      (l) => l.msg === 'tap: closing a client that stays behind',
      closeMark,
    );
    expect(closedLine.dropped).toBe(TAP_MAX_DROPPED + 1);
    const metrics = await metricsWhen(
      (m) => m.get('event_gateway_tap_clients') === 1,
      'the stalled client is no longer counted',
    );
    expect(metrics.get('event_gateway_tap_dropped_total')! - droppedBefore).toBeGreaterThanOrEqual(
      TAP_MAX_DROPPED + 1,
    );

    const isStall = (r: TapRecord) => r.topic === topics.stall && r.key !== 'sentinel';
    const got = await healthy.waitForRecords(produced, isStall);
    expect(got.map((r) => r.record.key)).toEqual(Array.from({ length: produced }, (_, i) => `stall-${i}`));
    expect(Math.max(...delays(got))).toBeLessThan(PROMPT_MS);

    // Only now reading again, the stalled client finds its connection gone and records missing.
    stalled.resume();
    expect(await stalled.closesWithin(5_000)).toBe(true);
    expect(stalled.records(isStall).length).toBeLessThan(produced);

    await healthy.close();
    await metricsWhen((m) => m.get('event_gateway_tap_clients') === 0, 'tap clients back to 0');
  });
});

// ---------------------------------------------------------------------------------------------
// Metrics

describe('metrics', () => {
  it('counts records by topic and outcome exactly, requests, latency, bytes and connections', async () => {
    await kcatProduce(topics.metrics, [
      ['v1', VALID(1)],
      ['i1', NEGATIVE],
      ['v2', VALID(2)],
      ['i2', '{"lumens":true}'],
      ['v3', VALID(3)],
    ]);
    await kcatProduce(topics.undescribed, [
      ['u1', 'a'],
      ['u2', 'b'],
      ['u3', 'c'],
      ['u4', 'd'],
    ]);

    const metrics = await scrape();
    const records = (topic: string) =>
      Object.fromEntries(
        metrics.all('event_gateway_records_total', { topic }).map((s) => [s.labels.outcome, s.value]),
      );
    expect(records(topics.metrics)).toEqual({ valid: 3, invalid_tagged: 2 });
    expect(records(topics.undescribed)).toEqual({ unvalidated: 4 });

    expect(metrics.get('event_gateway_requests_total', { api_key: 'Produce' })).toBeGreaterThan(0);
    expect(metrics.get('event_gateway_requests_total', { api_key: 'Metadata' })).toBeGreaterThan(0);
    const produceLatency = metrics.get('event_gateway_request_duration_seconds_count', {
      api_key: 'Produce',
    });
    expect(produceLatency).toBeGreaterThan(0);
    expect(metrics.get('event_gateway_request_duration_seconds_sum', { api_key: 'Produce' })).toBeGreaterThan(
      0,
    );
    expect(
      metrics.get('event_gateway_request_duration_seconds_bucket', { api_key: 'Produce', le: '+Inf' }),
    ).toBe(produceLatency);
    expect(metrics.get('event_gateway_bytes_total', { direction: 'client_to_broker' })).toBeGreaterThan(0);
    expect(metrics.get('event_gateway_bytes_total', { direction: 'broker_to_client' })).toBeGreaterThan(0);
    expect(metrics.get('event_gateway_specs_loaded')).toBe(DESCRIBED.length);

    const producer = kafkaClient(GATEWAY, 'observability-connections').producer();
    await producer.connect();
    try {
      await producer.send({ topic: topics.undescribed, messages: [{ value: 'e' }] });
      const open = await scrape();
      expect(open.get('event_gateway_connections', { side: 'client' })).toBeGreaterThan(0);
      expect(open.get('event_gateway_connections', { side: 'broker' })).toBeGreaterThan(0);
    } finally {
      await producer.disconnect();
    }
    await metricsWhen(
      (m) =>
        m.get('event_gateway_connections', { side: 'client' }) === 0 &&
        m.get('event_gateway_connections', { side: 'broker' }) === 0,
      'connections back to 0 once every client disconnected',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Tracing

describe('tracing', () => {
  const forTopic = (topic: string) =>
    spans.getFinishedSpans().filter((s) => s.attributes['messaging.destination.name'] === topic);

  it('traces records published over HTTP like produced ones, continuing their traceparent', async () => {
    const traceparent = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;
    const cluster = (await (await fetch(`http://${HOST}:${HTTP_PORT}/v3/clusters`)).json()) as {
      data: { cluster_id: string }[];
    };
    const answer = await fetch(
      `http://${HOST}:${HTTP_PORT}/v3/clusters/${cluster.data[0].cluster_id}/topics/${topics.httpTrace}/records`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          headers: [{ name: 'traceparent', value: Buffer.from(traceparent).toString('base64') }],
          value: { data: { n: 1 } },
        }),
      },
    );
    expect(answer.status).toBe(200);
    const span = await eventually(async () => forTopic(topics.httpTrace)[0], 5_000, 50);
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
    expect(span.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.client.id': 'anonymous',
      'messaging.batch.message_count': 1,
      'event_gateway.outcome': 'forwarded',
    });
  });

  it('continues the trace of a record that carries a traceparent', async () => {
    const traceparent = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`;
    await kcatProduce(topics.trace, [['traced', VALID(5)]], { headers: { traceparent } });

    const span = await eventually(async () => forTopic(topics.trace)[0], 5_000, 50);
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID);
    expect(span.name).toBe(`send ${topics.trace}`);
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(span.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': topics.trace,
      'messaging.batch.message_count': 1,
    });

    // The producer's own trace context reaches the broker untouched, not replaced by the gateway's.
    const [stored] = (await readPartitionUntil(topics.trace, 0, 1)).records;
    const headers = stored.headers.filter((h) => h.key === 'traceparent');
    expect(headers.map((h) => h.value?.toString())).toEqual([traceparent]);
  });

  it('gives a record without trace context a traceparent naming the gateway span', async () => {
    await kcatProduce(topics.trace, [['untraced', VALID(6)]]);

    const stored = (await readPartitionUntil(topics.trace, 0, 2)).records[1];
    expect(stored.key?.toString()).toBe('untraced');
    const header = stored.headers.find((h) => h.key === 'traceparent')?.value?.toString();
    const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(header ?? '');
    expect(match).not.toBeNull();
    const [, traceId, spanId] = match!;

    const span = await eventually(
      async () => forTopic(topics.trace).find((s) => s.spanContext().traceId === traceId),
      5_000,
      50,
    );
    expect(traceId).not.toBe(TRACE_ID);
    expect(span.spanContext().spanId).toBe(spanId);
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': topics.trace,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Logs

describe('logs', () => {
  it('warns once per client and topic about invalid records, without their contents', async () => {
    const secret = `do-not-log-${randomBytes(6).toString('hex')}`;
    const invalid = JSON.stringify({ lumens: -5, note: secret });
    const mark = logs.mark();
    const clientId = 'observability-logs';
    const isInvalidLine = (l: { msg: string; topic?: unknown }) =>
      l.msg === 'invalid record forwarded with a validation error header' && l.topic === topics.logs;

    await kcatProduce(topics.logs, [['first', invalid]], { clientId });
    const line = await logs.waitFor(isInvalidLine, mark);
    expect(line).toMatchObject({ level: LEVEL.warn, clientId, topic: topics.logs, partition: 0 });
    expect(line.errors).toEqual([NEGATIVE_ERROR]);

    // Two more requests within the interval: counted, but not logged.
    await kcatProduce(topics.logs, [['second', invalid]], { clientId });
    await kcatProduce(topics.logs, [['third', invalid]], { clientId });
    await metricsWhen(
      (m) =>
        m.get('event_gateway_records_total', {
          topic: topics.logs,
          outcome: 'invalid_tagged',
          door: 'kafka',
        }) === 3,
      'three invalid records counted',
    );
    const lines = logs.lines.slice(mark);
    expect(lines.filter(isInvalidLine)).toHaveLength(1);
    expect(lines.filter((l) => JSON.stringify(l).includes(secret))).toEqual([]);
  });
});
