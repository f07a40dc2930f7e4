/**
 * Observe mode end to end: invalid records of a channel in observe mode reach the broker exactly as
 * the producer sent them (no validation header, the batch not re-encoded), the producer is told
 * they were written, and only the gateway's metric, log and tap say they break their contract.
 * Channels of the same spec that are not in observe mode still tag or reject.
 *
 * Ports: channel-level gateway 26000 (HTTP 26090), global-default gateway 26010 (26091), tap
 * gateway 26020 (26092); broker N of each listens on its bootstrap port + N.
 */
import type { Producer } from 'kafkajs';
import { resolveConfig } from '../../src/config/load-config';
import { startGateway, type RunningGateway } from '../../src/main';
import { createLogger } from '../../src/observability/logger';
import { BatchAttributes } from '../../src/protocol/records';
import { CapturedLogs } from './support/gateway-harness';
import { isolatedState } from './support/isolated-state';
import { BOOTSTRAP, kafkaClient, run, uniqueTopic } from './support/kafka-harness';
import {
  createTopics,
  httpCall,
  metricSample,
  produceRaw,
  readPartition,
  readPartitionUntil,
  recordBatch,
  startValidatingGateway,
  VALIDATION_HEADER,
  verdictOf,
  type StoredRecord,
  type ValidatingGateway,
} from './support/validating-gateway';
import { TapClient } from './support/ws-client';

jest.setTimeout(60_000);

const OBSERVED_LOG = 'invalid record forwarded unchanged: its channel is in observe mode';

/** One channel of the test spec: its topic and the extensions it carries. */
interface Channel {
  topic: string;
  extensions?: Record<string, boolean>;
}

/** A spec with one channel per entry, every one carrying light readings (lumens: integer >= 0). */
function spec(channels: Record<string, Channel>): string {
  const lines = ['asyncapi: 3.0.0', 'info: { title: observe mode, version: 1.0.0 }', 'channels:'];
  for (const [id, channel] of Object.entries(channels)) {
    lines.push(`  ${id}:`, `    address: ${channel.topic}`);
    for (const [name, value] of Object.entries(channel.extensions ?? {})) lines.push(`    ${name}: ${value}`);
    lines.push("    messages: { reading: { $ref: '#/components/messages/reading' } }");
  }
  lines.push(
    'components:',
    '  messages:',
    '    reading:',
    '      contentType: application/json',
    '      payload:',
    '        type: object',
    '        required: [lumens]',
    '        properties: { lumens: { type: integer, minimum: 0 } }',
  );
  return lines.join('\n') + '\n';
}

const VALID = '{"lumens":100}';
const NEGATIVE = '{"lumens":-1}';
const NOT_A_NUMBER = '{"lumens":"bright"}';

function kcatProduce(bootstrap: string, topic: string, lines: string[], extra: string[] = []) {
  return run('kcat', ['-b', bootstrap, '-t', topic, '-p', '0', '-P', '-K', '\t', ...extra], {
    input: lines.map((line) => `${line}\n`).join(''),
    allowFailure: true,
  });
}

const headersOf = (record: StoredRecord) => record.headers.map((h) => [h.key, h.value?.toString() ?? null]);

async function httpMetric(gateway: ValidatingGateway, labels: Record<string, string>): Promise<number> {
  const answer = await gateway.http('GET', '/metrics');
  return metricSample(answer.text, 'event_gateway_records_total', labels);
}

// ---------------------------------------------------------------------------------------------
// Observe mode chosen per channel

