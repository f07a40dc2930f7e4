/**
 * Kafka-native throttling end to end, against the real broker: producers over a quota still get
 * their records written, the responses tell them how long to back off (throttle_time_ms) and real
 * clients slow down by themselves; hard limits refuse with THROTTLING_QUOTA_EXCEEDED; per-address
 * connection limits close the connection over the limit. Quotas are per client id, so the tests
 * of this file share one gateway without sharing buckets.
 *
 * Ports: bootstrap 29500, broker 1 at 29501, HTTP 29590.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { resolveConfig } from '../../src/config/load-config';
import { startGateway } from '../../src/main';
import { createLogger } from '../../src/observability/logger';
import { ErrorCode } from '../../src/protocol/error-codes';
import { decodeProduceResponse } from '../../src/protocol/messages';
import { CapturedLogs, closesWithin, RawKafkaConnection } from './support/gateway-harness';
import { BOOTSTRAP, eventually, kcat, uniqueTopic } from './support/kafka-harness';
import { API_PRODUCE, API_VERSIONS, produceBody } from './support/requests';
import {
  createTopics,
  httpCall,
  metricSample,
  readPartition,
  recordBatch,
  type HttpAnswer,
} from './support/validating-gateway';
import { isolatedState } from './support/isolated-state';

jest.setTimeout(60_000);

const HOST = '127.0.0.1';
const BOOTSTRAP_PORT = 29500;
const HTTP_PORT = 29590;
const HTTP = `http://${HOST}:${HTTP_PORT}`;
const GATEWAY = `${HOST}:${BOOTSTRAP_PORT}`;
/** The single test broker is node 1. */
const GATEWAY_BROKER = `${HOST}:${BOOTSTRAP_PORT + 1}`;

const KB = 1024;

const THROTTLE = {
  quotas: [
    { name: 'slow-producers', kind: 'clientId', match: ['throttle-slow'], bytesPerSecond: 100 * KB },
    { name: 'raw-producers', kind: 'clientId', match: ['/^throttle-raw-/'], bytesPerSecond: 50 * KB },
    {
      name: 'hard-producers',
      kind: 'clientId',
      match: ['/^throttle-hard-/'],
      bytesPerSecond: 20 * KB,
      hardLimit: true,
    },
  ],
};

let logs: CapturedLogs;
let stopGateway: () => Promise<void>;

beforeAll(async () => {
  const config = resolveConfig(
    {
      kafka: { bootstrapServers: BOOTSTRAP.split(',').map((s) => s.trim()) },
      listeners: { bindHost: HOST, bootstrapPort: BOOTSTRAP_PORT, brokerPortBase: BOOTSTRAP_PORT },
      http: { host: HOST, port: HTTP_PORT },
      throttle: THROTTLE,
      state: isolatedState(),
      logging: { level: 'info' },
      shutdown: { drainTimeoutMs: 2_000 },
    },
    'throttle test gateway',
  );
  logs = new CapturedLogs();
  const running = await startGateway(config, createLogger(config.logging.level, logs));
  stopGateway = () => running.stop();
}, 30_000);

afterAll(async () => {
  await stopGateway?.();
});

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const answer = await httpCall(HTTP, 'GET', '/metrics');
  return metricSample(answer.text, name, labels);
}

async function highWatermark(topic: string): Promise<bigint> {
  return (await readPartition(topic, 0)).highWatermark;
}

interface ProducerRun {
  elapsedMs: number;
  /** Throttle times kafkajs reported waiting out ("Client side throttling in effect for N ms"). */
  clientThrottles: number[];
  /** Time Produce requests spent queued in kafkajs before going out (where client throttling waits). */
  queuedMs: number;
}

