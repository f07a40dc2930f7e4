/**
 * The filter middleware inside the produce path: reject answers POLICY_VIOLATION naming the rule;
 * drop re-encodes what is left of a batch the way Kafka insists on (offset deltas 0..n-1,
 * lastOffsetDelta, count, CRC), takes emptied partitions out of the request and answers them in
 * the broker's response, and falls back for idempotent and transactional batches.
 */
import { ConfigError, resolveConfig } from '../../../src/config/load-config';
import { createLogger } from '../../../src/observability/logger';
import { filterMiddleware } from '../../../src/pipeline/filter/filter-middleware';
import type { Middleware } from '../../../src/pipeline/middleware';
import { Pipeline } from '../../../src/pipeline/pipeline';
import { ErrorCode } from '../../../src/protocol/error-codes';
import {
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
} from '../../../src/protocol/headers';
import {
  ApiKey,
  createProduceRequest,
  createProduceRequestPartitionProduceData,
  createProduceRequestTopicProduceData,
  createProduceResponse,
  createProduceResponsePartitionProduceResponse,
  createProduceResponseTopicProduceResponse,
  decodeProduceResponse,
  encodeProduceRequest,
  encodeProduceResponse,
  type ProduceResponse,
} from '../../../src/protocol/messages';
import { Reader, Writer } from '../../../src/protocol/primitives';
import {
  BatchAttributes,
  CompressionType,
  decodeRecords,
  encodeRecordBatch,
  readRecordBatches,
  verifyCrc,
  type RecordBatch,
} from '../../../src/protocol/records';
import type { ConnectionContext, RequestDecision, RequestRoute } from '../../../src/proxy/api-handler';
import { produceHandler } from '../../../src/proxy/handlers/produce';
import { decodeProduceFrame, produceFrame } from '../support/produce-frames';
import { staticAddressBook } from '../support/address-book';

const BASE_TIMESTAMP = 1_700_000_000_000n;

interface BatchOptions {
  attributes?: number;
  producerId?: bigint;
  baseSequence?: number;
}

/** A batch whose record i has timestamp BASE + 10*i and the header `n: i`. */
function batch(values: (string | null)[], options: BatchOptions = {}): Buffer {
  const producerId = options.producerId ?? -1n;
  return encodeRecordBatch(
    {
      baseOffset: 0n,
      partitionLeaderEpoch: -1,
      attributes: options.attributes ?? 0,
      lastOffsetDelta: values.length - 1,
      baseTimestamp: BASE_TIMESTAMP,
      maxTimestamp: BASE_TIMESTAMP + BigInt(10 * (values.length - 1)),
      producerId,
      producerEpoch: producerId === -1n ? -1 : 0,
      baseSequence: options.baseSequence ?? -1,
    },
    values.map((value, i) => ({
      attributes: 0,
      timestampDelta: 10 * i,
      offsetDelta: i,
      key: Buffer.from(`k${i}`),
      value: value === null ? null : Buffer.from(value),
      headers: [{ key: 'n', value: Buffer.from(String(i)) }],
    })),
  );
}

const book = staticAddressBook();

function connection(): ConnectionContext {
  return {
    id: 1,
    clientAddress: '127.0.0.1:1234',
    listener: 'bootstrap',
    logger: createLogger('silent'),
    clientId: null,
  };
}

function setup(middlewares: Middleware[], version = 9) {
  const handler = produceHandler({ book, pipeline: () => new Pipeline(middlewares) });
  const route: RequestRoute = { apiKey: ApiKey.Produce, apiVersion: version, correlationId: 7 };
  const context = connection();
  // What the connection would keep for the forwarded request and hand back once with its response.
  let exchange: unknown;
  return {
    decide: async (frame: Buffer) => {
      const decision = await handler.onRequest!(frame, route, context);
      exchange = decision.action === 'forward' ? decision.exchange : undefined;
      return decision;
    },
    /** Passes a broker response through the handler, as the connection would. */
    respond: async (response: ProduceResponse): Promise<ProduceResponse> => {
      const writer = new Writer();
      encodeResponseHeader(writer, { correlationId: 7 }, ApiKey.Produce, version);
      encodeProduceResponse(writer, response, version);
      const out = await handler.onResponse!(Buffer.from(writer.result()), route, context, exchange);
      exchange = undefined;
      const reader = new Reader(out);
      decodeResponseHeader(reader, ApiKey.Produce, version);
      return decodeProduceResponse(reader, version);
    },
  };
}

