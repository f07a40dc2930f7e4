import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SpecStore } from '../../../src/asyncapi/spec-store';
import { ErrorCode } from '../../../src/protocol/error-codes';
import { ApiKey, decodeProduceResponse } from '../../../src/protocol/messages';
import { Reader } from '../../../src/protocol/primitives';
import {
  decodeRecords,
  encodeRecordBatch,
  readRecordBatches,
  type RecordBatch,
} from '../../../src/protocol/records';
import { decodeResponseHeader } from '../../../src/protocol/headers';
import { createLogger } from '../../../src/observability/logger';
import type { Middleware } from '../../../src/pipeline/middleware';
import { Pipeline } from '../../../src/pipeline/pipeline';
import { VALIDATION_ERROR_HEADER } from '../../../src/asyncapi/record-validator';
import { validationMiddleware } from '../../../src/pipeline/validation-middleware';
import type { ConnectionContext, RequestDecision, RequestRoute } from '../../../src/proxy/api-handler';
import { produceHandler } from '../../../src/proxy/handlers/produce';
import { withSizePrefix } from '../../../src/proxy/frame-reader';
import { decodeProduceFrame, produceFrame } from '../support/produce-frames';
import { staticAddressBook } from '../support/address-book';

const TOPIC = 'event-gateway-demo';
const GZIP = 1;

function batch(values: (string | null)[], attributes = 0, producerId = -1n, baseSequence = -1): Buffer {
  return encodeRecordBatch(
    {
      baseOffset: 0n,
      partitionLeaderEpoch: -1,
      attributes,
      lastOffsetDelta: values.length - 1,
      baseTimestamp: 1_700_000_000_000n,
      maxTimestamp: 1_700_000_000_000n,
      producerId,
      producerEpoch: producerId === -1n ? -1 : 0,
      baseSequence,
    },
    values.map((value, i) => ({
      attributes: 0,
      timestampDelta: 0,
      offsetDelta: i,
      key: null,
      value: value === null ? null : Buffer.from(value),
      headers: [{ key: 'origin', value: Buffer.from('test') }],
    })),
  );
}

const book = staticAddressBook();

const connection: ConnectionContext = {
  id: 1,
  clientAddress: '127.0.0.1:1234',
  listener: 'bootstrap',
  logger: createLogger('silent'),
  clientId: null,
};

async function decide(pipeline: Pipeline, frame: Buffer, version: number): Promise<RequestDecision> {
  const handler = produceHandler({ book, pipeline: () => pipeline });
  const route: RequestRoute = { apiKey: ApiKey.Produce, apiVersion: version, correlationId: 7 };
  return handler.onRequest!(frame, route, connection);
}

/** The first partition of the Produce v9 response the gateway answered with itself. */
function answeredPartition(decision: RequestDecision) {
  expect(decision.action).toBe('respond');
  if (decision.action !== 'respond') throw new Error('not answered by the gateway');
  const reader = new Reader(decision.response);
  decodeResponseHeader(reader, ApiKey.Produce, 9);
  return decodeProduceResponse(reader, 9).responses[0].partitionResponses[0];
}

function recordsOf(frame: Buffer, version: number) {
  const request = decodeProduceFrame(frame, version);
  return request.topicData.flatMap((t) =>
    t.partitionData.map((p) => {
      const batches = readRecordBatches(p.records!) as RecordBatch[];
      return { batches, records: batches.flatMap((b) => decodeRecords(b)) };
    }),
  );
}