describe('x-eg-observe on a channel', () => {
  const topics = {
    observed: uniqueTopic('observe-ch'),
    observedStrict: uniqueTopic('observe-ch-strict'),
    tagged: uniqueTopic('observe-ch-tagged'),
    strict: uniqueTopic('observe-ch-strict-only'),
    rest: uniqueTopic('observe-ch-rest'),
  };
  let gateway: ValidatingGateway;
  let clusterId: string;

  beforeAll(async () => {
    await createTopics(Object.values(topics));
    gateway = await startValidatingGateway({
      bootstrapPort: 26000,
      httpPort: 26090,
      ingest: { requireApiKeys: false },
      logLevel: 'info',
    });
    await gateway.putSpec(
      'observe-channels',
      spec({
        observed: { topic: topics.observed, extensions: { 'x-eg-observe': true } },
        // Observe mode outranks the channel's own wish to reject.
        observedStrict: {
          topic: topics.observedStrict,
          extensions: { 'x-eg-observe': true, 'x-eg-fail-when-invalid': true },
        },
        tagged: { topic: topics.tagged },
        strict: { topic: topics.strict, extensions: { 'x-eg-fail-when-invalid': true } },
        rest: { topic: topics.rest, extensions: { 'x-eg-observe': true } },
      }),
    );
    const admin = kafkaClient(BOOTSTRAP).admin();
    await admin.connect();
    clusterId = (await admin.describeCluster()).clusterId;
    await admin.disconnect();
  }, 60_000);

  afterAll(() => gateway?.stop());

  test('the summary of the spec says which channels observe', async () => {
    const summary = (await gateway.http('GET', '/specs/observe-channels')).json<{
      channels: { topic: string; observe?: boolean }[];
    }>();
    const observe = Object.fromEntries(summary.channels.map((c) => [c.topic, c.observe]));
    expect(observe).toEqual({
      [topics.observed]: true,
      [topics.observedStrict]: true,
      [topics.tagged]: undefined,
      [topics.strict]: undefined,
      [topics.rest]: true,
    });
  });

  test('kcat: invalid records are stored as sent, without a validation header, counted and logged', async () => {
    const mark = gateway.logs.mark();
    const result = await kcatProduce(
      gateway.bootstrap,
      topics.observed,
      [`v\t${VALID}`, `neg\t${NEGATIVE}`, `nan\t${NOT_A_NUMBER}`],
      ['-z', 'gzip', '-H', 'trace-id=kcat-observed', '-X', 'linger.ms=100'],
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });

    const { records } = await readPartitionUntil(topics.observed, 0, 3);
    expect(records.map((r) => [r.key?.toString(), r.value?.toString()])).toEqual([
      ['v', VALID],
      ['neg', NEGATIVE],
      ['nan', NOT_A_NUMBER],
    ]);
    for (const record of records) {
      expect(verdictOf(record)).toBeNull();
      expect(headersOf(record)).toEqual([['trace-id', 'kcat-observed']]);
    }
    expect(new Set(records.map((r) => r.batch.attributes & BatchAttributes.CompressionMask))).toEqual(
      new Set([1]),
    );

    expect(await gateway.recordsCounted(topics.observed, 'invalid_observed')).toBe(2);
    expect(await gateway.recordsCounted(topics.observed, 'valid')).toBe(1);
    expect(await gateway.recordsCounted(topics.observed, 'invalid_tagged')).toBe(0);
    const line = await gateway.logs.waitFor(
      (l) => l.msg === OBSERVED_LOG && l.topic === topics.observed,
      mark,
    );
    expect(line).toMatchObject({ level: 40, partition: 0, errors: [expect.stringContaining('lumens')] });
  });

  test('a raw produce request: the stored batch is byte for byte the one sent', async () => {
    const sent = recordBatch([
      { key: 'a', value: NEGATIVE, headers: { origin: 'raw' } },
      { key: 'b', value: 'not json at all' },
    ]);
    const response = await produceRaw(gateway.bootstrap, 9, [
      { topic: topics.observedStrict, partitions: [{ index: 0, records: sent }] },
    ]);
    expect(response.responses[0].partitionResponses[0].errorCode).toBe(0);

    const { records } = await readPartitionUntil(topics.observedStrict, 0, 2);
    // The broker assigns baseOffset and partitionLeaderEpoch; from magic on (CRC included) the
    // batch is the producer's.
    const FROM_MAGIC = 16;
    expect(records[0].batch.bytes.subarray(FROM_MAGIC).equals(sent.subarray(FROM_MAGIC))).toBe(true);
    expect(records.map(verdictOf)).toEqual([null, null]);
    expect(await gateway.recordsCounted(topics.observedStrict, 'invalid_observed')).toBe(2);
    expect(await gateway.recordsCounted(topics.observedStrict, 'invalid_rejected')).toBe(0);
  });

  describe('kafkajs', () => {
    let producer: Producer;
    beforeAll(async () => {
      producer = kafkaClient(gateway.bootstrap, 'observe-test').producer({
        allowAutoTopicCreation: false,
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await producer.connect();
    });
    afterAll(() => producer?.disconnect());

    test('an idempotent producer is told its invalid records were written; they are stored unchanged', async () => {
      const before = (await readPartition(topics.observedStrict)).records.length;
      const [result] = await producer.send({
        topic: topics.observedStrict,
        acks: -1,
        messages: [
          { key: 'k1', value: NEGATIVE, headers: { seq: '1' }, partition: 0 },
          { key: 'k2', value: VALID, partition: 0 },
        ],
      });
      expect(result.errorCode).toBe(0);
      const { records } = await readPartitionUntil(topics.observedStrict, 0, before + 2);
      const mine = records.slice(before);
      expect(mine.map((r) => [r.key?.toString(), r.value?.toString(), headersOf(r)])).toEqual([
        ['k1', NEGATIVE, [['seq', '1']]],
        ['k2', VALID, []],
      ]);
      expect(mine[0].batch.producerId).toBeGreaterThanOrEqual(0n);
      expect(mine[0].batch.baseSequence).toBe(0);
    });

    test('channels of the same spec that do not observe still tag and reject', async () => {
      const [tagged] = await producer.send({
        topic: topics.tagged,
        acks: -1,
        messages: [{ key: 't', value: NEGATIVE, partition: 0 }],
      });
      expect(tagged.errorCode).toBe(0);
      const { records } = await readPartitionUntil(topics.tagged, 0, 1);
      expect(verdictOf(records[0])?.errors).toEqual(['lumens: Must be greater than or equal to 0']);
      expect(await gateway.recordsCounted(topics.tagged, 'invalid_tagged')).toBe(1);

      await expect(
        producer.send({
          topic: topics.strict,
          acks: -1,
          messages: [{ key: 's', value: NEGATIVE, partition: 0 }],
        }),
      ).rejects.toThrow();
      expect((await readPartition(topics.strict)).records).toHaveLength(0);
      expect(await gateway.recordsCounted(topics.strict, 'invalid_rejected')).toBeGreaterThanOrEqual(1);
    });
  });

  test('REST v3: an invalid record is written as posted and answered as written', async () => {
    const mark = gateway.logs.mark();
    const answer = await fetch(
      `http://127.0.0.1:26090/v3/clusters/${clusterId}/topics/${topics.rest}/records`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          key: { type: 'STRING', data: 'http-1' },
          headers: [{ name: 'origin', value: Buffer.from('rest').toString('base64') }],
          value: { type: 'JSON', data: { lumens: -5 } },
        }),
      },
    );
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { error_code: number; offset: number };
    expect(body.error_code).toBe(200);

    const stored = (await readPartition(topics.rest)).records.find((r) => r.offset === BigInt(body.offset))!;
    expect(stored.key?.toString()).toBe('http-1');
    expect(stored.value?.toString()).toBe('{"lumens":-5}');
    expect(headersOf(stored)).toEqual([['origin', 'rest']]);
    expect(stored.headers.map((h) => h.key)).not.toContain(VALIDATION_HEADER);
    expect(await httpMetric(gateway, { topic: topics.rest, outcome: 'invalid_observed', door: 'http' })).toBe(
      1,
    );
    await gateway.logs.waitFor((l) => l.msg === OBSERVED_LOG && l.topic === topics.rest, mark);
  });
});