function refusal(decision: RequestDecision, version = 9): ProduceResponse {
  expect(decision.action).toBe('respond');
  if (decision.action !== 'respond') throw new Error('not a response');
  const reader = new Reader(decision.response);
  decodeResponseHeader(reader, ApiKey.Produce, version);
  return decodeProduceResponse(reader, version);
}

function brokerResponse(
  partitions: { topic: string; partition: number; baseOffset: bigint }[],
): ProduceResponse {
  const response = createProduceResponse();
  for (const p of partitions) {
    let topic = response.responses.find((t) => t.name === p.topic);
    if (topic === undefined) {
      topic = createProduceResponseTopicProduceResponse();
      topic.name = p.topic;
      response.responses.push(topic);
    }
    const partition = createProduceResponsePartitionProduceResponse();
    partition.index = p.partition;
    partition.baseOffset = p.baseOffset;
    topic.partitionResponses.push(partition);
  }
  return response;
}

const filter = (rules: unknown[], dropFallback?: 'reject' | 'pass') =>
  filterMiddleware({ rules, ...(dropFallback && { dropFallback }) }, 'pipeline.middlewares.0.filter');

const dropTest = filter([{ name: 'no-test-events', pattern: { value: { env: ['test'] } }, action: 'drop' }]);

const prod = (i: number) => JSON.stringify({ env: 'prod', i });
const test_ = (i: number) => JSON.stringify({ env: 'test', i });