describe('produce pipeline', () => {
  let store: SpecStore;
  beforeAll(async () => {
    store = new SpecStore();
    await store.put(
      'demo',
      readFileSync(path.join(__dirname, '../../../asyncapi/demo.yaml'), 'utf8'),
      'file',
    );
  }, 30_000);

  const validating = (failWhenInvalid: boolean) =>
    new Pipeline([validationMiddleware(store, { failWhenInvalid, topicsWithoutSpec: 'pass' })]);

  it.each([3, 7, 9, 12])('forwards a valid request as the original bytes (v%i)', async (version) => {
    const frame = produceFrame(version, [
      { topic: TOPIC, partition: 0, records: batch(['{"lumens": 1}', '{"lumens": 2}']) },
    ]);
    expect(await decide(validating(false), frame, version)).toEqual({
      action: 'forward',
      expectResponse: true,
    });
  });

  it.each([3, 9, 12])(
    'tags invalid records and keeps compression, producer id and sequence (v%i)',
    async (version) => {
      const original = batch(['{"lumens": 1}', '{"lumens": true}', '{"lumens": -1}'], GZIP, 4242n, 17);
      const frame = produceFrame(version, [{ topic: TOPIC, partition: 3, records: original }]);
      const decision = await decide(validating(false), frame, version);
      expect(decision.action).toBe('forward');
      if (decision.action !== 'forward') return;
      expect(decision.frame).toBeDefined();
      const [{ batches, records }] = recordsOf(decision.frame!, version);
      expect(batches).toHaveLength(1);
      expect(batches[0]).toMatchObject({
        compression: GZIP,
        producerId: 4242n,
        baseSequence: 17,
        recordsCount: 3,
        lastOffsetDelta: 2,
      });
      expect(records.map((r) => r.value!.toString())).toEqual([
        '{"lumens": 1}',
        '{"lumens": true}',
        '{"lumens": -1}',
      ]);
      expect(records[0].headers).toEqual([{ key: 'origin', value: Buffer.from('test') }]);
      const tag = (i: number) =>
        JSON.parse(records[i].headers.find((h) => h.key === VALIDATION_ERROR_HEADER)!.value!.toString());
      expect(tag(1).errors).toEqual(['lumens: Invalid type. Expected: integer, given: boolean']);
      expect(tag(2).errors).toEqual(['lumens: Must be greater than or equal to 0']);
      expect(new Date(tag(1).ts).toISOString()).toBe(tag(1).ts);
      // The request header travels as the producer sent it.
      expect(decision.frame!.subarray(0, 8)).toEqual(frame.subarray(0, 8));
      // It leaves in one write: its size prefix sits in the 4 bytes in front of it.
      expect(decision.frame!.byteOffset).toBeGreaterThanOrEqual(4);
      expect(withSizePrefix(decision.frame!).readInt32BE(0)).toBe(decision.frame!.length);
    },
  );

  it('leaves topics without a spec untouched and undecoded', async () => {
    const seen: string[] = [];
    const spy: Middleware = {
      name: 'spy',
      wants: (topic) => topic === TOPIC,
      onRecord: (r) => void seen.push(r.topic),
    };
    const frame = produceFrame(9, [
      { topic: 'other', partition: 0, records: batch(['not json']) },
      { topic: TOPIC, partition: 0, records: batch(['{}']) },
    ]);
    expect(await decide(new Pipeline([spy]), frame, 9)).toEqual({ action: 'forward', expectResponse: true });
    expect(seen).toEqual([TOPIC]);
  });

  it.each([3, 7, 8, 9, 12])(
    'refuses the whole request in reject mode, naming the records (v%i)',
    async (version) => {
      const frame = produceFrame(version, [
        { topic: TOPIC, partition: 0, records: batch(['{"lumens": 1}', '{"lumens": true}']) },
        { topic: TOPIC, partition: 1, records: batch(['{"lumens": 5}']) },
        { topic: 'other', partition: 0, records: batch(['x']) },
      ]);
      const decision = await decide(validating(true), frame, version);
      expect(decision.action).toBe('respond');
      if (decision.action !== 'respond') return;
      const reader = new Reader(decision.response);
      expect(decodeResponseHeader(reader, ApiKey.Produce, version).correlationId).toBe(7);
      const response = decodeProduceResponse(reader, version);
      const partitions = response.responses.flatMap((t) =>
        t.partitionResponses.map((p) => ({ topic: t.name, ...p })),
      );
      expect(partitions.map((p) => [p.topic, p.index, p.errorCode])).toEqual([
        [TOPIC, 0, ErrorCode.InvalidRecord],
        [TOPIC, 1, ErrorCode.InvalidRecord],
        ['other', 0, ErrorCode.InvalidRecord],
      ]);
      if (version >= 8) {
        expect(partitions[0].recordErrors.map((e) => [e.batchIndex, e.batchIndexErrorMessage])).toEqual([
          [1, 'lumens: Invalid type. Expected: integer, given: boolean'],
        ]);
        expect(partitions[0].errorMessage).toBe(
          `record 1 of ${TOPIC}-0: lumens: Invalid type. Expected: integer, given: boolean`,
        );
        expect(partitions[1].errorMessage).toBe(`not written: ${TOPIC}-0 in the same request was refused`);
      }
    },
  );

  it('closes the connection for a refused acks=0 request, which cannot be answered', async () => {
    const frame = produceFrame(9, [{ topic: TOPIC, partition: 0, records: batch(['{"lumens": "x"}']) }], 0);
    expect((await decide(validating(true), frame, 9)).action).toBe('close');
    const valid = produceFrame(9, [{ topic: TOPIC, partition: 0, records: batch(['{"lumens": 3}']) }], 0);
    expect(await decide(validating(true), valid, 9)).toEqual({ action: 'forward', expectResponse: false });
  });

  it.each([
    ['tagged', false],
    ['refused', true],
  ])(
    'answers a corrupt batch it would act on (a record %s) with CORRUPT_MESSAGE, not a verdict',
    async (_, failWhenInvalid) => {
      const records = batch(['{"lumens": 1}', '{"lumens": "x"}']);
      records[records.length - 1] ^= 0xff; // breaks the CRC
      const frame = produceFrame(9, [{ topic: TOPIC, partition: 0, records }]);
      const partition = answeredPartition(await decide(validating(failWhenInvalid), frame, 9));
      expect(partition.errorCode).toBe(ErrorCode.CorruptMessage);
      expect(partition.errorMessage).toMatch(/could not be read: record batch CRC mismatch/);
      // No verdict on the damaged record's content.
      expect(partition.recordErrors.map((e) => e.batchIndexErrorMessage)).toEqual([
        expect.stringMatching(/CRC mismatch/),
      ]);
    },
  );

  it('forwards a corrupt batch it does not act on as it came, for the broker to refuse', async () => {
    const records = batch(['{"lumens": 1}']);
    records[records.length - 1] ^= 0xff; // breaks the CRC; the record still reads as valid
    const frame = produceFrame(9, [{ topic: TOPIC, partition: 0, records }]);
    expect(await decide(validating(false), frame, 9)).toEqual({ action: 'forward', expectResponse: true });
  });

  it('answers a batch it cannot read with CORRUPT_MESSAGE instead of dropping the connection', async () => {
    const records = batch(['{"lumens": 1}']);
    records.writeInt32BE(1000, 57); // the record count: more records than the bytes can hold
    const frame = produceFrame(9, [{ topic: TOPIC, partition: 0, records }]);
    const partition = answeredPartition(await decide(validating(false), frame, 9));
    expect(partition.errorCode).toBe(ErrorCode.CorruptMessage);
    expect(partition.errorMessage).toMatch(/could not be read/);
  });

  it('waits for asynchronous middlewares and applies them in order', async () => {
    const order: string[] = [];
    const slow: Middleware = {
      name: 'slow',
      onRecord: async (record, verdict) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push(`slow:${record.index}`);
        verdict.addHeader('checked-by', 'slow');
      },
    };
    const fast: Middleware = { name: 'fast', onRecord: (record) => void order.push(`fast:${record.index}`) };
    const frame = produceFrame(9, [{ topic: 'any', partition: 0, records: batch(['a', 'b']) }]);
    const decision = await decide(new Pipeline([slow, fast]), frame, 9);
    expect(order.filter((o) => o.endsWith(':0'))).toEqual(['slow:0', 'fast:0']);
    expect(decision.action).toBe('forward');
    if (decision.action !== 'forward') return;
    const [{ records }] = recordsOf(decision.frame!, 9);
    expect(records.map((r) => r.headers.map((h) => h.key))).toEqual([
      ['origin', 'checked-by'],
      ['origin', 'checked-by'],
    ]);
  });
});

