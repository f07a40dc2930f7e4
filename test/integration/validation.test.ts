/**
 * AsyncAPI enforcement end to end: real clients (kcat, kafkajs, the Java producer) produce through
 * the gateway to the real broker, and what landed is read straight from the broker, bypassing the
 * gateway, so the assertions are about the bytes on disk. Valid records must arrive exactly as
 * sent; invalid ones carry the verdict header (tag mode) or never arrive (reject mode), and the
 * producer's protocol state (idempotence sequences, transactions, its connection) must not notice
 * the gateway rewriting batches or swapping specs.
 *
 * Ports: tag gateway 24000 (HTTP 24090), reject gateway 24010 (24091), plug-in gateway 24020
 * (24092), one that must refuse to start 24030 (24093); broker N of each listens on its bootstrap
 * port + N.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { KafkaJSProtocolError, type Producer } from 'kafkajs';
import type { Middleware, MiddlewareFactory } from '../../src/pipeline/middleware';
import { ErrorCode } from '../../src/protocol/error-codes';
import { BatchAttributes, CompressionType, type CompressionName } from '../../src/protocol/records';
import {
  BOOTSTRAP,
  kafkaClient,
  kafkaTool,
  readMessages,
  REPO_ROOT,
  run,
  uniqueTopic,
} from './support/kafka-harness';
import {
  ADMIN_TOKEN,
  CODECS,
  createTopics,
  demoSpec,
  EXAMPLES_DIR,
  KAFKAJS_COMPRESSION,
  legacyMessageV1,
  produceRaw,
  readPartition,
  readPartitionUntil,
  recordBatch,
  registerKafkaJsCodecs,
  RFC3339_UTC,
  startValidatingGateway,
  VALIDATION_HEADER,
  verdictOf,
  type StoredRecord,
  type ValidatingGateway,
} from './support/validating-gateway';

registerKafkaJsCodecs();
// Most tests upload a spec, start a client and read the broker: seconds each on a busy machine.
jest.setTimeout(30_000);

const PRODUCE_WITH_ERROR_MESSAGES = 9;

let tagging: ValidatingGateway;
let rejecting: ValidatingGateway;
let plugin: ValidatingGateway;

beforeAll(async () => {
  [tagging, rejecting, plugin] = await Promise.all([
    startValidatingGateway({
      bootstrapPort: 24000,
      httpPort: 24090,
      adminToken: ADMIN_TOKEN,
      asyncapi: { specs: ['asyncapi/accounts.yaml'] },
      // 'connection closed' is a debug line: the live-upload test checks that none was written.
      logLevel: 'debug',
    }),
    startValidatingGateway({
      bootstrapPort: 24010,
      httpPort: 24091,
      asyncapi: { failWhenInvalid: true, topicsWithoutSpec: 'reject' },
    }),
    startValidatingGateway({
      bootstrapPort: 24020,
      httpPort: 24092,
      pipeline: {
        middlewares: [
          'validation',
          { module: 'config/middlewares/require-header.js', options: { header: 'trace-id' } },
        ],
      },
    }),
  ]);
}, 30_000);

afterAll(async () => {
  await Promise.all([tagging?.stop(), rejecting?.stop(), plugin?.stop()]);
});

// ---------------------------------------------------------------------------------------------
// Records

/** A record to send, with the reasons the demo contract must give for it (null: valid). */
interface Sample {
  key: string | null;
  value: string;
  headers: Record<string, string>;
  errors: string[] | null;
}

/** Padding that compresses well, so that every codec really compresses the batches. */
const NOTE = 'reading taken by the north-east sensor of the test bench; '.repeat(6);

const light = (fields: Record<string, unknown>) => JSON.stringify({ ...fields, note: NOTE });