describe('drop', () => {
  test.each([
    ['uncompressed', 0],
    ['gzip', CompressionType.Gzip],
    ['zstd', CompressionType.Zstd],
  ])(
    're-encodes the rest of a %s batch: offset deltas 0..n-1, lastOffsetDelta, count, CRC',
    async (_, codec) => {
      const values = [test_(0), prod(1), test_(2), prod(3), prod(4), test_(5)];
      const frame = produceFrame(9, [
        { topic: 'orders', partition: 2, records: batch(values, { attributes: codec }) },
      ]);
      const decision = await setup([dropTest]).decide(frame);
      expect(decision.action).toBe('forward');
      if (decision.action !== 'forward') return;
      const [topic] = decodeProduceFrame(decision.frame!, 9).topicData;
      const [view] = readRecordBatches(topic.partitionData[0].records!) as RecordBatch[];
      expect(verifyCrc(view)).toBe(true);
      expect(view).toMatchObject({
        compression: codec,
        recordsCount: 3,
        lastOffsetDelta: 2,
        producerId: -1n,
        baseSequence: -1,
        baseTimestamp: BASE_TIMESTAMP,
        // The last record left is record 4, at BASE + 40.
        maxTimestamp: BASE_TIMESTAMP + 40n,
      });
      const records = decodeRecords(view);
      expect(records.map((r) => r.offsetDelta)).toEqual([0, 1, 2]);
      expect(records.map((r) => r.timestampDelta)).toEqual([10, 30, 40]);
      expect(records.map((r) => r.value!.toString())).toEqual([prod(1), prod(3), prod(4)]);
      expect(records.map((r) => r.key!.toString())).toEqual(['k1', 'k3', 'k4']);
      expect(records.map((r) => r.headers)).toEqual(
        [1, 3, 4].map((i) => [{ key: 'n', value: Buffer.from(String(i)) }]),
      );
    },
  );

  test('leaves the request as the original bytes when nothing matches', async () => {
    const frame = produceFrame(9, [{ topic: 'orders', partition: 0, records: batch([prod(0), prod(1)]) }]);
    expect(await setup([dropTest]).decide(frame)).toEqual({ action: 'forward', expectResponse: true });
  });

  test('keeps LogAppendTime batches’ max timestamp, which the broker assigns', async () => {
    const records = batch([prod(0), test_(1)], { attributes: BatchAttributes.LogAppendTime });
    const decision = await setup([dropTest]).decide(produceFrame(9, [{ topic: 'o', partition: 0, records }]));
    if (decision.action !== 'forward') throw new Error(decision.action);
    const [view] = readRecordBatches(
      decodeProduceFrame(decision.frame!, 9).topicData[0].partitionData[0].records!,
    ) as RecordBatch[];
    expect(view.maxTimestamp).toBe(BASE_TIMESTAMP + 10n);
    expect(view.recordsCount).toBe(1);
  });

  test('adds the headers of other middlewares to the records that stay', async () => {
    const tagger: Middleware = {
      name: 'tagger',
      onRecord: (_record, verdict) => verdict.addHeader('seen', 'yes'),
    };
    const frame = produceFrame(9, [{ topic: 'o', partition: 0, records: batch([test_(0), prod(1)]) }]);
    const decision = await setup([dropTest, tagger]).decide(frame);
    if (decision.action !== 'forward') throw new Error(decision.action);
    const [view] = readRecordBatches(
      decodeProduceFrame(decision.frame!, 9).topicData[0].partitionData[0].records!,
    ) as RecordBatch[];
    expect(decodeRecords(view).map((r) => r.headers.map((h) => h.key))).toEqual([['n', 'seen']]);
  });

  test('later middlewares do not see dropped records, so they cannot refuse the request for them', async () => {
    const seen: number[] = [];
    const strict: Middleware = {
      name: 'strict',
      onRecord(record, verdict) {
        seen.push(record.index);
        const reading = record.json();
        if (reading.ok && (reading.data as { env: string }).env === 'test') verdict.reject('test data');
      },
    };
    const frame = produceFrame(9, [
      { topic: 'o', partition: 0, records: batch([test_(0), prod(1), test_(2)]) },
    ]);
    expect((await setup([dropTest, strict]).decide(frame)).action).toBe('forward');
    expect(seen).toEqual([1]);
  });

  test('a partition left without records is taken out of the request and answered as written', async () => {
    const frame = produceFrame(9, [
      { topic: 'orders', partition: 0, records: batch([test_(0), test_(1)]) },
      { topic: 'orders', partition: 1, records: batch([prod(0), test_(1)]) },
      { topic: 'audit', partition: 0, records: batch([test_(0)]) },
    ]);
    const gateway = setup([dropTest]);
    const decision = await gateway.decide(frame);
    if (decision.action !== 'forward') throw new Error(decision.action);
    const forwarded = decodeProduceFrame(decision.frame!, 9);
    expect(forwarded.topicData.map((t) => [t.name, t.partitionData.map((p) => p.index)])).toEqual([
      ['orders', [1]],
    ]);
    const answered = await gateway.respond(
      brokerResponse([{ topic: 'orders', partition: 1, baseOffset: 41n }]),
    );
    const partitions = answered.responses.flatMap((t) =>
      t.partitionResponses.map((p) => [t.name, p.index, p.errorCode, p.baseOffset]),
    );
    expect(partitions).toEqual([
      ['orders', 1, 0, 41n],
      ['orders', 0, 0, -1n],
      ['audit', 0, 0, -1n],
    ]);
    // Answered once: a later response with the same correlation id is left alone.
    const again = await gateway.respond(brokerResponse([{ topic: 'orders', partition: 1, baseOffset: 42n }]));
    expect(again.responses.flatMap((t) => t.partitionResponses)).toHaveLength(1);
  });

  test('a request left without any records goes to the broker empty (Kafka answers it) and is answered in full', async () => {
    const frame = produceFrame(7, [{ topic: 'orders', partition: 3, records: batch([test_(0)]) }]);
    const gateway = setup([dropTest], 7);
    const decision = await gateway.decide(frame);
    if (decision.action !== 'forward') throw new Error(decision.action);
    expect(decodeProduceFrame(decision.frame!, 7).topicData).toEqual([]);
    const answered = await gateway.respond(brokerResponse([]));
    expect(answered.responses).toEqual([
      expect.objectContaining({
        name: 'orders',
        partitionResponses: [expect.objectContaining({ index: 3, errorCode: 0, baseOffset: -1n })],
      }),
    ]);
  });

  test('Produce v13 names topics by id: the emptied partition is answered under its topic id', async () => {
    const ordersId = '0123456789abcdef0123456789abcdef';
    const byId = { ...book, topicName: (id: string) => (id === ordersId ? 'orders' : undefined) };
    const handler = produceHandler({ book: byId, pipeline: () => new Pipeline([dropTest]) });
    const route: RequestRoute = { apiKey: ApiKey.Produce, apiVersion: 13, correlationId: 7 };
    const context = connection();
    const writer = new Writer();
    encodeRequestHeader(writer, {
      apiKey: ApiKey.Produce,
      apiVersion: 13,
      correlationId: 7,
      clientId: 'unit',
    });
    const request = createProduceRequest();
    request.acks = -1;
    const topic = createProduceRequestTopicProduceData();
    topic.topicId = ordersId;
    for (const [index, records] of [
      [0, batch([test_(0)])],
      [1, batch([prod(1)])],
    ] as const) {
      const partition = createProduceRequestPartitionProduceData();
      partition.index = index;
      partition.records = records;
      topic.partitionData.push(partition);
    }
    request.topicData.push(topic);
    encodeProduceRequest(writer, request, 13);
    const decision = await handler.onRequest!(Buffer.from(writer.result()), route, context);
    if (decision.action !== 'forward') throw new Error(decision.action);
    expect(
      decodeProduceFrame(decision.frame!, 13).topicData.map((t) => [
        t.topicId,
        t.partitionData.map((p) => p.index),
      ]),
    ).toEqual([[ordersId, [1]]]);
    const broker = createProduceResponse();
    const answeredTopic = createProduceResponseTopicProduceResponse();
    answeredTopic.topicId = ordersId;
    const written = createProduceResponsePartitionProduceResponse();
    written.index = 1;
    written.baseOffset = 9n;
    answeredTopic.partitionResponses.push(written);
    broker.responses.push(answeredTopic);
    const out = new Writer();
    encodeResponseHeader(out, { correlationId: 7 }, ApiKey.Produce, 13);
    encodeProduceResponse(out, broker, 13);
    const reader = new Reader(
      await handler.onResponse!(Buffer.from(out.result()), route, context, decision.exchange),
    );
    decodeResponseHeader(reader, ApiKey.Produce, 13);
    const response = decodeProduceResponse(reader, 13);
    expect(response.responses).toHaveLength(1);
    expect(response.responses[0].topicId).toBe(ordersId);
    expect(response.responses[0].partitionResponses.map((p) => [p.index, p.errorCode, p.baseOffset])).toEqual(
      [
        [1, 0, 9n],
        [0, 0, -1n],
      ],
    );
  });

  test('acks=0: the emptied request is forwarded without awaiting an answer', async () => {
    const frame = produceFrame(9, [{ topic: 'orders', partition: 0, records: batch([test_(0)]) }], 0);
    const decision = await setup([dropTest]).decide(frame);
    expect(decision).toMatchObject({ action: 'forward', expectResponse: false });
  });

  describe('idempotent and transactional batches cannot lose records', () => {
    const idempotent = batch([prod(0), test_(1)], { producerId: 4242n, baseSequence: 17 });
    const transactional = batch([prod(0), test_(1)], {
      attributes: BatchAttributes.Transactional,
      producerId: 4242n,
      baseSequence: 0,
    });
    // Not a batch a producer sends, but the attribute alone must be enough.
    const transactionalBitOnly = batch([prod(0), test_(1)], { attributes: BatchAttributes.Transactional });

    test.each([
      ['idempotent', idempotent],
      ['transactional', transactional],
      ['transactional (attribute only)', transactionalBitOnly],
    ])('%s: refused by default, with POLICY_VIOLATION naming the rule and why', async (_, records) => {
      const decision = await setup([dropTest]).decide(
        produceFrame(9, [{ topic: 'orders', partition: 0, records }]),
      );
      const [partition] = refusal(decision).responses[0].partitionResponses;
      expect(partition.errorCode).toBe(ErrorCode.PolicyViolation);
      expect(partition.recordErrors.map((e) => e.batchIndex)).toEqual([1]);
      expect(partition.errorMessage).toBe(
        'record 1 of orders-0: matches the drop rule "no-test-events" of the filter; it cannot be dropped from an idempotent or transactional batch without breaking the producer\'s sequence numbers, so the request is refused',
      );
    });

    test('dropFallback pass forwards the producer’s bytes untouched', async () => {
      const passing = filter(
        [{ name: 'no-test', pattern: { value: { env: ['test'] } }, action: 'drop' }],
        'pass',
      );
      const decision = await setup([passing]).decide(
        produceFrame(9, [{ topic: 'orders', partition: 0, records: idempotent }]),
      );
      expect(decision).toEqual({ action: 'forward', expectResponse: true });
    });

    test('the record says whether it can be dropped', async () => {
      const droppable: boolean[] = [];
      const spy: Middleware = { name: 'spy', onRecord: (record) => void droppable.push(record.droppable) };
      const frame = produceFrame(9, [
        { topic: 'a', partition: 0, records: batch([prod(0)]) },
        { topic: 'b', partition: 0, records: idempotent },
      ]);
      await setup([spy]).decide(frame);
      expect(droppable).toEqual([true, false, false]);
    });
  });
});