describe('record tally', () => {
  let store: SpecStore;
  beforeAll(async () => {
    store = new SpecStore();
    await store.put(
      'demo',
      readFileSync(path.join(__dirname, '../../../asyncapi/demo.yaml'), 'utf8'),
      'file',
    );
  }, 30_000);

  function run(pipeline: Pipeline, partitions: { topic: string; partition: number; records: Buffer }[]) {
    const request = decodeProduceFrame(produceFrame(9, partitions), 9);
    const context = {
      door: 'kafka' as const,
      clientId: null,
      clientAddress: 'x',
      acks: -1,
      transactionalId: null,
      apiVersion: 9,
    };
    return pipeline.run(
      request,
      request.topicData.map((t) => t.name),
      context,
    ) as ReturnType<Pipeline['run']> & object;
  }

  const sorted = (tally: { topic: string; outcome: string; count: number }[]) =>
    [...tally].sort((a, b) => `${a.topic}${a.outcome}`.localeCompare(`${b.topic}${b.outcome}`));

  it('counts written records by what validation found, and unchecked topics from batch headers', async () => {
    const pipeline = new Pipeline(
      [validationMiddleware(store, { failWhenInvalid: false, topicsWithoutSpec: 'pass' })],
      { tallyRecords: true },
    );
    const outcome = await run(pipeline, [
      { topic: TOPIC, partition: 0, records: batch(['{"lumens": 1}', '{"lumens": -1}']) },
      { topic: 'other', partition: 0, records: batch(['x', 'y', 'z']) },
    ]);
    expect(sorted(outcome.tally)).toEqual([
      { topic: TOPIC, outcome: 'invalid_tagged', count: 1 },
      { topic: TOPIC, outcome: 'valid', count: 1 },
      { topic: 'other', outcome: 'unvalidated', count: 3 },
    ]);
  });

  it('counts the valid records of a refused request as refused, not as written', async () => {
    const pipeline = new Pipeline(
      [validationMiddleware(store, { failWhenInvalid: true, topicsWithoutSpec: 'pass' })],
      { tallyRecords: true },
    );
    const outcome = await run(pipeline, [
      { topic: TOPIC, partition: 0, records: batch(['{"lumens": 1}', '{"lumens": -1}']) },
      { topic: 'other', partition: 0, records: batch(['x']) },
    ]);
    expect(sorted(outcome.tally)).toEqual([
      { topic: TOPIC, outcome: 'invalid_rejected', count: 1 },
      { topic: TOPIC, outcome: 'refused', count: 1 },
      { topic: 'other', outcome: 'refused', count: 1 },
    ]);
  });

  it('counts records a non-validating middleware decoded as unvalidated', async () => {
    const spy: Middleware = { name: 'spy', onRecord: () => undefined };
    const pipeline = new Pipeline(
      [validationMiddleware(store, { failWhenInvalid: false, topicsWithoutSpec: 'pass' }), spy],
      { tallyRecords: true },
    );
    const outcome = await run(pipeline, [{ topic: 'other', partition: 0, records: batch(['x', 'y']) }]);
    expect(outcome.tally).toEqual([{ topic: 'other', outcome: 'unvalidated', count: 2 }]);
  });
});
