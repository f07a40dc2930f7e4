import fc from 'fast-check';
import { decodeRequestHeader, encodeRequestHeader, skipRequestHeader } from '../../../src/protocol/headers';
import {
  API_KEYS,
  ApiKey,
  createProduceRequest,
  createProduceRequestPartitionProduceData,
  createProduceRequestTopicProduceData,
  createProduceResponse,
  createProduceResponseNodeEndpoint,
  createProduceResponseTopicProduceResponse,
  decodeProduceRequest,
  decodeProduceResponse,
  encodeProduceRequest,
  encodeProduceResponse,
  PRODUCE_REQUEST_FIELD_VERSIONS,
  PRODUCE_RESPONSE_FIELD_VERSIONS,
  PRODUCE_RESPONSE_VERSIONS,
  type ProduceRequest,
  requestHeaderVersion,
} from '../../../src/protocol/messages';
import { ProtocolError, Reader, Writer } from '../../../src/protocol/primitives';
import { ProduceRecordCounter } from '../../../src/protocol/produce-record-counter';
import { PRODUCE_VERSIONS, readProduceAcks, readSoleTopic } from '../../../src/protocol/produce-wire';
import { decodeRecords, encodeRecordBatch, readRecordBatches } from '../../../src/protocol/records';
import { batchOfValues } from '../support/record-batches';

const TOPIC_ID = '6a1bd5a17f8e4c2b9d3e2f4a5b6c7d8e';
const names = { topicName: (id: string) => (id === TOPIC_ID ? 'orders' : undefined) };

/** Every version the generated codec reads, and one either side of them. */
const VERSIONS = Array.from(
  { length: PRODUCE_VERSIONS.highest - PRODUCE_VERSIONS.lowest + 1 },
  (_, i) => PRODUCE_VERSIONS.lowest + i,
);
const OUTSIDE = [PRODUCE_VERSIONS.lowest - 1, PRODUCE_VERSIONS.highest + 1];

function values(count: number, size: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.alloc(size, 0x61 + i));
}

/** A gzip batch of an idempotent producer: the record count sits outside the compressed part. */
function gzipBatch(count: number): Buffer {
  return encodeRecordBatch(
    {
      baseOffset: 0n,
      partitionLeaderEpoch: -1,
      attributes: 1, // gzip
      lastOffsetDelta: count - 1,
      baseTimestamp: 1_700_000_000_000n,
      maxTimestamp: 1_700_000_000_000n,
      producerId: 4711n,
      producerEpoch: 2,
      baseSequence: 10,
    },
    values(count, 30).map((value, i) => ({
      attributes: 0,
      timestampDelta: i,
      offsetDelta: i,
      key: Buffer.from(`k${i}`),
      value,
      headers: [{ key: 'h', value: Buffer.from('v') }],
    })),
  );
}

/** One topic with several partitions: batches of every kind, several batches, no records at all. */
const PARTITIONS: (Buffer | null)[] = [
  Buffer.concat([batchOfValues(values(3, 10)), gzipBatch(5)]),
  batchOfValues(values(1, 0)),
  null,
  Buffer.concat([batchOfValues(values(2, 200)), batchOfValues(values(7, 1)), gzipBatch(1)]),
];

interface Options {
  acks?: number;
  transactionalId?: string | null;
  clientId?: string | null;
  topics?: number;
}

/** A whole request payload (header and body, no size prefix), written by the generated encoder. */
function encodeRequest(version: number, options: Options = {}): Buffer {
  const writer = new Writer();
  encodeRequestHeader(writer, {
    apiKey: ApiKey.Produce,
    apiVersion: version,
    correlationId: 99,
    clientId: options.clientId === undefined ? 'wire-test' : options.clientId,
  });
  const request = createProduceRequest();
  request.acks = options.acks ?? -1;
  request.timeoutMs = 1500;
  request.transactionalId = options.transactionalId ?? null;
  for (let t = 0; t < (options.topics ?? 1); t++) {
    const topic = createProduceRequestTopicProduceData();
    topic.name = t === 0 ? 'orders' : `other-${t}`;
    topic.topicId = t === 0 ? TOPIC_ID : `${TOPIC_ID.slice(0, 31)}${t}`;
    PARTITIONS.forEach((records, p) => {
      const partition = createProduceRequestPartitionProduceData();
      partition.index = p * 3;
      partition.records = records;
      topic.partitionData.push(partition);
    });
    request.topicData.push(topic);
  }
  encodeProduceRequest(writer, request, version);
  return Buffer.from(writer.result());
}

/** Where the body starts: after the header, read by the header decoder. */
function headerLength(payload: Buffer): number {
  const reader = new Reader(payload);
  decodeRequestHeader(reader);
  return reader.offset;
}

/** The request as the generated decoder reads it; nothing may be left over. */
function decodeRequest(payload: Buffer, version: number): ProduceRequest {
  const body = new Reader(payload);
  body.skip(headerLength(payload));
  const request = decodeProduceRequest(body, version);
  expect(body.remaining()).toBe(0);
  return request;
}