describe('reject', () => {
  const rejecting = filter([
    { name: 'no-pii', pattern: { headers: { pii: ['true'] } }, action: 'reject' },
    {
      name: 'big-orders',
      topics: ['orders', '/^audit\\./'],
      pattern: { value: { amount: [{ numeric: ['>', 1000] }] } },
      action: 'reject',
    },
  ]);

  test('refuses the request with POLICY_VIOLATION and a message naming the rule', async () => {
    const frame = produceFrame(9, [
      { topic: 'orders', partition: 0, records: batch(['{"amount": 5}', '{"amount": 5000}']) },
      { topic: 'orders', partition: 1, records: batch(['{"amount": 1}']) },
    ]);
    const response = refusal(await setup([rejecting]).decide(frame));
    const [first, second] = response.responses[0].partitionResponses;
    expect(first.errorCode).toBe(ErrorCode.PolicyViolation);
    expect(first.errorMessage).toBe('record 1 of orders-0: refused by filter rule "big-orders"');
    expect(first.recordErrors).toEqual([
      expect.objectContaining({
        batchIndex: 1,
        batchIndexErrorMessage: 'refused by filter rule "big-orders"',
      }),
    ]);
    expect(second.errorCode).toBe(ErrorCode.InvalidRecord);
  });

  test('rules apply to their topics only: names and /regex/', async () => {
    const big = batch(['{"amount": 5000}']);
    const middleware = rejecting;
    expect(middleware.wants!('payments')).toBe(true); // no-pii has no topics: every topic
    const decideFor = async (topic: string) =>
      (await setup([rejecting]).decide(produceFrame(9, [{ topic, partition: 0, records: big }]))).action;
    expect(await decideFor('orders')).toBe('respond');
    expect(await decideFor('audit.eu')).toBe('respond');
    expect(await decideFor('audit')).toBe('forward');
    expect(await decideFor('orders-v2')).toBe('forward');
  });

  test('the first matching rule decides', async () => {
    const ordered = filter([
      { name: 'drop-test', pattern: { value: { env: ['test'] } }, action: 'drop' },
      { name: 'reject-all', pattern: { value: [{ exists: true }] }, action: 'reject' },
    ]);
    const frame = produceFrame(9, [{ topic: 'o', partition: 0, records: batch([test_(0), test_(1)]) }]);
    const decision = await setup([ordered]).decide(frame);
    expect(decision.action).toBe('forward');
  });

  test('only topics some rule names are decoded at all', () => {
    const scoped = filter([{ name: 'r', topics: ['orders'], pattern: { key: ['x'] }, action: 'reject' }]);
    expect(scoped.wants!('orders')).toBe(true);
    expect(scoped.wants!('other')).toBe(false);
  });
});