/** A kafkajs producer that keeps what kafkajs says about throttling. */
async function throttleAwareProducer(
  clientId: string,
): Promise<{ producer: Producer; run: Omit<ProducerRun, 'elapsedMs'> }> {
  const run = { clientThrottles: [] as number[], queuedMs: 0 };
  const kafka = new Kafka({
    clientId,
    brokers: [GATEWAY],
    // kafkajs reports the throttle times it honours at debug level only.
    logLevel: logLevel.DEBUG,
    logCreator:
      () =>
      ({ log }) => {
        const match = /^Client side throttling in effect for (\d+)ms/.exec(String(log.message));
        if (match !== null) run.clientThrottles.push(Number(match[1]));
      },
    retry: { retries: 2, initialRetryTime: 200 },
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  producer.on(producer.events.REQUEST, ({ payload }) => {
    if (payload.apiName === 'Produce') run.queuedMs += payload.pendingDuration;
  });
  await producer.connect();
  return { producer, run };
}

/** Sends 1 MiB to `topic` as 100 records of 10 KiB, ten per request, acks=1, one request at a time. */
async function produceOneMebibyte(clientId: string, topic: string): Promise<ProducerRun> {
  const { producer, run } = await throttleAwareProducer(clientId);
  const value = Buffer.alloc(10 * KB, 'x');
  try {
    const started = performance.now();
    for (let batch = 0; batch < 10; batch++) {
      await producer.send({
        topic,
        acks: 1,
        messages: Array.from({ length: 10 }, (_, i) => ({ key: `${batch}-${i}`, value })),
      });
    }
    return { ...run, elapsedMs: performance.now() - started };
  } finally {
    await producer.disconnect();
  }
}

describe('soft quotas: over-quota producers are slowed, not refused', () => {
  test('kafkajs at 100 KiB/s takes about ten seconds for 1 MiB; a producer beside it is not slowed', async () => {
    const slowTopic = uniqueTopic('throttle-slow');
    const fastTopic = uniqueTopic('throttle-fast');
    await createTopics([slowTopic, fastTopic]);

    const [slow, fast] = await Promise.all([
      produceOneMebibyte('throttle-slow', slowTopic),
      produceOneMebibyte('throttle-unlimited', fastTopic),
    ]);

    // 1 MiB less the 100 KiB burst, at 100 KiB/s: about 9 s.
    expect(slow.elapsedMs).toBeGreaterThan(6_000);
    expect(slow.elapsedMs).toBeLessThan(20_000);
    // kafkajs saw throttle_time_ms in the responses and held its next requests back itself.
    expect(slow.clientThrottles.length).toBeGreaterThanOrEqual(8);
    expect(slow.clientThrottles.every((ms) => ms > 0 && ms <= 2_000)).toBe(true);
    expect(slow.queuedMs).toBeGreaterThan(5_000);

    expect(fast.elapsedMs).toBeLessThan(3_000);
    expect(fast.clientThrottles).toEqual([]);

    // Every record was written.
    expect(await highWatermark(slowTopic)).toBe(100n);
    expect(await highWatermark(fastTopic)).toBe(100n);

    const delayed = await metric('event_gateway_throttled_requests_total', {
      quota: 'slow-producers',
      action: 'delayed',
    });
    expect(delayed).toBeGreaterThanOrEqual(8);
    const throttledSeconds = await metric('event_gateway_throttle_time_seconds_sum', {
      quota: 'slow-producers',
    });
    expect(throttledSeconds).toBeGreaterThan(6);
    expect(throttledSeconds).toBeLessThan(15);
    console.info(
      `throttled kafkajs: 1 MiB in ${Math.round(slow.elapsedMs)} ms, ${slow.clientThrottles.length} throttled responses ` +
        `(${slow.clientThrottles.join(', ')} ms), ${Math.round(slow.queuedMs)} ms queued in kafkajs, ` +
        `gateway throttle total ${throttledSeconds.toFixed(2)} s; unthrottled kafkajs: 1 MiB in ${Math.round(fast.elapsedMs)} ms`,
    );
  });

  test('kcat (librdkafka does not wait by itself) is slowed by the held connection', async () => {
    const topic = uniqueTopic('throttle-raw-kcat');
    await createTopics([topic]);
    const line = 'k'.repeat(10 * KB);
    const started = performance.now();
    // 300 KiB in requests of 50 KiB against 50 KiB/s with a 50 KiB burst: about five seconds.
    await kcat(
      [
        '-b',
        GATEWAY,
        '-t',
        topic,
        '-p',
        '0',
        '-P',
        '-X',
        'client.id=throttle-raw-kcat',
        '-X',
        'batch.num.messages=5',
        '-X',
        'linger.ms=5',
      ],
      `${line}\n`.repeat(30),
    );
    const elapsedMs = performance.now() - started;
    expect(elapsedMs).toBeGreaterThan(3_500);
    expect(elapsedMs).toBeLessThan(15_000);
    expect(await highWatermark(topic)).toBe(30n);
    console.info(`throttled kcat: 300 KiB at 50 KiB/s in ${Math.round(elapsedMs)} ms`);
  });

  /** One produce request of `size` bytes of value, on a connection of its own client id. */
  function produceRequest(version: number, topic: string, size: number) {
    const records = recordBatch([{ value: 'x'.repeat(size) }]);
    return produceBody(version, [{ topic, partitions: [{ index: 0, records }] }], 1);
  }

  test('Produce v9: the response comes at once with throttle_time_ms, the next request waits it out', async () => {
    const topic = uniqueTopic('throttle-raw-v9');
    await createTopics([topic]);
    const connection = await RawKafkaConnection.connect(GATEWAY_BROKER, 'throttle-raw-v9');
    try {
      const sent = performance.now();
      // 100 KiB against 50 KiB/s with a 50 KiB burst: about one second of debt.
      const first = decodeProduceResponse(
        (await connection.request(API_PRODUCE, 9, produceRequest(9, topic, 100 * KB)))!,
        9,
      );
      const answeredAfter = performance.now() - sent;
      expect(first.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.None);
      expect(first.throttleTimeMs).toBeGreaterThanOrEqual(950);
      expect(first.throttleTimeMs).toBeLessThanOrEqual(1_100);
      expect(answeredAfter).toBeLessThan(first.throttleTimeMs / 2);

      // A client ignoring the field is held back all the same: the gateway reads its next
      // request only once the throttle time has passed.
      const second = decodeProduceResponse(
        (await connection.request(API_PRODUCE, 9, produceRequest(9, topic, 10)))!,
        9,
      );
      expect(second.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.None);
      expect(performance.now() - sent).toBeGreaterThan(first.throttleTimeMs - 100);
    } finally {
      await connection.close();
    }
    expect(await highWatermark(topic)).toBe(2n);
  });

  test('Produce v5 (before clients throttled themselves): the response is held for the throttle time', async () => {
    const topic = uniqueTopic('throttle-raw-v5');
    await createTopics([topic]);
    const connection = await RawKafkaConnection.connect(GATEWAY_BROKER, 'throttle-raw-v5');
    try {
      const sent = performance.now();
      const response = decodeProduceResponse(
        (await connection.request(API_PRODUCE, 5, produceRequest(5, topic, 100 * KB)))!,
        5,
      );
      const answeredAfter = performance.now() - sent;
      expect(response.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.None);
      expect(response.throttleTimeMs).toBeGreaterThanOrEqual(950);
      expect(answeredAfter).toBeGreaterThan(response.throttleTimeMs - 100);
      expect(answeredAfter).toBeLessThan(response.throttleTimeMs + 2_000);
    } finally {
      await connection.close();
    }
    expect(await highWatermark(topic)).toBe(1n);
  });
});

describe('hard limits: requests over the quota are refused with THROTTLING_QUOTA_EXCEEDED', () => {
  test('kafkajs: the request that finds the quota exhausted fails with error 89; nothing of it is written', async () => {
    const topic = uniqueTopic('throttle-hard-kafkajs');
    await createTopics([topic]);
    const { producer } = await throttleAwareProducer('throttle-hard-kafkajs');
    const value = Buffer.alloc(10 * KB, 'y');
    let error: unknown;
    try {
      // 30 KiB against 20 KiB/s: let through, and the quota is in debt for half a second.
      await producer.send({ topic, acks: 1, messages: [{ value }, { value }, { value }] });
      await producer.send({ topic, acks: 1, messages: [{ value }] });
    } catch (caught) {
      error = caught;
    } finally {
      await producer.disconnect();
    }
    // kafkajs 2.2 predates error 89 and reports it by number.
    expect(error).toBeDefined();
    expect(String((error as Error).message)).toContain('Unknown error code 89');
    expect(await highWatermark(topic)).toBe(3n);
    const refused = await logs.waitFor(
      (line) =>
        line.msg === 'produce request refused: hard quota exhausted' &&
        line.entity === 'throttle-hard-kafkajs',
    );
    expect(refused).toMatchObject({ quota: 'hard-producers', kind: 'clientId' });
    expect(
      await metric('event_gateway_throttled_requests_total', { quota: 'hard-producers', action: 'rejected' }),
    ).toBeGreaterThanOrEqual(1);
  });

  test('kcat: the delivery report names the throttling quota', async () => {
    const topic = uniqueTopic('throttle-hard-kcat');
    await createTopics([topic]);
    const line = 'k'.repeat(30 * KB);
    const result = await kcat(
      [
        '-b',
        GATEWAY,
        '-t',
        topic,
        '-p',
        '0',
        '-P',
        '-X',
        'client.id=throttle-hard-kcat',
        // One record per request, one request at a time, no retries: the second request arrives
        // while the first keeps the quota in debt, and its failure is reported as it is.
        '-X',
        'batch.num.messages=1',
        '-X',
        'max.in.flight=1',
        '-X',
        'retries=0',
        '-X',
        'linger.ms=0',
      ],
      `${line}\n${line}\n`,
    ).catch((error: Error) => ({ code: 1, stdout: '', stderr: error.message }));
    expect(result.stderr).toMatch(/Delivery failed for message: Broker: Throttling quota has been exceeded/);
    expect(await highWatermark(topic)).toBe(1n);
  });
});

describe('connection limits and run-time settings', () => {
  const put = (body: unknown): Promise<HttpAnswer> =>
    httpCall(HTTP, 'PUT', '/throttle', { body: JSON.stringify(body) });

  afterAll(async () => {
    await put(THROTTLE);
  });

  test('the connection over the per-address limit is closed at once; the limit is set at run time', async () => {
    // Connections of earlier tests may still be closing.
    await eventually(async () => {
      const state = (await httpCall(HTTP, 'GET', '/throttle')).json<{ connections: number }>();
      return state.connections === 0 ? true : undefined;
    }, 10_000);

    const answer = await put({ ...THROTTLE, maxConnectionsPerAddress: 2 });
    expect(answer.status).toBe(200);
    expect(answer.json()).toMatchObject({ throttle: { maxConnectionsPerAddress: 2 } });

    const first = await RawKafkaConnection.connect(GATEWAY, 'throttle-conn-1');
    const second = await RawKafkaConnection.connect(GATEWAY_BROKER, 'throttle-conn-2');
    await first.request(API_VERSIONS, 0, () => undefined);
    await second.request(API_VERSIONS, 0, () => undefined);

    const mark = logs.mark();
    const third = await RawKafkaConnection.connect(GATEWAY, 'throttle-conn-3');
    expect(await closesWithin(third.socket, 2_000)).toBe(true);
    expect(third.isOpen).toBe(false);
    const refused = await logs.waitFor(
      (line) => line.msg === 'connection refused: too many open connections from this address',
      mark,
    );
    expect(refused).toMatchObject({ client: HOST, limit: 2 });
    const exposition = (await httpCall(HTTP, 'GET', '/metrics')).text;
    expect(exposition).toMatch(/^event_gateway_connections_refused_total [1-9]/m);

    // The first two are untouched, and a closed one frees its place.
    await first.request(API_VERSIONS, 0, () => undefined);
    await first.close();
    await eventually(async () => {
      const state = (await httpCall(HTTP, 'GET', '/throttle')).json<{ connections: number }>();
      return state.connections === 1 ? true : undefined;
    }, 5_000);
    const fourth = await RawKafkaConnection.connect(GATEWAY, 'throttle-conn-4');
    await fourth.request(API_VERSIONS, 0, () => undefined);
    await fourth.close();
    await second.close();
  });

  test('unsound settings are refused with their problems, and the ones in force stay', async () => {
    const answer = await put({
      quotas: [
        { name: 'no-rate', kind: 'clientId' },
        { name: 'bad-kind', kind: 'user', bytesPerSecond: 1 },
      ],
    });
    expect(answer.status).toBe(400);
    expect(answer.json()).toEqual({
      error: 'invalid throttle settings',
      status: 400,
      problems: ['throttle.quotas.1.kind: must be one of clientId, topic, clientAddress'],
    });
    const semantic = await put({ quotas: [{ name: 'no-rate', kind: 'clientId' }] });
    expect(semantic.status).toBe(400);
    expect(semantic.json()).toMatchObject({
      problems: ['throttle.quotas.0: needs bytesPerSecond, recordsPerSecond or both'],
    });
    const state = (await httpCall(HTTP, 'GET', '/throttle')).json<{
      throttle: { quotas: { name: string }[] };
    }>();
    expect(state.throttle.quotas.map((q) => q.name)).toEqual([
      'slow-producers',
      'raw-producers',
      'hard-producers',
    ]);
  });
});
