import { crc32c } from '@node-rs/crc32';
import { ProtocolError } from '../../../../src/protocol/primitives';
import {
  CompressionType,
  decodeRecords,
  encodeRecordBatch,
  isControlBatch,
  isTransactional,
  readRecordBatches,
  RECORD_BATCH_OVERHEAD,
  verifyCrc,
  type DecodedRecord,
  type RecordBatch,
} from '../../../../src/protocol/records';
import { plainHeader, sampleRecords, withCompression } from './arbitraries';

const CODECS = [
  CompressionType.None,
  CompressionType.Gzip,
  CompressionType.Snappy,
  CompressionType.Lz4,
  CompressionType.Zstd,
];

function onlyBatch(data: Buffer): RecordBatch {
  const batches = readRecordBatches(data);
  expect(batches).toHaveLength(1);
  const batch = batches[0];
  if (batch.magic !== 2) throw new Error('expected a v2 batch');
  return batch;
}

/** Rewrites the CRC after a deliberate edit, so that the edit itself is what gets tested. */
function fixCrc(bytes: Buffer): Buffer {
  bytes.writeUInt32BE(crc32c(bytes.subarray(21)), 17);
  return bytes;
}

describe('CRC-32C', () => {
  it('matches the standard check value', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('is verified on decode unless disabled', () => {
    const bytes = Buffer.from(encodeRecordBatch(plainHeader, sampleRecords()));
    expect(verifyCrc(onlyBatch(bytes))).toBe(true);
    bytes[bytes.length - 1] ^= 0x01;
    const batch = onlyBatch(bytes);
    expect(verifyCrc(batch)).toBe(false);
    expect(() => decodeRecords(batch)).toThrow(/CRC mismatch/);
    expect(() => decodeRecords(batch, { verifyCrc: false })).not.toThrow(/CRC/);
  });
});

describe('record batch encode/decode', () => {
  it.each(CODECS)('round-trips records with compression %i', (compression) => {
    const header = {
      ...withCompression(plainHeader, compression),
      producerId: 4711n,
      producerEpoch: 3,
      baseSequence: 42,
    };
    const records = sampleRecords(20);
    const bytes = encodeRecordBatch(header, records);
    const batch = onlyBatch(bytes);
    expect(batch).toMatchObject({
      ...header,
      magic: 2,
      recordsCount: 20,
      compression,
      batchLength: bytes.length - 12,
    });
    expect(batch.bytes).toBe(batch.bytes); // a view, not a copy
    expect(batch.bytes.buffer).toBe(bytes.buffer);
    expect(verifyCrc(batch)).toBe(true);
    expect(decodeRecords(batch)).toEqual(records);
    expect(encodeRecordBatch(batch, decodeRecords(batch)).equals(bytes)).toBe(true);
  });

  it('returns keys and values of an uncompressed batch as views into its bytes', () => {
    const bytes = encodeRecordBatch(plainHeader, sampleRecords(2));
    const [first] = decodeRecords(onlyBatch(bytes));
    expect(first.value!.buffer).toBe(bytes.buffer);
    expect(first.key!.buffer).toBe(bytes.buffer);
  });

  it('preserves header fields and flags exactly', () => {
    const header = {
      baseOffset: 123456789012345n,
      partitionLeaderEpoch: 17,
      attributes: 0x10 | 0x08 | CompressionType.Lz4,
      lastOffsetDelta: 99,
      baseTimestamp: -1n,
      maxTimestamp: 9_223_372_036_854_775_807n,
      producerId: 9_000_000_000n,
      producerEpoch: 32767,
      baseSequence: 2_147_483_647,
    };
    const batch = onlyBatch(encodeRecordBatch(header, sampleRecords(1)));
    expect(batch).toMatchObject(header);
    expect(isTransactional(batch)).toBe(true);
    expect(isControlBatch(batch)).toBe(false);
  });

  it('adds a header to every record and keeps everything else', () => {
    for (const compression of CODECS) {
      const original = encodeRecordBatch(withCompression(plainHeader, compression), sampleRecords(5));
      const batch = onlyBatch(original);
      const records = decodeRecords(batch).map((r) => ({
        ...r,
        headers: [...r.headers, { key: 'x-invalid', value: Buffer.from('schema') }],
      }));
      const rewritten = onlyBatch(encodeRecordBatch(batch, records));
      expect(rewritten.compression).toBe(compression);
      const decoded = decodeRecords(rewritten);
      expect(decoded.map((r) => r.value)).toEqual(sampleRecords(5).map((r) => r.value));
      expect(decoded.every((r) => r.headers.at(-1)?.key === 'x-invalid')).toBe(true);
    }
  });

  it('encodes an empty batch', () => {
    const batch = onlyBatch(encodeRecordBatch(withCompression(plainHeader, CompressionType.Zstd), []));
    expect(batch.recordsCount).toBe(0);
    expect(decodeRecords(batch)).toEqual([]);
  });

  it('keeps huge timestamp deltas exact', () => {
    const records: DecodedRecord[] = [
      { ...sampleRecords(1)[0], timestampDelta: -(2n ** 63n) },
      { ...sampleRecords(1)[0], timestampDelta: 2 ** 53 - 1 },
      { ...sampleRecords(1)[0], timestampDelta: 2n ** 63n - 1n },
    ];
    expect(
      decodeRecords(onlyBatch(encodeRecordBatch(plainHeader, records))).map((r) => r.timestampDelta),
    ).toEqual([-(2n ** 63n), 2 ** 53 - 1, 2n ** 63n - 1n]);
  });
});

describe('readRecordBatches', () => {
  const one = encodeRecordBatch(plainHeader, sampleRecords(2));
  const two = encodeRecordBatch({ ...plainHeader, baseOffset: 2n }, sampleRecords(3));

  it('splits several batches, each a view of its own bytes', () => {
    const data = Buffer.concat([one, two]);
    const batches = readRecordBatches(data);
    expect(batches.map((b) => b.bytes.length)).toEqual([one.length, two.length]);
    expect(batches[1].bytes.equals(two)).toBe(true);
    expect(batches[1].baseOffset).toBe(2n);
  });

  it('returns nothing for an empty records field', () => {
    expect(readRecordBatches(Buffer.alloc(0))).toEqual([]);
  });

  it('refuses a partial trailing batch unless told it may occur', () => {
    for (const cut of [1, 11, 16, 17, 40, two.length - 1]) {
      const data = Buffer.concat([one, two.subarray(0, cut)]);
      expect(() => readRecordBatches(data)).toThrow(ProtocolError);
      const batches = readRecordBatches(data, { allowPartialTrailingBatch: true });
      expect(batches).toHaveLength(1);
      expect(batches[0].bytes.equals(one)).toBe(true);
    }
  });

  it('passes magic 0 and 1 messages through undecoded', () => {
    // offset, length, crc, magic 1, attributes, timestamp, null key, value "v"
    const legacy = Buffer.concat([
      Buffer.from('0000000000000005', 'hex'),
      Buffer.from('00000017', 'hex'),
      Buffer.from('deadbeef', 'hex'),
      Buffer.from([1, 0]),
      Buffer.from('0000018bcfe56800', 'hex'),
      Buffer.from('ffffffff', 'hex'),
      Buffer.from('0000000176', 'hex'),
    ]);
    const batches = readRecordBatches(Buffer.concat([legacy, one]));
    expect(batches.map((b) => b.magic)).toEqual([1, 2]);
    expect(batches[0]).toEqual({ magic: 1, baseOffset: 5n, batchLength: 23, bytes: legacy });
  });

  it('refuses unknown magic values and impossible lengths', () => {
    const badMagic = Buffer.from(one);
    badMagic[16] = 3;
    expect(() => readRecordBatches(badMagic)).toThrow(/magic 3/);
    const shortV2 = Buffer.from(one);
    shortV2.writeInt32BE(40, 8);
    expect(() => readRecordBatches(shortV2)).toThrow(/shorter than its header/);
    const negative = Buffer.from(one);
    negative.writeInt32BE(-1, 8);
    expect(() => readRecordBatches(negative, { allowPartialTrailingBatch: true })).toThrow(
      /invalid record batch length/,
    );
  });
});

describe('decodeRecords validation', () => {
  const bytes = encodeRecordBatch(plainHeader, sampleRecords(3));

  it('refuses a record count that disagrees with the records', () => {
    for (const count of [2, 4, 1_000_000, -1]) {
      const edited = fixCrc(Buffer.from(bytes));
      edited.writeInt32BE(count, 57);
      fixCrc(edited);
      if (count < 0) {
        expect(() => readRecordBatches(edited)).toThrow(ProtocolError);
      } else {
        expect(() => decodeRecords(onlyBatch(edited))).toThrow(ProtocolError);
      }
    }
  });

  it('refuses record lengths that disagree with their fields', () => {
    for (const delta of [-1, 1]) {
      const edited = Buffer.from(bytes);
      // The first record's length is a one-byte zigzag varint right after the header.
      edited[RECORD_BATCH_OVERHEAD] += 2 * delta;
      expect(() => decodeRecords(onlyBatch(fixCrc(edited)))).toThrow(ProtocolError);
    }
  });

  it('refuses unknown compression types', () => {
    const edited = Buffer.from(bytes);
    edited.writeInt16BE(5, 21);
    expect(() => decodeRecords(onlyBatch(fixCrc(edited)))).toThrow(/unknown compression type 5/);
  });

  it('refuses header keys that are not UTF-8 but accepts a real replacement character', () => {
    const record = (key: string): DecodedRecord => ({
      ...sampleRecords(1)[0],
      headers: [{ key, value: null }],
    });
    const good = encodeRecordBatch(plainHeader, [record('a\uFFFDb')]);
    expect(decodeRecords(onlyBatch(good))[0].headers[0].key).toBe('a\uFFFDb');
    const bad = encodeRecordBatch(plainHeader, [record('abc')]);
    const at = bad.indexOf('abc');
    bad[at + 1] = 0xff;
    expect(() => decodeRecords(onlyBatch(fixCrc(bad)))).toThrow(/not valid UTF-8/);
  });

  it('refuses lengths below -1', () => {
    const edited = Buffer.from(bytes);
    // First record: length, attributes, timestampDelta, offsetDelta, then the key length.
    const keyLengthAt = RECORD_BATCH_OVERHEAD + 4;
    expect(edited[keyLengthAt]).toBe(5 * 2); // "key-0"
    edited[keyLengthAt] = 3; // zigzag -2
    expect(() => decodeRecords(onlyBatch(fixCrc(edited)))).toThrow(/invalid record key length -2/);
  });

  it('refuses trailing bytes after the last record', () => {
    const padded = Buffer.concat([bytes, Buffer.from([0])]);
    padded.writeInt32BE(padded.length - 12, 8);
    expect(() => decodeRecords(onlyBatch(fixCrc(padded)))).toThrow(/bytes left after/);
  });
});

describe('header keys', () => {
  it('decodes many distinct and repeated keys correctly through the key cache', () => {
    const keys = Array.from({ length: 2000 }, (_, i) =>
      i % 3 === 0 ? 'trace-id' : `k${i % 700}-${'x'.repeat(i % 70)}`,
    );
    const records: DecodedRecord[] = keys.map((key, i) => ({
      ...sampleRecords(1)[0],
      offsetDelta: i,
      headers: [
        { key, value: null },
        { key: `é${i % 5}`, value: null },
      ],
    }));
    for (let round = 0; round < 2; round++) {
      const decoded = decodeRecords(onlyBatch(encodeRecordBatch(plainHeader, records)));
      expect(decoded.map((r) => r.headers.map((h) => h.key))).toEqual(
        records.map((r) => r.headers.map((h) => h.key)),
      );
    }
  });

  it('does not keep views of the decoded buffer', () => {
    const bytes = encodeRecordBatch(plainHeader, [
      { ...sampleRecords(1)[0], headers: [{ key: 'abc', value: null }] },
    ]);
    expect(decodeRecords(onlyBatch(bytes))[0].headers[0].key).toBe('abc');
    bytes.fill(0x41, bytes.indexOf('abc'), bytes.indexOf('abc') + 3);
    const again = decodeRecords(onlyBatch(fixCrc(bytes)))[0].headers[0].key;
    expect(again).toBe('AAA');
  });
});
