import fc from 'fast-check';
import { decodeRequestHeader } from '../../../src/protocol/headers';
import { decodeProduceRequest, type ProduceRequest } from '../../../src/protocol/messages';
import { Reader } from '../../../src/protocol/primitives';
import { PRODUCE_VERSIONS } from '../../../src/protocol/produce-wire';
import {
  appendRecordHeaders,
  HeaderAppendedBatch,
  readRecordBatches,
  RebuiltRecords,
  type RecordBatch,
  verifyCrc,
} from '../../../src/protocol/records';
import { spliceRecords } from '../../../src/proxy/handlers/produce-splice';
import { produceFrame, type ProducedPartition } from '../support/produce-frames';
import { batchOfValues } from '../support/record-batches';

const TOPIC_IDS = ['6a1bd5a17f8e4c2b9d3e2f4a5b6c7d8e', '0f1e2d3c4b5a69788796a5b4c3d2e1f0'];

function decoded(frame: Buffer): ProduceRequest {
  const reader = new Reader(frame);
  const header = decodeRequestHeader(reader);
  return decodeProduceRequest(reader, header.apiVersion);
}

function onlyBatch(records: Buffer): RecordBatch {
  const [batch] = readRecordBatches(records);
  if (batch.magic !== 2) throw new Error('expected v2');
  return batch;
}

/** The size prefix written in front of a spliced frame. */
function prefixOf(frame: Buffer): number {
  return Buffer.from(frame.buffer, frame.byteOffset - 4, 4).readInt32BE(0);
}

// Values of sizes on both sides of the varint boundaries of a records length (127, 16383 bytes).
const value = fc
  .oneof(fc.integer({ min: 0, max: 140 }), fc.integer({ min: 16_200, max: 16_500 }))
  .map((size) => Buffer.alloc(size, 0x61));
const partitionArb = fc.record({
  topic: fc.integer({ min: 0, max: 1 }),
  values: fc.array(value, { minLength: 1, maxLength: 3 }),
  // Per record, the headers appended to it (none, or a tag whose size moves the varints too).
  tags: fc.array(fc.option(fc.integer({ min: 0, max: 300 }), { nil: null }), { minLength: 3, maxLength: 3 }),
  replaced: fc.boolean(),
  // A second batch kept as it came, after the re-framed one.
  trailing: fc.boolean(),
});

describe('spliceRecords', () => {
  it('gives the bytes of encoding the request again with the new records, at every version', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: PRODUCE_VERSIONS.lowest, max: PRODUCE_VERSIONS.highest }),
        fc.array(partitionArb, { minLength: 1, maxLength: 4 }),
        (version, partitions) => {
          const sent: ProducedPartition[] = partitions.map((p, i) => ({
            topic: `topic-${p.topic}`,
            topicId: version >= 13 ? TOPIC_IDS[p.topic] : undefined,
            partition: i,
            records: batchOfValues(p.values),
          }));
          const frame = produceFrame(version, sent);
          const request = decoded(frame);
          const replacements: { topicIndex: number; partitionIndex: number; records: RebuiltRecords }[] = [];
          const expected = sent.map((p) => ({ ...p }));
          partitions.forEach((p, i) => {
            if (!p.replaced) return;
            const topicIndex = request.topicData.findIndex((t) =>
              version >= 13 ? t.topicId === TOPIC_IDS[p.topic] : t.name === `topic-${p.topic}`,
            );
            const partitionIndex = request.topicData[topicIndex].partitionData.findIndex(
              (d) => d.index === i,
            );
            const original = request.topicData[topicIndex].partitionData[partitionIndex].records!;
            const added = p.values.map((_, r) =>
              p.tags[r] === null ? null : [{ key: 'tag', value: Buffer.alloc(p.tags[r]!, 0x62) }],
            );
            const records = new RebuiltRecords();
            records.add(new HeaderAppendedBatch(onlyBatch(original), added));
            if (p.trailing) records.add(batchOfValues([Buffer.from('kept')]));
            replacements.push({ topicIndex, partitionIndex, records });
            expected[i].records = records.toBuffer();
          });

          const spliced = spliceRecords(frame, request, version, replacements);
          expect(spliced).toBeDefined();
          expect(spliced!.equals(produceFrame(version, expected))).toBe(true);
          expect(prefixOf(spliced!)).toBe(spliced!.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('leaves the request to be encoded from its fields when its records are not views into the frame', () => {
    const frame = produceFrame(9, [{ topic: 'a', partition: 0, records: batchOfValues([Buffer.from('x')]) }]);
    const request = decoded(frame);
    const partition = request.topicData[0].partitionData[0];
    const records = new RebuiltRecords();
    records.add(batchOfValues([Buffer.from('y')]));
    partition.records = Buffer.from(partition.records!);
    expect(spliceRecords(frame, request, 9, [{ topicIndex: 0, partitionIndex: 0, records }])).toBeUndefined();
  });

  it('leaves it so when the length before the records does not read back as theirs', () => {
    for (const version of [8, 9]) {
      const frame = produceFrame(version, [
        { topic: 'a', partition: 0, records: batchOfValues([Buffer.from('xyz')]) },
      ]);
      const request = decoded(frame);
      const partition = request.topicData[0].partitionData[0];
      const records = new RebuiltRecords();
      records.add(batchOfValues([Buffer.from('y')]));
      // A view into the same frame, one byte short: its prefix announces one byte more.
      partition.records = partition.records!.subarray(0, partition.records!.length - 1);
      expect(
        spliceRecords(frame, request, version, [{ topicIndex: 0, partitionIndex: 0, records }]),
      ).toBeUndefined();
    }
  });

  it('leaves it so when the producer wrote the records length in more bytes than it needs', () => {
    // Kafka's readers take a varint padded with empty groups; the decoder does too, so the
    // splice must not read the prefix from its minimal size and cut it wrong.
    const sent = produceFrame(9, [{ topic: 'a', partition: 0, records: batchOfValues([Buffer.from('x')]) }]);
    const original = decoded(sent).topicData[0].partitionData[0].records!;
    const at = original.byteOffset - sent.byteOffset;
    const lengthPlusOne = original.length + 1;
    expect(lengthPlusOne).toBeLessThan(0x80);
    const frame = Buffer.concat([
      sent.subarray(0, at - 1),
      Buffer.from([lengthPlusOne | 0x80, 0x80, 0x00]),
      sent.subarray(at),
    ]);
    const request = decoded(frame);
    expect(request.topicData[0].partitionData[0].records!.equals(original)).toBe(true);
    const records = new RebuiltRecords();
    records.add(batchOfValues([Buffer.from('y')]));
    expect(spliceRecords(frame, request, 9, [{ topicIndex: 0, partitionIndex: 0, records }])).toBeUndefined();
  });

  it('writes a re-framed batch with its own length and CRC, as appendRecordHeaders does', () => {
    const records = batchOfValues([Buffer.from('{"a":1}'), Buffer.from('{"a":2}')]);
    const added = [null, [{ key: 'k', value: null }]];
    const appended = new HeaderAppendedBatch(onlyBatch(records), added);
    const rebuilt = new RebuiltRecords();
    rebuilt.add(appended);
    const bytes = rebuilt.toBuffer();
    expect(bytes.length).toBe(appended.length);
    expect(bytes.equals(appendRecordHeaders(onlyBatch(records), added))).toBe(true);
    expect(verifyCrc(onlyBatch(bytes))).toBe(true);
  });
});