/** Valid and invalid records for the demo contract (lumens: integer >= 0, sentAt: date-time). */
function demoSamples(headers: Record<string, string> = {}): Sample[] {
  return [
    { key: 'valid-1', value: light({ lumens: 100, sentAt: '2024-05-01T10:00:00Z' }), headers, errors: null },
    {
      key: 'bool',
      value: light({ lumens: true }),
      headers,
      errors: ['lumens: Invalid type. Expected: integer, given: boolean'],
    },
    {
      key: 'negative',
      value: light({ lumens: -1 }),
      headers,
      errors: ['lumens: Must be greater than or equal to 0'],
    },
    { key: 'clé-ü', value: light({ lumens: 0, text: 'héllo wörld ✓' }), headers, errors: null },
    {
      key: 'date',
      value: light({ lumens: 5, sentAt: 'yesterday' }),
      headers,
      errors: ["sentAt: Does not match format 'date-time'"],
    },
    {
      key: 'two-faults',
      value: light({ lumens: 1.5, sentAt: '2024-13-01T00:00:00Z' }),
      headers,
      errors: [
        'lumens: Invalid type. Expected: integer, given: number',
        "sentAt: Does not match format 'date-time'",
      ],
    },
    {
      key: 'text',
      value: 'lumens=12',
      headers,
      errors: [expect.stringMatching(/^\(root\): value is not valid JSON \(/) as unknown as string],
    },
    {
      key: 'valid-2',
      value: light({ lumens: 7, sentAt: '2024-05-01T10:00:00.123+02:00' }),
      headers,
      errors: null,
    },
  ];
}

const text = (bytes: Buffer | null) => (bytes === null ? null : bytes.toString('utf8'));

/**
 * What landed matches what was sent: keys, values and the producer's headers exactly (in order),
 * plus, on invalid records only, one verdict header after them with the expected reasons and a
 * timestamp taken while the test ran.
 */
function expectStored(stored: readonly StoredRecord[], sent: readonly Sample[], since: number): void {
  expect(stored.map((r) => ({ key: text(r.key), value: text(r.value) }))).toEqual(
    sent.map((s) => ({ key: s.key, value: s.value })),
  );
  stored.forEach((record, i) => {
    const own = record.headers.filter((h) => h.key !== VALIDATION_HEADER);
    expect(own.map((h) => [h.key, text(h.value)])).toEqual(Object.entries(sent[i].headers));
    const verdict = verdictOf(record);
    if (sent[i].errors === null) {
      expect(verdict).toBeNull();
      return;
    }
    expect(record.headers[record.headers.length - 1].key).toBe(VALIDATION_HEADER);
    expect(verdict).toEqual({ ts: expect.stringMatching(RFC3339_UTC), errors: sent[i].errors });
    const ts = Date.parse(verdict!.ts);
    expect(ts).toBeGreaterThanOrEqual(since - 1_000);
    expect(ts).toBeLessThanOrEqual(Date.now() + 1_000);
  });
}

/** The verdict headers of stored records, without their timestamps. */
const verdicts = (stored: readonly StoredRecord[]) => stored.map((r) => verdictOf(r)?.errors ?? null);

async function connectedProducer(
  gateway: ValidatingGateway,
  options: Parameters<ReturnType<typeof kafkaClient>['producer']>[0] = {},
): Promise<Producer> {
  const producer = kafkaClient(gateway.bootstrap, 'validation-test').producer({
    allowAutoTopicCreation: false,
    ...options,
  });
  await producer.connect();
  return producer;
}

function sendSamples(
  producer: Producer,
  topic: string,
  samples: readonly Sample[],
  compression: CompressionName = 'none',
  partition = 0,
) {
  return producer.send({
    topic,
    acks: -1,
    compression: KAFKAJS_COMPRESSION[compression],
    messages: samples.map((s) => ({ key: s.key, value: s.value, headers: s.headers, partition })),
  });
}

/** A fresh topic the tag gateway enforces demo.yaml (or its 2.6 twin) on. */
async function demoTopic(
  gateway: ValidatingGateway,
  prefix: string,
  version: '3.0' | '2.6' = '3.0',
  partitions = 1,
): Promise<string> {
  const topic = uniqueTopic(prefix);
  await createTopics([topic], partitions);
  await gateway.putSpec(topic, demoSpec(version, topic));
  return topic;
}

function kcatProduce(
  bootstrap: string,
  topic: string,
  samples: readonly Sample[],
  codec: CompressionName,
  headers: Record<string, string>,
) {
  const args = ['-b', bootstrap, '-t', topic, '-p', '0', '-P', '-K', '\t', '-X', 'linger.ms=100'];
  if (codec !== 'none') args.push('-z', codec);
  for (const [key, value] of Object.entries(headers)) args.push('-H', `${key}=${value}`);
  return run('kcat', args, {
    input: samples.map((s) => `${s.key}\t${s.value}\n`).join(''),
    allowFailure: true,
  });
}

async function highWatermarks(topic: string, partitions: number): Promise<bigint[]> {
  return Promise.all(
    Array.from({ length: partitions }, async (_, p) => (await readPartition(topic, p)).highWatermark),
  );
}

// ---------------------------------------------------------------------------------------------

describe('tag mode: invalid records are forwarded with the reasons in a header', () => {
  const codecType = (codec: CompressionName) =>
    CompressionType[
      ({ none: 'None', gzip: 'Gzip', snappy: 'Snappy', lz4: 'Lz4', zstd: 'Zstd' } as const)[codec]
    ];

  test.each(CODECS)(
    'kcat, compression %s: valid records byte-identical, invalid ones tagged with the exact reasons',
    async (codec) => {
      const topic = await demoTopic(tagging, `val-kcat-${codec}`);
      const headers = { 'trace-id': `kcat-${codec}`, 'välue-ключ': '✓' };
      const samples = demoSamples(headers);
      const since = Date.now();
      const result = await kcatProduce(tagging.bootstrap, topic, samples, codec, headers);
      expect(result).toMatchObject({ code: 0, stderr: '' });

      const stored = await readPartitionUntil(topic, 0, samples.length);
      expectStored(stored.records, samples, since);
      // The re-encoded batch keeps the producer's codec (the padding makes librdkafka compress).
      expect(new Set(stored.records.map((r) => r.batch.compression))).toEqual(new Set([codecType(codec)]));
    },
  );

  describe.each([false, true])('kafkajs, idempotent %s', (idempotent) => {
    let producer: Producer;
    beforeAll(async () => {
      producer = await connectedProducer(tagging, {
        idempotent,
        maxInFlightRequests: idempotent ? 1 : undefined,
      });
    });
    afterAll(() => producer?.disconnect());

    test.each(CODECS)('compression %s: valid records byte-identical, invalid ones tagged', async (codec) => {
      const topic = await demoTopic(tagging, `val-kafkajs-${codec}`);
      const samples = demoSamples({ 'trace-id': `kafkajs-${codec}`, seq: '1' });
      const since = Date.now();
      const [result] = await sendSamples(producer, topic, samples, codec);
      expect(result.errorCode).toBe(0);

      const stored = await readPartitionUntil(topic, 0, samples.length);
      expectStored(stored.records, samples, since);
      const batch = stored.records[0].batch;
      expect(batch.compression).toBe(codecType(codec));
      if (idempotent) {
        expect(batch.producerId).toBeGreaterThanOrEqual(0n);
        expect(batch.baseSequence).toBe(0);
      } else {
        expect(batch.producerId).toBe(-1n);
      }
    });
  });

  test.each(CODECS)(
    'compression %s: a batch of valid records reaches the broker as the bytes the producer sent',
    async (codec) => {
      const topic = await demoTopic(tagging, `val-untouched-${codec}`);
      const samples = demoSamples({ 'trace-id': 'raw' }).filter((s) => s.errors === null);
      const batch = recordBatch(samples, codec);
      const response = await produceRaw(tagging.brokerAddress(1), PRODUCE_WITH_ERROR_MESSAGES, [
        { topic, partitions: [{ index: 0, records: batch }] },
      ]);
      expect(response.responses[0].partitionResponses[0]).toMatchObject({ errorCode: 0, errorMessage: null });

      const stored = await readPartitionUntil(topic, 0, samples.length);
      // From the attributes on, a batch is stored as sent (the broker sets only offset and leader epoch).
      const ATTRIBUTES_OFFSET = 21;
      expect(
        stored.records[0].batch.bytes.subarray(ATTRIBUTES_OFFSET).equals(batch.subarray(ATTRIBUTES_OFFSET)),
      ).toBe(true);
      expect(stored.records[0].batch.crc).toBe(batch.readUInt32BE(ATTRIBUTES_OFFSET - 4));
    },
  );

  describe('a batch whose CRC does not match its bytes', () => {
    /** The batch with one bit of its stored CRC flipped: the records themselves read as before. */
    const damaged = (batch: Buffer) => {
      const CRC_OFFSET = 17;
      const copy = Buffer.from(batch);
      copy[CRC_OFFSET + 3] ^= 1;
      return copy;
    };

    test('of valid records goes on as it came, and the broker refuses it', async () => {
      const topic = await demoTopic(tagging, 'val-crc-valid');
      const batch = damaged(recordBatch(demoSamples().filter((s) => s.errors === null)));
      const response = await produceRaw(tagging.brokerAddress(1), PRODUCE_WITH_ERROR_MESSAGES, [
        { topic, partitions: [{ index: 0, records: batch }] },
      ]);
      const [partition] = response.responses[0].partitionResponses;
      expect(partition.errorCode).toBe(ErrorCode.CorruptMessage);
      // The broker's answer, not the gateway's.
      expect(partition.errorMessage ?? '').not.toMatch(/could not be read/);
      expect(await highWatermarks(topic, 1)).toEqual([0n]);
    });

    test('with a record to tag is refused by the gateway with CORRUPT_MESSAGE, not tagged', async () => {
      const topic = await demoTopic(tagging, 'val-crc-tagged');
      const batch = damaged(recordBatch(demoSamples().slice(0, 3)));
      const response = await produceRaw(tagging.brokerAddress(1), PRODUCE_WITH_ERROR_MESSAGES, [
        { topic, partitions: [{ index: 0, records: batch }] },
      ]);
      const [partition] = response.responses[0].partitionResponses;
      expect(partition.errorCode).toBe(ErrorCode.CorruptMessage);
      expect(partition.errorMessage).toMatch(/could not be read: record batch CRC mismatch/);
      expect(await highWatermarks(topic, 1)).toEqual([0n]);
    });
  });

  test('an idempotent producer sending many tagged batches keeps its sequence numbers: no errors, every record exactly once', async () => {
    const topic = await demoTopic(tagging, 'val-idempotent-many');
    const producer = await connectedProducer(tagging, { idempotent: true, maxInFlightRequests: 1 });
    const errors: unknown[] = [];
    const BATCHES = 120;
    const PER_BATCH = 8;
    try {
      // Sent without waiting for each other: kafkajs queues them, so consecutive requests follow
      // each other as closely as the one allowed in-flight request permits.
      await Promise.all(
        Array.from({ length: BATCHES }, (_, b) =>
          producer
            .send({
              topic,
              acks: -1,
              compression: KAFKAJS_COMPRESSION[(['none', 'gzip', 'zstd'] as const)[b % 3]],
              messages: Array.from({ length: PER_BATCH }, (_, r) => {
                const seq = b * PER_BATCH + r;
                return {
                  partition: 0,
                  key: String(seq),
                  value: light({ seq, lumens: r % 2 === 0 ? seq : -seq - 1 }),
                };
              }),
            })
            .catch((error: unknown) => errors.push(error)),
        ),
      );
    } finally {
      await producer.disconnect();
    }
    expect(errors).toEqual([]);

    const stored = await readPartitionUntil(topic, 0, BATCHES * PER_BATCH);
    // kafkajs may dispatch concurrent send() calls in another order than they were made (it does
    // straight to the broker too), so exactly once is checked on the set, order on the sequences.
    const seqs = stored.records.map((r) => Number(text(r.key)));
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: BATCHES * PER_BATCH }, (_, i) => i));
    stored.records.forEach((record, i) => {
      const verdict = verdictOf(record);
      if (seqs[i] % 2 === 0) expect(verdict).toBeNull();
      else expect(verdict?.errors).toEqual(['lumens: Must be greater than or equal to 0']);
    });
    // The batches on the broker are the producer's: one id and epoch, contiguous sequences.
    const batches = [...new Map(stored.records.map((r) => [r.batch.baseOffset, r.batch])).values()];
    expect(new Set(batches.map((b) => `${b.producerId}/${b.producerEpoch}`)).size).toBe(1);
    let expectedSequence = 0;
    for (const batch of batches) {
      expect(batch.baseSequence).toBe(expectedSequence);
      expectedSequence += batch.recordsCount;
    }
  }, 60_000);

  test('a transactional producer: tagged records commit, and a read_committed consumer sees them', async () => {
    const topic = await demoTopic(tagging, 'val-transaction');
    const producer = await connectedProducer(tagging, {
      transactionalId: uniqueTopic('val-txn'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    const samples = demoSamples({ 'trace-id': 'txn' });
    const since = Date.now();
    try {
      const transaction = await producer.transaction();
      await transaction.send({
        topic,
        acks: -1,
        compression: KAFKAJS_COMPRESSION.lz4,
        messages: samples.map((s) => ({ ...s, partition: 0 })),
      });
      await transaction.commit();
    } finally {
      await producer.disconnect();
    }

    // kafkajs consumers read committed unless told otherwise; this one talks to the broker directly.
    const consumed = await readMessages(
      kafkaClient(BOOTSTRAP, 'validation-read-committed'),
      topic,
      samples.length,
    );
    expect(
      consumed.map((m) => ({
        key: text(m.key),
        value: text(m.value),
        verdict: m.headers?.[VALIDATION_HEADER] !== undefined,
      })),
    ).toEqual(samples.map((s) => ({ key: s.key, value: s.value, verdict: s.errors !== null })));
    const stored = await readPartition(topic, 0, true);
    expectStored(stored.records, samples, since);
    expect(stored.records[0].batch.attributes & BatchAttributes.Transactional).toBe(
      BatchAttributes.Transactional,
    );
  }, 60_000);

  test('a channel that opts into rejection (accounts.lifecycle, x-eg-fail-when-invalid) refuses invalid records even in tag mode', async () => {
    const topic = 'accounts.lifecycle';
    await createTopics([topic], 6);
    const before = await highWatermarks(topic, 6);
    const invalid = JSON.stringify({ type: 'opened', accountId: 'a-1', currency: 'euro' });
    const result = await run('kcat', ['-b', tagging.bootstrap, '-t', topic, '-P', '-K', '\t'], {
      input: `acc-1\t${invalid}\n`,
      allowFailure: true,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Delivery failed');
    expect(result.stderr).toContain('Broker failed to validate record');
    expect(await highWatermarks(topic, 6)).toEqual(before);
    const refused = await tagging.logs.waitFor(
      (line) => line.msg === 'produce request refused' && line.topic === topic,
    );
    expect(refused.reason).toContain("accountOpened: currency: Does not match pattern '^[A-Z]{3}$'");
  });
});

// ---------------------------------------------------------------------------------------------

describe('reject mode: invalid records refuse the request and nothing is written', () => {
  test('kcat reports the delivery failure; the topic stays empty', async () => {
    const topic = await demoTopic(rejecting, 'val-reject-kcat');
    const result = await kcatProduce(rejecting.bootstrap, topic, demoSamples().slice(0, 2), 'none', {});
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Delivery failed for message: Broker: Broker failed to validate record/);
    expect(await highWatermarks(topic, 1)).toEqual([0n]);
  });

  test('kafkajs surfaces INVALID_RECORD (without the reason: kafkajs speaks Produce up to v7, error messages came in v8)', async () => {
    const topic = await demoTopic(rejecting, 'val-reject-kafkajs');
    const producer = await connectedProducer(rejecting, { idempotent: true, maxInFlightRequests: 1 });
    let error: unknown;
    try {
      await sendSamples(producer, topic, demoSamples().slice(0, 3), 'snappy');
    } catch (caught) {
      error = caught;
    } finally {
      await producer.disconnect();
    }
    expect(error).toBeInstanceOf(KafkaJSProtocolError);
    expect(error).toMatchObject({ type: 'INVALID_RECORD', code: ErrorCode.InvalidRecord, retriable: false });
    expect((error as Error).message).not.toContain('lumens');
    expect(await highWatermarks(topic, 1)).toEqual([0n]);
  });

  test('the Java producer prints InvalidRecordException with the reason', async () => {
    const topic = await demoTopic(rejecting, 'val-reject-java');
    const result = await kafkaTool(
      ['console-producer', '--bootstrap-server', rejecting.bootstrap, '--topic', topic],
      {
        input: `${light({ lumens: -4 })}\n`,
      },
    );
    expect(result.stderr).toContain(
      'org.apache.kafka.common.InvalidRecordException: lumens: Must be greater than or equal to 0',
    );
    expect(await highWatermarks(topic, 1)).toEqual([0n]);
  }, 60_000);

  test('a request with a valid partition and an invalid one writes neither; Produce v9 names the record and the reason', async () => {
    const topic = await demoTopic(rejecting, 'val-reject-mixed', '3.0', 2);
    const valid = demoSamples().filter((s) => s.errors === null);
    const response = await produceRaw(rejecting.brokerAddress(1), PRODUCE_WITH_ERROR_MESSAGES, [
      {
        topic,
        partitions: [
          { index: 0, records: recordBatch(valid) },
          { index: 1, records: recordBatch([valid[0], { value: light({ lumens: true }) }]) },
        ],
      },
    ]);
    const [first, second] = response.responses[0].partitionResponses;
    expect(second).toMatchObject({
      index: 1,
      errorCode: ErrorCode.InvalidRecord,
      errorMessage: `record 1 of ${topic}-1: lumens: Invalid type. Expected: integer, given: boolean`,
      recordErrors: [
        expect.objectContaining({
          batchIndex: 1,
          batchIndexErrorMessage: 'lumens: Invalid type. Expected: integer, given: boolean',
        }),
      ],
    });
    expect(first).toMatchObject({
      index: 0,
      errorCode: ErrorCode.InvalidRecord,
      errorMessage: `not written: ${topic}-1 in the same request was refused`,
      recordErrors: [],
    });

    // The same through kafkajs, which sends both partitions in one request.
    const producer = await connectedProducer(rejecting);
    try {
      await expect(
        producer.send({
          topic,
          acks: -1,
          messages: [
            { partition: 0, value: valid[0].value },
            { partition: 1, value: light({ lumens: -1 }) },
          ],
        }),
      ).rejects.toMatchObject({ type: 'INVALID_RECORD' });
    } finally {
      await producer.disconnect();
    }
    expect(await highWatermarks(topic, 2)).toEqual([0n, 0n]);
  });

  test('topicsWithoutSpec: reject refuses records of a topic no spec describes, saying so', async () => {
    const topic = uniqueTopic('val-undescribed');
    await createTopics([topic]);
    const response = await produceRaw(rejecting.brokerAddress(1), PRODUCE_WITH_ERROR_MESSAGES, [
      { topic, partitions: [{ index: 0, records: recordBatch([{ value: light({ lumens: 1 }) }]) }] },
    ]);
    expect(response.responses[0].partitionResponses[0]).toMatchObject({
      errorCode: ErrorCode.InvalidRecord,
      errorMessage: `record 0 of ${topic}-0: topic ${topic} is not described by any AsyncAPI spec`,
    });
    const result = await kcatProduce(rejecting.bootstrap, topic, demoSamples().slice(0, 1), 'none', {});
    expect(result.stderr).toContain('Broker failed to validate record');
    expect(await highWatermarks(topic, 1)).toEqual([0n]);
  });

  test('refused records are counted as invalid_rejected', async () => {
    const topic = await demoTopic(rejecting, 'val-reject-metrics');
    await produceRaw(rejecting.brokerAddress(1), PRODUCE_WITH_ERROR_MESSAGES, [
      {
        topic,
        partitions: [
          {
            index: 0,
            records: recordBatch([{ value: light({ lumens: -1 }) }, { value: light({ lumens: true }) }]),
          },
        ],
      },
    ]);
    expect(await rejecting.recordsCounted(topic, 'invalid_rejected')).toBe(2);
    expect(await rejecting.recordsCounted(topic, 'invalid_tagged')).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('legacy message formats', () => {
  test('a magic v1 message set (in Produce v3, the oldest version Kafka 4 accepts) is refused with UNSUPPORTED_FOR_MESSAGE_FORMAT', async () => {
    const topic = await demoTopic(tagging, 'val-legacy');
    const mark = tagging.logs.mark();
    const response = await produceRaw(tagging.brokerAddress(1), 3, [
      { topic, partitions: [{ index: 0, records: legacyMessageV1('k', JSON.stringify({ lumens: 1 })) }] },
    ]);
    expect(response.responses[0].partitionResponses[0]).toMatchObject({
      errorCode: ErrorCode.UnsupportedForMessageFormat,
      baseOffset: -1n,
    });
    const refused = await tagging.logs.waitFor(
      (line) => line.msg === 'produce request refused' && line.topic === topic,
      mark,
    );
    expect(refused.reason).toContain('message format v1 carries no headers and cannot be checked');
    expect(await highWatermarks(topic, 1)).toEqual([0n]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('specs change at run time', () => {
  test('the spec API wants the bearer token when one is configured', async () => {
    const id = uniqueTopic('val-auth');
    const body = demoSpec('3.0', id);
    for (const token of [null, 'not-the-admin-token-at-all']) {
      const denied = await tagging.http('PUT', `/specs/${id}`, { body, token });
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toBe('Bearer');
      expect((await tagging.http('GET', '/specs', { token })).status).toBe(401);
    }
    expect((await tagging.http('GET', `/specs/${id}`)).status).toBe(404);
    expect((await tagging.http('PUT', `/specs/${id}`, { body })).status).toBe(201);
    expect((await tagging.http('PUT', `/specs/${id}`, { body })).status).toBe(200);
    expect((await tagging.http('GET', `/specs/${id}/document`)).text).toBe(body);
    expect((await tagging.http('DELETE', `/specs/${id}`, { token: null })).status).toBe(401);
    expect((await tagging.http('DELETE', `/specs/${id}`)).status).toBe(204);
    expect((await tagging.http('DELETE', `/specs/${id}`)).status).toBe(404);
  });

  test('upload, bad upload and delete while a producer keeps sending: verdicts follow the spec, the connection stays', async () => {
    const topic = uniqueTopic('val-live');
    await createTopics([topic]);
    const producer = await connectedProducer(tagging, { idempotent: true, maxInFlightRequests: 1 });
    const mark = tagging.logs.mark();
    const errors: unknown[] = [];
    // A record whose send started and ended within one phase must carry that phase's verdict;
    // one that overlaps a change could have been judged either way, and is not checked.
    const PHASES = [
      'unspecified',
      'uploading',
      'specified',
      'bad-upload',
      'after-bad-upload',
      'deleting',
      'deleted',
    ] as const;
    const expectTagged: Partial<Record<(typeof PHASES)[number], boolean>> = {
      unspecified: false,
      specified: true,
      // A refused document changes nothing, not even while it is being parsed.
      'bad-upload': true,
      'after-bad-upload': true,
      deleted: false,
    };
    let phase = 0;
    const spans = new Map<number, [number, number]>();
    let stop = false;
    const sending = (async () => {
      for (let seq = 0; !stop; seq++) {
        const value = light({ seq, lumens: seq % 2 === 0 ? seq : -1 });
        const started = phase;
        await producer
          .send({ topic, acks: -1, messages: [{ partition: 0, value }] })
          .catch((error: unknown) => errors.push(error));
        spans.set(seq, [started, phase]);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    // A phase lasts until 8 sends (4 of them invalid) started and ended in it, however slow the machine.
    const wait = async () => {
      const current = phase;
      const deadline = Date.now() + 15_000;
      const completed = () => [...spans.values()].filter(([s, e]) => s === current && e === current).length;
      while (completed() < 8) {
        if (Date.now() > deadline) {
          throw new Error(`only ${completed()} sends completed in phase ${PHASES[current]}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const spec = demoSpec('3.0', topic);
    try {
      await wait();
      phase++;
      expect((await tagging.http('PUT', `/specs/${topic}`, { body: spec })).status).toBe(201);
      phase++;
      await wait();
      phase++;
      const bad = await tagging.http('PUT', `/specs/${topic}`, {
        body: spec.replace(/^ {2}version: 1\.0\.0\n/m, ''),
      });
      phase++;
      expect(bad.status).toBe(400);
      expect(bad.json()).toEqual({
        error: expect.any(String),
        status: 400,
        diagnostics: expect.arrayContaining([
          expect.objectContaining({ path: 'info', message: expect.stringContaining('version') }),
        ]),
      });
      await wait();
      phase++;
      expect((await tagging.http('DELETE', `/specs/${topic}`)).status).toBe(204);
      phase++;
      await wait();
    } finally {
      stop = true;
      await sending;
    }
    // Checked before disconnecting, which closes connections on purpose.
    expect(tagging.logs.lines.slice(mark).filter((line) => line.msg === 'connection closed')).toEqual([]);
    await producer.disconnect();
    expect(errors).toEqual([]);

    const stored = await readPartitionUntil(topic, 0, spans.size);
    expect(stored.records).toHaveLength(spans.size);
    const checked = new Map<string, number>();
    for (const record of stored.records) {
      const { seq, lumens } = JSON.parse(text(record.value)!) as { seq: number; lumens: number };
      const [started, ended] = spans.get(seq)!;
      const tagged = expectTagged[PHASES[started]];
      if (started !== ended || tagged === undefined || lumens >= 0) {
        if (lumens >= 0) expect(verdictOf(record)).toBeNull();
        continue;
      }
      expect({ phase: PHASES[started], seq, verdict: verdictOf(record)?.errors ?? null }).toEqual({
        phase: PHASES[started],
        seq,
        verdict: tagged ? ['lumens: Must be greater than or equal to 0'] : null,
      });
      checked.set(PHASES[started], (checked.get(PHASES[started]) ?? 0) + 1);
    }
    // Each phase that was waited for really had invalid records to judge (bad-upload lasts only a parse).
    const waitedFor = ['unspecified', 'specified', 'after-bad-upload', 'deleted'];
    expect(Object.fromEntries(waitedFor.map((name) => [name, Math.min(checked.get(name) ?? 0, 4)]))).toEqual(
      Object.fromEntries(waitedFor.map((name) => [name, 4])),
    );
  }, 30_000);
});

// ---------------------------------------------------------------------------------------------

describe('AsyncAPI 2.x and 3.x documents of the same contract give the same verdicts', () => {
  test('asyncapi/demo.yaml and asyncapi/demo-2.6.yaml', async () => {
    const samples = demoSamples({ 'trace-id': 'versions' });
    const producer = await connectedProducer(tagging);
    const stored: StoredRecord[][] = [];
    try {
      for (const version of ['3.0', '2.6'] as const) {
        const topic = await demoTopic(tagging, `val-demo-${version}`, version);
        await sendSamples(producer, topic, samples);
        stored.push((await readPartitionUntil(topic, 0, samples.length)).records);
      }
    } finally {
      await producer.disconnect();
    }
    expect(verdicts(stored[1])).toEqual(verdicts(stored[0]));
    expect(verdicts(stored[0])).toEqual(samples.map((s) => s.errors));
  });

  const streetlights = ['2.6', '3.1'].map((v) => path.join(EXAMPLES_DIR, `streetlights-kafka-${v}.yml`));
  const haveStreetlights = streetlights.every((file) => existsSync(file));
  if (!haveStreetlights) {
    console.warn(
      `Skipping the Streetlights conformance test: ${streetlights.join(' and ')} not found (the shared AsyncAPI examples sit beside the repository).`,
    );
  }

  (haveStreetlights ? test : test.skip)(
    'the official Streetlights Kafka example, 2.6 and 3.1, uploaded through the API',
    async () => {
      const measured = (id: string) => `smartylighting.streetlights.1.0.event.${id}.lighting.measured`;
      const turnOn = (id: string) => `smartylighting.streetlights.1.0.action.${id}.turn.on`;
      const dim = (id: string) => `smartylighting.streetlights.1.0.action.${id}.dim`;
      const sentAt = '2024-05-01T10:00:00Z';
      const cases: { to: (id: string) => string; value: string; header?: string; errors: string[] | null }[] =
        [
          { to: measured, value: JSON.stringify({ lumens: 300, sentAt }), header: '50', errors: null },
          { to: measured, value: JSON.stringify({ lumens: 300, sentAt }), errors: null },
          {
            to: measured,
            value: JSON.stringify({ lumens: -3, sentAt }),
            header: '50',
            errors: ['lumens: Must be greater than or equal to 0'],
          },
          {
            to: measured,
            value: JSON.stringify({ lumens: 300, sentAt: 'now' }),
            errors: ["sentAt: Does not match format 'date-time'"],
          },
          {
            to: measured,
            value: JSON.stringify({ lumens: 300, sentAt }),
            header: '101',
            errors: ['headers.my-app-header: Must be less than or equal to 100'],
          },
          {
            to: measured,
            value: JSON.stringify({ lumens: 300, sentAt }),
            header: 'bright',
            errors: ['headers.my-app-header: Invalid type. Expected: integer, given: string'],
          },
          { to: turnOn, value: JSON.stringify({ command: 'on', sentAt }), header: '0', errors: null },
          {
            to: turnOn,
            value: JSON.stringify({ command: 'blink', sentAt }),
            errors: ['command: Must be one of the following: "on", "off"'],
          },
          {
            to: dim,
            value: JSON.stringify({ percentage: 101, sentAt }),
            errors: ['percentage: Must be less than or equal to 100'],
          },
        ];
      const specId = uniqueTopic('val-streetlights');
      const producer = await connectedProducer(tagging, { allowAutoTopicCreation: true });
      const results: Record<string, (string[] | null)[]> = {};
      try {
        for (const file of streetlights) {
          const version = /kafka-(\d\.\d)\.yml$/.exec(file)![1];
          // Both documents claim the same channels, so one replaces the other under the same id.
          const answer = await tagging.putSpec(specId, readFileSync(file, 'utf8'));
          expect(answer.json()).toMatchObject({ asyncapi: `${version}.0` });
          const lightId = uniqueTopic(`sl${version.replace('.', '')}`);
          const topics = [...new Set(cases.map((c) => c.to(lightId)))];
          await createTopics(topics);
          for (const c of cases) {
            await producer.send({
              topic: c.to(lightId),
              acks: -1,
              messages: [
                {
                  partition: 0,
                  value: c.value,
                  headers: c.header === undefined ? {} : { 'my-app-header': c.header },
                },
              ],
            });
          }
          const stored = new Map<string, StoredRecord[]>();
          for (const topic of topics)
            stored.set(
              topic,
              (await readPartitionUntil(topic, 0, cases.filter((c) => c.to(lightId) === topic).length))
                .records,
            );
          results[version] = cases.map((c) => {
            const record = stored.get(c.to(lightId))!.shift()!;
            expect(text(record.value)).toBe(c.value);
            return verdictOf(record)?.errors ?? null;
          });
        }
      } finally {
        await producer.disconnect();
        await tagging.http('DELETE', `/specs/${specId}`);
      }
      expect(results['3.1']).toEqual(results['2.6']);
      expect(results['2.6']).toEqual(cases.map((c) => c.errors));
    },
    60_000,
  );
});

// ---------------------------------------------------------------------------------------------

describe('metrics', () => {
  test('event_gateway_records_total counts every record sent, by outcome', async () => {
    const topic = await demoTopic(tagging, 'val-metrics');
    const undescribed = uniqueTopic('val-metrics-nospec');
    await createTopics([undescribed]);
    const samples = demoSamples();
    const producer = await connectedProducer(tagging);
    try {
      await sendSamples(producer, topic, samples, 'gzip');
      await sendSamples(producer, topic, samples.slice(0, 3));
      await sendSamples(producer, undescribed, samples);
    } finally {
      await producer.disconnect();
    }
    const sent = [...samples, ...samples.slice(0, 3)];
    expect(await tagging.recordsCounted(topic, 'valid')).toBe(sent.filter((s) => s.errors === null).length);
    expect(await tagging.recordsCounted(topic, 'invalid_tagged')).toBe(
      sent.filter((s) => s.errors !== null).length,
    );
    expect(await tagging.recordsCounted(topic, 'invalid_rejected')).toBe(0);
    expect(await tagging.recordsCounted(undescribed, 'unvalidated')).toBe(samples.length);
  });
});

// ---------------------------------------------------------------------------------------------

describe('a third-party middleware module (config/middlewares/require-header.js)', () => {
  test('is loaded with its options and enforces them alongside validation', async () => {
    expect(plugin.logs.find((line) => line.msg === 'require-header middleware ready')).toMatchObject({
      header: 'trace-id',
    });
    const topic = await demoTopic(plugin, 'val-plugin', '3.0', 2);
    const samples = [
      { key: 'traced-valid', value: light({ lumens: 1 }), headers: { 'trace-id': 't-1' }, errors: null },
      {
        key: 'traced-invalid',
        value: light({ lumens: -1 }),
        headers: { 'trace-id': 't-2' },
        errors: ['lumens: Must be greater than or equal to 0'],
      },
    ];
    const producer = await connectedProducer(plugin);
    const since = Date.now();
    try {
      await sendSamples(producer, topic, samples, 'zstd');
      await expect(
        sendSamples(
          producer,
          topic,
          [{ key: 'untraced', value: light({ lumens: 2 }), headers: {}, errors: null }],
          'none',
          1,
        ),
      ).rejects.toMatchObject({
        type: 'INVALID_RECORD',
      });
    } finally {
      await producer.disconnect();
    }
    expectStored((await readPartitionUntil(topic, 0, samples.length)).records, samples, since);

    // The reason, as a Produce v9 client (the Java one) gets it, also for topics without a spec.
    const undescribed = uniqueTopic('val-plugin-nospec');
    await createTopics([undescribed]);
    for (const to of [topic, undescribed]) {
      const response = await produceRaw(plugin.brokerAddress(1), PRODUCE_WITH_ERROR_MESSAGES, [
        {
          topic: to,
          partitions: [
            {
              index: to === topic ? 1 : 0,
              records: recordBatch([
                { value: light({ lumens: 3 }), headers: { 'trace-id': 'ok' } },
                { value: light({ lumens: 4 }) },
              ]),
            },
          ],
        },
      ]);
      expect(response.responses[0].partitionResponses[0]).toMatchObject({
        errorCode: ErrorCode.InvalidRecord,
        recordErrors: [
          expect.objectContaining({
            batchIndex: 1,
            batchIndexErrorMessage: "record has no 'trace-id' header, which every record must carry",
          }),
        ],
      });
    }
    expect(await highWatermarks(topic, 2)).toEqual([BigInt(samples.length), 0n]);
    expect(await highWatermarks(undescribed, 1)).toEqual([0n]);
  });

  test('checks its options: the gateway does not start without a header; topics narrows what it wants', async () => {
    await expect(
      startValidatingGateway({
        bootstrapPort: 24030,
        httpPort: 24093,
        pipeline: { middlewares: [{ module: 'config/middlewares/require-header.js', options: {} }] },
      }),
    ).rejects.toThrow('require-header: options.header must name the header every record must carry');

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const create = require(
      path.join(REPO_ROOT, 'config', 'middlewares', 'require-header.js'),
    ) as MiddlewareFactory;
    const tools = { logger: { info: () => undefined, warn: () => undefined, error: () => undefined } };
    const narrowed = (await create({ header: 'trace-id', topics: '^orders\\.' }, tools)) as Middleware;
    expect([narrowed.wants?.('orders.placed'), narrowed.wants?.('payments.orders.x')]).toEqual([true, false]);
    expect(() => create({ header: 'trace-id', topics: '(' }, tools)).toThrow(
      /options\.topics is not a valid regular expression/,
    );
  });
});
