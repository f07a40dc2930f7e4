/**
 * Record batches written by the real Java producer (the console producer in the Kafka jars), one
 * per codec, read back raw from the broker and decoded by our decoder. The broker keeps the
 * producer's compression (topic compression.type=producer) and, for v2 batches, rewrites only the
 * base offset and partition leader epoch, which the CRC does not cover: everything we decode is
 * byte for byte what the Java client wrote.
 */
import { crc32c } from '@node-rs/crc32';
import {
  decodeRecords,
  encodeRecordBatch,
  readRecordBatches,
  recordsSection,
  verifyCrc,
  type RecordBatch,
} from '../../src/protocol/records';
import { isXerialSnappy } from '../../src/protocol/records/snappy-xerial';
import { uniqueTopic } from './support/kafka-harness';
import {
  asExpected,
  CODECS,
  createTopic,
  describeFixture,
  fetchPartition,
  fetchRecords,
  javaRecords,
  maybeWriteFixture,
  produceWithJava,
  rawProduce,
} from './support/record-batches';

jest.setTimeout(120_000);

describe.each(CODECS)('Java producer, compression %s', (codec) => {
  let topic: string;
  let batch: RecordBatch;

  beforeAll(async () => {
    topic = uniqueTopic(`records-java-${codec}`);
    await createTopic(topic);
    await produceWithJava(topic, codec, javaRecords());
    const batches = readRecordBatches(await fetchRecords(topic));
    expect(batches).toHaveLength(1);
    const [only] = batches;
    if (only.magic !== 2) throw new Error(`magic ${only.magic}`);
    batch = only;
  });

  it('decodes the batch to exactly the records sent', () => {
    expect(batch.compression).toBe(CODECS.indexOf(codec));
    expect(verifyCrc(batch)).toBe(true);
    expect(batch.bytes.readUInt32BE(17)).toBe(crc32c(batch.bytes.subarray(21)));
    const records = decodeRecords(batch);
    expect(asExpected(records)).toEqual(javaRecords());
    expect(records.map((r) => r.offsetDelta)).toEqual([0, 1, 2, 3, 4]);
    expect(batch.lastOffsetDelta).toBe(4);
    // The Java producer is idempotent by default: a real producer id, epoch and sequence.
    expect(batch.producerId).toBeGreaterThanOrEqual(0n);
    expect(batch.baseSequence).toBe(0);
    maybeWriteFixture(
      `${codec}-java`,
      batch,
      describeFixture('kafka-console-producer 4.3.1', codec, batch, records),
    );
  });

  it('re-encodes to the same header and records (and, uncompressed, the same bytes)', () => {
    const records = decodeRecords(batch);
    const reencoded = encodeRecordBatch(batch, records);
    // Compressed sections differ between compressor implementations; the records inside do not.
    if (codec === 'none') expect(reencoded.equals(batch.bytes)).toBe(true);
    const [again] = readRecordBatches(reencoded) as RecordBatch[];
    expect({ ...again, bytes: null, crc: 0, batchLength: 0 }).toEqual({
      ...batch,
      bytes: null,
      crc: 0,
      batchLength: 0,
    });
    expect(decodeRecords(again)).toEqual(records);
  });

  // Only these two codecs have a framing to check; a test under the others would assert nothing.
  if (codec === 'snappy') {
    it('sees the xerial snappy framing the Java client is documented to write', () => {
      expect(isXerialSnappy(recordsSection(batch))).toBe(true);
    });
  }
  if (codec === 'lz4') {
    it('sees the LZ4 frame with 64 KiB blocks the Java client is documented to write', () => {
      expect(recordsSection(batch).subarray(0, 7).toString('hex')).toBe('04224d18604082');
    });
  }

  it('skips a partial trailing batch in a fetch response cut short by partitionMaxBytes', async () => {
    // A second batch (not idempotent, so the broker cannot take it for a retry of the first).
    const second = encodeRecordBatch(
      { ...batch, producerId: -1n, producerEpoch: -1, baseSequence: -1 },
      decodeRecords(batch),
    );
    expect((await rawProduce(topic, second)).errorCode).toBe(0);
    const partition = await fetchPartition(topic, 0n, batch.bytes.length + 30);
    const records = partition.records!;
    expect(records.length).toBe(batch.bytes.length + 30);
    expect(() => readRecordBatches(records)).toThrow(/partial record batch/);
    const batches = readRecordBatches(records, { allowPartialTrailingBatch: true });
    expect(batches).toHaveLength(1);
    expect(batches[0].bytes.equals(batch.bytes)).toBe(true);
  });
});