describe('the value is parsed once per record', () => {
  test('every middleware gets the same reading', async () => {
    const readings: unknown[] = [];
    const reader: Middleware = { name: 'reader', onRecord: (record) => void readings.push(record.json()) };
    const frame = produceFrame(9, [{ topic: 'o', partition: 0, records: batch([prod(0), 'not json']) }]);
    await setup([reader, reader]).decide(frame);
    expect(readings[0]).toBe(readings[1]);
    expect(readings[0]).toEqual({ ok: true, data: { env: 'prod', i: 0 } });
    expect(readings[2]).toEqual({ ok: false, reason: expect.stringMatching(/^value is not valid JSON/) });
  });
});

describe('settings are checked when the filter is built', () => {
  const problems = (settings: unknown): string[] => {
    try {
      filterMiddleware(settings, 'pipeline.middlewares.1.filter');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
    throw new Error('accepted');
  };

  test('errors name the rule', () => {
    expect(
      problems({
        rules: [
          { name: 'ok', pattern: { value: { a: ['x'] } }, action: 'reject' },
          { name: 'bad-number', pattern: { value: { amount: [{ numeric: ['>', 'ten'] }] } }, action: 'drop' },
          { name: 'typo', pattern: { valeu: { a: ['x'] } }, action: 'drop' },
          { name: 'ok', topics: ['/(unclosed/'], pattern: { key: ['x'] }, action: 'drop' },
        ],
      }),
    ).toEqual([
      'pipeline.middlewares.1.filter.rules.1 (rule "bad-number"): pattern.value.amount[0].numeric[1]: > needs a number, not string "ten"',
      'pipeline.middlewares.1.filter.rules.2 (rule "typo"): pattern.valeu: not a part of the event: a pattern matches value, key, headers',
      'pipeline.middlewares.1.filter.rules.3 (rule "ok"): another rule has the same name',
      expect.stringMatching(
        /^pipeline\.middlewares\.1\.filter\.rules\.3 \(rule "ok"\): topics: \/\(unclosed\/ is not a valid regular expression/,
      ),
    ]);
  });

  test('the shape is checked first, by the schema in config-schema.ts', () => {
    expect(
      problems({
        rules: [{ name: 'r', pattern: { key: ['x'] }, action: 'delete', extra: 1 }],
        dropFallback: 'ignore',
      }),
    ).toEqual([
      'pipeline.middlewares.1.filter.rules.0 (rule "r"): extra: unknown key',
      'pipeline.middlewares.1.filter.rules.0 (rule "r"): action: must be one of reject, drop',
      'pipeline.middlewares.1.filter.dropFallback: must be one of reject, pass',
    ]);
    expect(problems({ rules: [] })).toEqual([
      'pipeline.middlewares.1.filter.rules: must NOT have fewer than 1 items',
    ]);
  });

  test('the configuration takes filter entries beside the other middlewares', () => {
    const filterEntry = {
      filter: { rules: [{ name: 'r', topics: ['orders'], pattern: { key: ['x'] }, action: 'drop' }] },
    };
    const config = resolveConfig({
      kafka: { bootstrapServers: ['localhost:9092'] },
      pipeline: { middlewares: ['validation', filterEntry] },
    });
    expect(config.pipeline.middlewares).toEqual(['validation', filterEntry]);
    expect(() =>
      resolveConfig({
        kafka: { bootstrapServers: ['localhost:9092'] },
        pipeline: { middlewares: [{ filter: filterEntry.filter, module: 'x.js' }] },
      }),
    ).toThrow(/pipeline\.middlewares\.0: does not have any of the allowed forms/);
  });
});