/** Records the generated decoder's partitions really hold, decoded one by one. */
function recordsIn(request: ProduceRequest): number {
  let count = 0;
  for (const topic of request.topicData) {
    for (const partition of topic.partitionData) {
      if (partition.records === null) continue;
      for (const batch of readRecordBatches(partition.records)) {
        if (batch.magic === 2) count += decodeRecords(batch).length;
      }
    }
  }
  return count;
}

function countInChunks(version: number, payload: Buffer, sizes: readonly number[]): ProduceRecordCounter {
  const counter = new ProduceRecordCounter(version);
  let at = 0;
  for (const size of sizes) {
    if (at >= payload.length) break;
    counter.push(payload.subarray(at, at + size));
    at += size;
  }
  counter.push(payload.subarray(at));
  return counter;
}

describe('the hand-written Produce readers agree with the generated codec', () => {
  describe.each(VERSIONS)('Produce v%i', (version) => {
    const variants: Options[] = [
      { acks: -1, transactionalId: null, clientId: 'wire-test' },
      { acks: 1, transactionalId: 'tx-7', clientId: null },
      { acks: 0, transactionalId: '', clientId: '' },
    ];

    it.each(variants)('reads acks and the sole topic as the decoder does (%o)', (options) => {
      const payload = encodeRequest(version, options);
      const decoded = decodeRequest(payload, version);
      const reader = new Reader(payload);
      expect(readProduceAcks(reader, version)).toBe(decoded.acks);
      const topic = decoded.topicData[0];
      const expected =
        version >= PRODUCE_VERSIONS.firstWithTopicIds ? names.topicName(topic.topicId) : topic.name;
      expect(expected).toBe('orders');
      expect(readSoleTopic(reader, version, names)).toBe(expected);
    });

    it('tells nothing of a request for two topics, or of a topic id it does not know', () => {
      const payload = encodeRequest(version, { topics: 2 });
      expect(decodeRequest(payload, version).topicData).toHaveLength(2);
      const reader = new Reader(payload);
      readProduceAcks(reader, version);
      expect(readSoleTopic(reader, version, names)).toBeUndefined();

      const unknown = new Reader(encodeRequest(version));
      readProduceAcks(unknown, version);
      const nobody = { topicName: () => undefined };
      const sole = readSoleTopic(unknown, version, nobody);
      expect(sole).toBe(version >= PRODUCE_VERSIONS.firstWithTopicIds ? undefined : 'orders');
    });

    it('counts the records the decoder finds, fed a byte at a time', () => {
      const payload = encodeRequest(version, { transactionalId: 'tx-7' });
      const expected = recordsIn(decodeRequest(payload, version));
      expect(expected).toBe(3 + 5 + 1 + 2 + 7 + 1);
      // Complete once the last partition has passed: only the request's own (empty) tagged
      // fields follow it in flexible versions, and they hold no records.
      const lastPartitionEnds = payload.length - (version >= PRODUCE_VERSIONS.firstFlexible ? 1 : 0);
      const counter = new ProduceRecordCounter(version);
      for (let i = 0; i < payload.length; i++) {
        expect(counter.complete).toBe(i >= lastPartitionEnds);
        counter.push(payload.subarray(i, i + 1));
      }
      expect(counter.complete).toBe(true);
      expect(counter.records).toBe(expected);
    });

    it('counts the records the decoder finds, fed in random chunks', () => {
      fc.assert(
        fc.property(
          fc.record({
            acks: fc.constantFrom(-1, 0, 1),
            transactionalId: fc.option(fc.string({ maxLength: 40 })),
            clientId: fc.option(fc.string({ maxLength: 40 })),
            topics: fc.integer({ min: 1, max: 3 }),
          }),
          fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 40 }),
          (options, sizes) => {
            const payload = encodeRequest(version, options);
            const counter = countInChunks(version, payload, sizes);
            expect(counter.complete).toBe(true);
            expect(counter.records).toBe(recordsIn(decodeRequest(payload, version)));
          },
        ),
        { numRuns: 40 },
      );
    });
  });
});

