/**
 * The built-in filter end to end, against the real broker: `reject` rules refuse requests with
 * POLICY_VIOLATION as kcat, kafkajs, the Java producer and a raw Produce v9 see it; `drop` rules
 * forward only the records that do not match (read back straight from the broker), answer
 * partitions left empty themselves, and fall back for idempotent producers; /patterns/test and
 * the tap's ?pattern use the same matcher.
 *
 * Ports: gateway 28000 (broker N at 28000 + N), HTTP 28090.
 */
import { CompressionTypes, KafkaJSProtocolError, type Producer } from 'kafkajs';
import { resolveConfig } from '../../src/config/load-config';
import { startGateway, type RunningGateway } from '../../src/main';
import { createLogger } from '../../src/observability/logger';
import { ErrorCode } from '../../src/protocol/error-codes';
import type { TapRecord } from '../../src/http/tap/tap-record';
import { CapturedLogs } from './support/gateway-harness';
import { BOOTSTRAP, eventually, kafkaClient, kafkaTool, run, uniqueTopic } from './support/kafka-harness';
import {
  createTopics,
  httpCall,
  produceRaw,
  readPartition,
  recordBatch,
  registerKafkaJsCodecs,
} from './support/validating-gateway';
import { TapClient, TapRefused } from './support/ws-client';
import { isolatedState } from './support/isolated-state';

registerKafkaJsCodecs();

const HOST = '127.0.0.1';
const BOOTSTRAP_PORT = 28000;
const HTTP_PORT = 28090;
const GATEWAY = `${HOST}:${BOOTSTRAP_PORT}`;
const HTTP_BASE = `http://${HOST}:${HTTP_PORT}`;
const PRODUCE_WITH_ERROR_MESSAGES = 9;

const TAP_TOPIC = uniqueTopic('flt-tap');

let running: RunningGateway;
const openClients: TapClient[] = [];

const middlewares = [
  {
    filter: {
      rules: [
        {
          name: 'no-forbidden-kinds',
          topics: ['/^flt-reject-/'],
          pattern: { value: { kind: ['forbidden'] } },
          action: 'reject',
        },
        {
          name: 'no-test-events',
          topics: ['/^flt-drop-/'],
          pattern: { $or: [{ value: { env: ['test'] } }, { headers: { synthetic: ['true'] } }] },
          action: 'drop',
        },
      ],
    },
  },
  {
    filter: {
      rules: [
        {
          name: 'no-test-events-lenient',
          topics: ['/^flt-lenient-/'],
          pattern: { value: { env: ['test'] } },
          action: 'drop',
        },
      ],
      dropFallback: 'pass',
    },
  },
];

beforeAll(async () => {
  await createTopics([TAP_TOPIC]);
  const config = resolveConfig(
    {
      kafka: { bootstrapServers: BOOTSTRAP.split(',').map((s) => s.trim()) },
      listeners: { bindHost: HOST, bootstrapPort: BOOTSTRAP_PORT, brokerPortBase: BOOTSTRAP_PORT },
      http: { host: HOST, port: HTTP_PORT },
      pipeline: { middlewares },
      tap: { topics: [TAP_TOPIC], groupIdPrefix: 'filter-test-tap-', topicRefreshMs: 1_000 },
      state: isolatedState(),
      logging: { level: 'info' },
      shutdown: { drainTimeoutMs: 2_000 },
    },
    'filter test gateway',
  );
  running = await startGateway(config, createLogger(config.logging.level, new CapturedLogs()));
}, 30_000);

afterEach(async () => {
  await Promise.all(openClients.splice(0).map((client) => client.close()));
});

afterAll(async () => {
  await running?.stop();
});

const env = (name: string, i: number) => JSON.stringify({ env: name, i });
const text = (bytes: Buffer | null) => (bytes === null ? null : bytes.toString('utf8'));

async function connectedProducer(options: Parameters<ReturnType<typeof kafkaClient>['producer']>[0] = {}) {
  const producer = kafkaClient(GATEWAY, 'filter-test').producer({
    allowAutoTopicCreation: false,
    ...options,
  });
  await producer.connect();
  return producer;
}