// ---------------------------------------------------------------------------------------------
// Observe mode as the default

describe('asyncapi.observe: true, with a channel opting back into enforcement', () => {
  const topics = { rollout: uniqueTopic('observe-all'), enforced: uniqueTopic('observe-all-enforced') };
  let gateway: ValidatingGateway;

  beforeAll(async () => {
    await createTopics(Object.values(topics));
    gateway = await startValidatingGateway({
      bootstrapPort: 26010,
      httpPort: 26091,
      // Rejection as the default too: observe mode must still win on channels that do not say.
      asyncapi: { observe: true, failWhenInvalid: true },
      logLevel: 'info',
    });
    await gateway.putSpec(
      'observe-default',
      spec({
        rollout: { topic: topics.rollout },
        enforced: { topic: topics.enforced, extensions: { 'x-eg-observe': false } },
      }),
    );
  }, 60_000);

  afterAll(() => gateway?.stop());

  test('a channel that does not say is observed', async () => {
    const mark = gateway.logs.mark();
    const result = await kcatProduce(gateway.bootstrap, topics.rollout, [`a\t${NEGATIVE}`, `b\t${VALID}`]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const { records } = await readPartitionUntil(topics.rollout, 0, 2);
    expect(records.map((r) => [r.value?.toString(), verdictOf(r)])).toEqual([
      [NEGATIVE, null],
      [VALID, null],
    ]);
    expect(await gateway.recordsCounted(topics.rollout, 'invalid_observed')).toBe(1);
    await gateway.logs.waitFor((l) => l.msg === OBSERVED_LOG && l.topic === topics.rollout, mark);
  });

  test('x-eg-observe: false enforces: the record is refused and kcat reports it', async () => {
    const result = await kcatProduce(gateway.bootstrap, topics.enforced, [`a\t${NEGATIVE}`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Broker failed to validate record');
    expect((await readPartition(topics.enforced)).records).toHaveLength(0);
    expect(await gateway.recordsCounted(topics.enforced, 'invalid_rejected')).toBeGreaterThanOrEqual(1);
    expect(await gateway.recordsCounted(topics.enforced, 'invalid_observed')).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// The tap

describe('the tap', () => {
  const topic = uniqueTopic('observe-tap');
  let running: RunningGateway;
  let client: TapClient;
  const HTTP = '127.0.0.1:26092';

  beforeAll(async () => {
    await createTopics([topic]);
    const config = resolveConfig(
      {
        kafka: { bootstrapServers: BOOTSTRAP.split(',').map((s) => s.trim()) },
        listeners: { bindHost: '127.0.0.1', bootstrapPort: 26020, brokerPortBase: 26020 },
        http: { host: '127.0.0.1', port: 26092 },
        tap: { topics: [topic], topicRefreshMs: 1_000 },
        state: isolatedState(),
        logging: { level: 'warn' },
        shutdown: { drainTimeoutMs: 2_000 },
      },
      'observe tap gateway',
    );
    running = await startGateway(config, createLogger(config.logging.level, new CapturedLogs()));
    const put = await httpCall(`http://${HTTP}`, 'PUT', '/specs/observe-tap', {
      body: spec({ tapped: { topic, extensions: { 'x-eg-observe': true } } }),
    });
    expect(put.status).toBe(201);
    await running.tap!.ready();
    client = await TapClient.connect(HTTP, { invalid: 'true' });
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await running?.stop();
  });

  test('shows an observed record with what its contract finds wrong, as it shows tagged ones', async () => {
    const result = await kcatProduce('127.0.0.1:26020', topic, [`ok\t${VALID}`, `bad\t${NEGATIVE}`]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const [seen] = await client.waitForRecords(1, (r) => r.key === 'bad', 15_000);
    expect(seen.record.validationError).toEqual({
      observed: true,
      errors: ['lumens: Must be greater than or equal to 0'],
    });
    expect(seen.record.headers).toEqual({});
    // invalid=true: the valid record is not sent.
    expect(client.records((r) => r.key === 'ok')).toEqual([]);
    const stored = await readPartitionUntil(topic, 0, 2);
    expect(stored.records.map(verdictOf)).toEqual([null, null]);
  });
});