describe('the Produce facts are what the generated codec does', () => {
  it('covers exactly the versions the decoder and encoder accept', () => {
    for (const version of VERSIONS)
      expect(() => decodeRequest(encodeRequest(version), version)).not.toThrow();
    const lowest = encodeRequest(PRODUCE_VERSIONS.lowest);
    const body = lowest.subarray(headerLength(lowest));
    for (const version of OUTSIDE) {
      expect(() => encodeProduceRequest(new Writer(), createProduceRequest(), version)).toThrow(
        `unsupported ProduceRequest (api key 0) version ${version}`,
      );
      expect(() => decodeProduceRequest(new Reader(body), version)).toThrow(`version ${version}`);
    }
    expect(PRODUCE_RESPONSE_VERSIONS).toEqual(
      expect.objectContaining({ lowest: PRODUCE_VERSIONS.lowest, highest: PRODUCE_VERSIONS.highest }),
    );
    const info = API_KEYS.find((api) => api.apiKey === ApiKey.Produce)!;
    expect(info.request).toEqual({ min: PRODUCE_VERSIONS.lowest, max: PRODUCE_VERSIONS.highest });
    expect(info.flexibleFrom).toBe(PRODUCE_VERSIONS.firstFlexible);
  });

  it.each(VERSIONS)('v%i is flexible exactly from firstFlexible on', (version) => {
    const flexible = version >= PRODUCE_VERSIONS.firstFlexible;
    expect(requestHeaderVersion(ApiKey.Produce, version)).toBe(flexible ? 2 : 1);
    // A null transactional id: a compact 0 in flexible versions, an int16 -1 before them.
    const payload = encodeRequest(version, { transactionalId: null });
    const at = headerLength(payload);
    if (flexible) expect(payload[at]).toBe(0);
    else expect(payload.readInt16BE(at)).toBe(-1);
  });

  it.each(VERSIONS)('v%i names topics by id exactly from firstWithTopicIds on', (version) => {
    const byId = version >= PRODUCE_VERSIONS.firstWithTopicIds;
    const topic = decodeRequest(encodeRequest(version), version).topicData[0];
    expect(topic.topicId === TOPIC_ID).toBe(byId);
    expect(topic.name === 'orders').toBe(!byId);
    const fields = PRODUCE_REQUEST_FIELD_VERSIONS.ProduceRequestTopicProduceData;
    expect(fields.name.highest + 1).toBe(fields.topicId.lowest);

    const response = createProduceResponse();
    const answered = createProduceResponseTopicProduceResponse();
    answered.name = 'orders';
    answered.topicId = TOPIC_ID;
    response.responses.push(answered);
    const writer = new Writer();
    encodeProduceResponse(writer, response, version);
    const back = decodeProduceResponse(new Reader(writer.result()), version).responses[0];
    expect(back.topicId === TOPIC_ID).toBe(byId);
    expect(PRODUCE_RESPONSE_FIELD_VERSIONS.ProduceResponseTopicProduceResponse.topicId.lowest).toBe(
      PRODUCE_VERSIONS.firstWithTopicIds,
    );
  });

  it.each(VERSIONS)(
    'v%i responses carry node endpoints exactly from firstWithNodeEndpoints on',
    (version) => {
      const response = createProduceResponse();
      const endpoint = createProduceResponseNodeEndpoint();
      endpoint.nodeId = 1;
      endpoint.host = 'broker-1';
      endpoint.port = 9092;
      response.nodeEndpoints.push(endpoint);
      const writer = new Writer();
      encodeProduceResponse(writer, response, version);
      const back = decodeProduceResponse(new Reader(writer.result()), version);
      expect(back.nodeEndpoints.length > 0).toBe(version >= PRODUCE_VERSIONS.firstWithNodeEndpoints);
    },
  );
});

describe('skipRequestHeader', () => {
  it('ends where decodeRequestHeader ends, for any API, version, client id and tagged fields', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...API_KEYS),
        fc.nat(20),
        fc.option(fc.string({ maxLength: 40 }), { nil: null }),
        fc.array(fc.record({ tag: fc.nat(50), data: fc.uint8Array({ maxLength: 9 }) }), { maxLength: 3 }),
        fc.uint8Array({ maxLength: 6 }),
        ({ apiKey }, apiVersion, clientId, tags, body) => {
          const writer = new Writer();
          const unknownTaggedFields = [...new Map(tags.map((t) => [t.tag, Buffer.from(t.data)])).entries()]
            .sort(([a], [b]) => a - b)
            .map(([tag, data]) => ({ tag, data }));
          encodeRequestHeader(writer, {
            apiKey,
            apiVersion,
            correlationId: 7,
            clientId,
            unknownTaggedFields,
          });
          const frame = Buffer.concat([writer.result(), Buffer.from(body)]);
          const skipped = new Reader(frame);
          skipRequestHeader(skipped);
          expect(skipped.offset).toBe(decodeRequestHeader(new Reader(frame)).bodyOffset);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('knows the header without a client id (ControlledShutdown v0)', () => {
    const frame = Buffer.from([0, 7, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5]);
    const skipped = new Reader(frame);
    skipRequestHeader(skipped);
    expect(skipped.offset).toBe(8);
    expect(decodeRequestHeader(new Reader(frame)).bodyOffset).toBe(8);
  });

  it('refuses what decodeRequestHeader refuses: a short header, a negative key or version, a bad client id length', () => {
    for (const bytes of [
      [0, 0, 0, 1],
      [0xff, 0xff, 0, 1, 0, 0, 0, 1, 0, 0],
      [0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xfe],
    ]) {
      const frame = Buffer.from(bytes);
      expect(() => decodeRequestHeader(new Reader(frame))).toThrow(ProtocolError);
      expect(() => skipRequestHeader(new Reader(frame))).toThrow(ProtocolError);
    }
  });
});
