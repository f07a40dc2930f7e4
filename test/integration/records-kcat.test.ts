/**
 * Record batches written by kcat (librdkafka), one per codec, read back raw from the broker and
 * decoded by our decoder. librdkafka differs from the Java client where it matters here: raw
 * snappy instead of xerial framing, no idempotence by default, and it sends a batch uncompressed
 * when compressing would not make it smaller.
 */
import {
  decodeRecords,
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
  fetchRecords,
  kcatRecords,
  maybeWriteFixture,
  produceWithKcat,
} from './support/record-batches';

jest.setTimeout(120_000);

describe.each(CODECS)('kcat, compression %s', (codec) => {
  let batch: RecordBatch;

  beforeAll(async () => {
    const topic = uniqueTopic(`records-kcat-${codec}`);
    await createTopic(topic);
    await produceWithKcat(topic, codec, kcatRecords());
    const batches = readRecordBatches(await fetchRecords(topic));
    expect(batches).toHaveLength(1);
    const [only] = batches;
    if (only.magic !== 2) throw new Error(`magic ${only.magic}`);
    batch = only;
  });

  it('decodes the batch to exactly the records sent', () => {
    // The large value makes every codec worth using, so librdkafka keeps the requested one.
    expect(batch.compression).toBe(CODECS.indexOf(codec));
    expect(verifyCrc(batch)).toBe(true);
    const records = decodeRecords(batch);
    expect(asExpected(records)).toEqual(kcatRecords());
    expect(records.map((r) => r.offsetDelta)).toEqual([0, 1, 2, 3, 4]);
    expect(batch.producerId).toBe(-1n);
    maybeWriteFixture(
      `${codec}-kcat`,
      batch,
      describeFixture('kcat 1.7.1 / librdkafka 2.0.2', codec, batch, records),
    );
  });

  // Registered for snappy only: under the other codecs it would pass without asserting anything.
  if (codec === 'snappy') {
    it('sees raw snappy, not the xerial framing', () => {
      expect(isXerialSnappy(recordsSection(batch))).toBe(false);
    });
  }
});