async function withProducer<T>(
  options: Parameters<typeof connectedProducer>[0],
  use: (producer: Producer) => Promise<T>,
): Promise<T> {
  const producer = await connectedProducer(options);
  try {
    return await use(producer);
  } finally {
    await producer.disconnect();
  }
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

// ---------------------------------------------------------------------------------------------

describe('reject', () => {
  test('kcat reports the delivery failure as a policy violation; nothing is written', async () => {
    const topic = uniqueTopic('flt-reject-kcat');
    await createTopics([topic]);
    const result = await run('kcat', ['-b', GATEWAY, '-t', topic, '-p', '0', '-P', '-X', 'linger.ms=100'], {
      input: `${JSON.stringify({ kind: 'fine' })}\n${JSON.stringify({ kind: 'forbidden' })}\n`,
      allowFailure: true,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Delivery failed for message: Broker: Policy violation/);
    expect((await readPartition(topic)).highWatermark).toBe(0n);
  });

  test('kafkajs surfaces POLICY_VIOLATION (its Produce v7 carries no message, so not the rule name)', async () => {
    const topic = uniqueTopic('flt-reject-kafkajs');
    await createTopics([topic]);
    const error = await withProducer({}, (producer) =>
      failure(
        producer.send({
          topic,
          acks: -1,
          messages: [
            { value: JSON.stringify({ kind: 'forbidden' }) },
            { value: JSON.stringify({ kind: 'ok' }) },
          ],
        }),
      ),
    );
    expect(error).toBeInstanceOf(KafkaJSProtocolError);
    expect(error).toMatchObject({
      type: 'POLICY_VIOLATION',
      code: ErrorCode.PolicyViolation,
      retriable: false,
    });
    expect((error as Error).message).not.toContain('no-forbidden-kinds');
    expect((await readPartition(topic)).highWatermark).toBe(0n);
  });

  test('Produce v9 carries the message naming the rule, per record', async () => {
    const topic = uniqueTopic('flt-reject-raw');
    await createTopics([topic]);
    const records = recordBatch([
      { value: JSON.stringify({ kind: 'ok' }) },
      { value: JSON.stringify({ kind: 'forbidden' }) },
    ]);
    const response = await produceRaw(GATEWAY, PRODUCE_WITH_ERROR_MESSAGES, [
      { topic, partitions: [{ index: 0, records }] },
    ]);
    const [partition] = response.responses[0].partitionResponses;
    expect(partition.errorCode).toBe(ErrorCode.PolicyViolation);
    expect(partition.errorMessage).toBe(
      `record 1 of ${topic}-0: refused by filter rule "no-forbidden-kinds"`,
    );
    expect(partition.recordErrors).toEqual([
      expect.objectContaining({
        batchIndex: 1,
        batchIndexErrorMessage: 'refused by filter rule "no-forbidden-kinds"',
      }),
    ]);
  });

  test('the Java producer (idempotent by default) prints PolicyViolationException naming the rule', async () => {
    const topic = uniqueTopic('flt-reject-java');
    await createTopics([topic]);
    const result = await kafkaTool(['console-producer', '--bootstrap-server', GATEWAY, '--topic', topic], {
      input: `${JSON.stringify({ kind: 'forbidden' })}\n`,
    });
    // The Java client reports the record's own error message (record_errors) for the failed record.
    expect(result.stderr).toContain(
      'org.apache.kafka.common.errors.PolicyViolationException: refused by filter rule "no-forbidden-kinds"',
    );
    expect((await readPartition(topic)).highWatermark).toBe(0n);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------

describe('drop', () => {
  test.each(['none', 'gzip', 'zstd'] as const)(
    'a non-idempotent kafkajs producer (%s): only the records that do not match reach the broker, at consecutive offsets',
    async (codec) => {
      const topic = uniqueTopic(`flt-drop-kafkajs-${codec}`);
      await createTopics([topic]);
      const compression = {
        none: CompressionTypes.None,
        gzip: CompressionTypes.GZIP,
        zstd: CompressionTypes.ZSTD,
      }[codec];
      const messages = [
        { key: 'a', value: env('prod', 0) },
        { key: 'b', value: env('test', 1) },
        { key: 'c', value: env('prod', 2), headers: { synthetic: 'true' } },
        { key: 'd', value: env('prod', 3), headers: { synthetic: 'false' } },
        { key: 'e', value: env('test', 4) },
        { key: 'f', value: 'not json at all' },
      ];
      const metadata = await withProducer({}, (producer) =>
        producer.send({
          topic,
          acks: -1,
          compression,
          messages: messages.map((m) => ({ ...m, partition: 0 })),
        }),
      );
      expect(metadata).toEqual([
        expect.objectContaining({ topicName: topic, partition: 0, errorCode: 0, baseOffset: '0' }),
      ]);
      const stored = await readPartition(topic);
      expect(stored.highWatermark).toBe(3n);
      expect(stored.records.map((r) => [r.offset, text(r.key), text(r.value)])).toEqual([
        [0n, 'a', env('prod', 0)],
        [1n, 'd', env('prod', 3)],
        [2n, 'f', 'not json at all'],
      ]);
      expect(stored.records[1].headers.map((h) => [h.key, text(h.value)])).toEqual([['synthetic', 'false']]);
      expect(stored.records[0].batch.compression).toBe(compression);
    },
  );

  test('kcat: dropped lines are reported delivered, the others are written', async () => {
    const topic = uniqueTopic('flt-drop-kcat');
    await createTopics([topic]);
    const lines = [env('prod', 0), env('test', 1), env('prod', 2)];
    const result = await run('kcat', ['-b', GATEWAY, '-t', topic, '-p', '0', '-P', '-X', 'linger.ms=100'], {
      input: lines.map((line) => `${line}\n`).join(''),
      allowFailure: true,
    });
    expect(result).toMatchObject({ code: 0 });
    expect((await readPartition(topic)).records.map((r) => text(r.value))).toEqual([
      env('prod', 0),
      env('prod', 2),
    ]);
  });

  test('a partition whose records were all dropped is answered by the gateway, the others by the broker', async () => {
    const topic = uniqueTopic('flt-drop-emptied');
    await createTopics([topic], 2);
    const metadata = await withProducer({}, (producer) =>
      producer.send({
        topic,
        acks: -1,
        messages: [
          { partition: 0, value: env('test', 0) },
          { partition: 0, value: env('test', 1) },
          { partition: 1, value: env('prod', 2) },
        ],
      }),
    );
    const byPartition = Object.fromEntries(metadata.map((m) => [m.partition, m]));
    expect(byPartition[0]).toMatchObject({ errorCode: 0, baseOffset: '-1' });
    expect(byPartition[1]).toMatchObject({ errorCode: 0, baseOffset: '0' });
    expect((await readPartition(topic, 0)).highWatermark).toBe(0n);
    expect((await readPartition(topic, 1)).records.map((r) => text(r.value))).toEqual([env('prod', 2)]);
  });

  test('a request whose records were all dropped succeeds and writes nothing', async () => {
    const topic = uniqueTopic('flt-drop-all');
    await createTopics([topic]);
    const metadata = await withProducer({}, (producer) =>
      producer.send({ topic, acks: -1, messages: [{ partition: 0, value: env('test', 0) }] }),
    );
    expect(metadata).toEqual([expect.objectContaining({ partition: 0, errorCode: 0, baseOffset: '-1' })]);
    expect((await readPartition(topic)).highWatermark).toBe(0n);
  });

  test('why: the broker refuses a partition without records, and answers a request without partitions', async () => {
    const topic = uniqueTopic('flt-broker-empty');
    await createTopics([topic]);
    const empty = await produceRaw(BOOTSTRAP.split(',')[0], PRODUCE_WITH_ERROR_MESSAGES, [
      { topic, partitions: [{ index: 0, records: Buffer.alloc(0) }] },
    ]);
    expect(empty.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.InvalidRecord);
    const none = await produceRaw(BOOTSTRAP.split(',')[0], PRODUCE_WITH_ERROR_MESSAGES, []);
    expect(none.responses).toEqual([]);
  });

  test('an idempotent producer is refused (dropFallback reject): its batch cannot lose records', async () => {
    const topic = uniqueTopic('flt-drop-idempotent');
    await createTopics([topic]);
    const error = await withProducer({ idempotent: true, maxInFlightRequests: 1 }, (producer) =>
      failure(
        producer.send({ topic, acks: -1, messages: [{ value: env('prod', 0) }, { value: env('test', 1) }] }),
      ),
    );
    expect(error).toMatchObject({ type: 'POLICY_VIOLATION', code: ErrorCode.PolicyViolation });
    expect((await readPartition(topic)).highWatermark).toBe(0n);
  });

  test('an idempotent producer passes untouched with dropFallback pass', async () => {
    const topic = uniqueTopic('flt-lenient-idempotent');
    await createTopics([topic]);
    await withProducer({ idempotent: true, maxInFlightRequests: 1 }, (producer) =>
      producer.send({ topic, acks: -1, messages: [{ value: env('prod', 0) }, { value: env('test', 1) }] }),
    );
    const stored = await readPartition(topic);
    expect(stored.records.map((r) => text(r.value))).toEqual([env('prod', 0), env('test', 1)]);
    expect(stored.records[0].batch.producerId).toBeGreaterThanOrEqual(0n);
  });

  test('the same lenient rule drops from a non-idempotent producer', async () => {
    const topic = uniqueTopic('flt-lenient-plain');
    await createTopics([topic]);
    await withProducer({}, (producer) =>
      producer.send({ topic, acks: -1, messages: [{ value: env('prod', 0) }, { value: env('test', 1) }] }),
    );
    expect((await readPartition(topic)).records.map((r) => text(r.value))).toEqual([env('prod', 0)]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('POST /patterns/test', () => {
  const post = (body: unknown) =>
    httpCall(HTTP_BASE, 'POST', '/patterns/test', {
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('answers whether the pattern matches the event', async () => {
    const pattern = {
      value: { amount: [{ numeric: ['>', 100] }] },
      headers: { source: [{ prefix: 'web' }] },
    };
    const yes = await post({
      pattern,
      event: { value: { amount: 150 }, key: null, headers: { source: 'web-eu' } },
    });
    expect(yes.status).toBe(200);
    expect(yes.json()).toEqual({ matches: true });
    const no = await post({ pattern, event: { value: { amount: '150' }, headers: { source: 'web-eu' } } });
    expect(no.json()).toEqual({ matches: false });
  });

  test('an invalid pattern is a 400 with where and why', async () => {
    const answer = await post({ pattern: { value: { amount: [{ numeric: ['>', 'ten'] }] } }, event: {} });
    expect(answer.status).toBe(400);
    expect(answer.json()).toEqual({
      error: 'invalid pattern: value.amount[0].numeric[1]: > needs a number, not string "ten"',
      status: 400,
      path: 'value.amount[0].numeric[1]',
    });
    const typo = await post({ pattern: { body: ['x'] }, event: {} });
    expect(typo.json()).toMatchObject({ error: expect.stringContaining('body: not a part of the event') });
  });

  test('a body that is not the expected JSON is a 400', async () => {
    expect((await post('{"pattern": ')).status).toBe(400);
    expect((await post({ event: {} })).status).toBe(400);
    expect((await post({ pattern: { key: ['x'] }, event: 'x' })).status).toBe(400);
  });
});

// ---------------------------------------------------------------------------------------------

describe('tap ?pattern=', () => {
  const connect = async (query: Record<string, string> = {}) => {
    const client = await TapClient.connect(`${HOST}:${HTTP_PORT}`, query);
    openClients.push(client);
    return client;
  };

  /** The tap starts at the latest offsets once it joined its group: a sentinel that arrives proves it is positioned. */
  async function waitUntilMirroring(producer: Producer): Promise<void> {
    await running.tap!.ready();
    const everything = await connect({ topic: TAP_TOPIC });
    await eventually(
      async () => {
        await producer.send({ topic: TAP_TOPIC, messages: [{ key: 'sentinel', value: '{}' }] });
        await new Promise((resolve) => setTimeout(resolve, 300));
        return everything.records((r) => r.key === 'sentinel').length > 0 ? true : undefined;
      },
      20_000,
      0,
    );
  }

  test('only records matching the pattern reach the client', async () => {
    const producer = kafkaClient(BOOTSTRAP, 'filter-tap-producer').producer();
    await producer.connect();
    try {
      await waitUntilMirroring(producer);
      const pattern = JSON.stringify({
        value: { level: ['error', 'fatal'] },
        headers: { region: [{ prefix: 'eu-' }] },
      });
      const narrowed = await connect({ topic: TAP_TOPIC, pattern });
      const all = await connect({ topic: TAP_TOPIC });
      const sent = [
        { key: '1', value: JSON.stringify({ level: 'error' }), headers: { region: 'eu-west-1' } },
        { key: '2', value: JSON.stringify({ level: 'info' }), headers: { region: 'eu-west-1' } },
        { key: '3', value: JSON.stringify({ level: 'fatal' }), headers: { region: 'us-east-1' } },
        { key: '4', value: JSON.stringify({ level: 'fatal' }), headers: { region: 'eu-central-1' } },
        { key: '5', value: 'error', headers: { region: 'eu-west-1' } },
      ];
      await producer.send({ topic: TAP_TOPIC, messages: sent });
      const isSent = (record: TapRecord) => sent.some((s) => s.key === record.key);
      await all.waitForRecords(sent.length, isSent, 10_000);
      await narrowed.waitForRecords(2, isSent, 5_000);
      expect(narrowed.records(isSent).map((r) => r.record.key)).toEqual(['1', '4']);
      expect(narrowed.records((r) => r.key === 'sentinel')).toEqual([]);
    } finally {
      await producer.disconnect();
    }
  }, 40_000);

  test('an invalid pattern refuses the upgrade with 400', async () => {
    const refused = await TapClient.connect(`${HOST}:${HTTP_PORT}`, {
      pattern: JSON.stringify({ value: { a: 'not a list' } }),
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TapRefused);
    expect((refused as TapRefused).status).toBe(400);
    const notJson = await TapClient.connect(`${HOST}:${HTTP_PORT}`, { pattern: '{value' }).catch(
      (error: unknown) => error,
    );
    expect(notJson).toBeInstanceOf(TapRefused);
    expect((notJson as TapRefused).status).toBe(400);
  });
});
