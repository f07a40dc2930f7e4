import fc from 'fast-check';
import { Reader, Writer } from '../../../../src/protocol/primitives';
import {
  appendRecordHeaders,
  decodeRecords,
  encodeRecordBatch,
  readRecordBatches,
  type RecordBatch,
} from '../../../../src/protocol/records';
import { canonicalDelta, header, plainHeader, record, sampleRecords, withCompression } from './arbitraries';

function v2(data: Buffer): RecordBatch[] {
  return readRecordBatches(data).map((batch) => {
    if (batch.magic !== 2) throw new Error('expected v2');
    return batch;
  });
}

const addedHeader = fc.record({
  key: fc.string({ unit: 'grapheme', maxLength: 30 }),
  value: fc.option(
    fc.uint8Array({ maxLength: 300 }).map((array) => Buffer.from(array)),
    { nil: null, freq: 6 },
  ),
});

describe('appendRecordHeaders', () => {
  it('is for uncompressed batches only: a compressed one is re-encoded whole instead', () => {
    const [batch] = v2(encodeRecordBatch(withCompression(plainHeader, 1), sampleRecords(2)));
    expect(() => appendRecordHeaders(batch, [null, null])).toThrow(/compressed/);
  });
});

describe('record batch properties', () => {
  it('appendRecordHeaders gives the bytes of encoding the records with the headers appended', () => {
    fc.assert(
      fc.property(
        header,
        fc.array(fc.tuple(record, fc.option(fc.array(addedHeader, { maxLength: 3 }), { nil: null })), {
          minLength: 1,
          maxLength: 20,
        }),
        (h, pairs) => {
          const plain = withCompression(h, 0);
          const records = pairs.map(([r]) => r);
          const added = pairs.map(([, headers]) => headers);
          const [batch] = v2(encodeRecordBatch(plain, records));
          const expected = encodeRecordBatch(
            plain,
            records.map((r, i) => ({ ...r, headers: [...r.headers, ...(added[i] ?? [])] })),
          );
          expect(appendRecordHeaders(batch, added).equals(expected)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decode(encode(x)) == x and encode(decode(bytes)) == bytes, for every codec', () => {
    fc.assert(
      fc.property(
        header,
        fc.array(record, { maxLength: 30 }),
        fc.integer({ min: 0, max: 4 }),
        (h, records, compression) => {
          const withCodec = withCompression(h, compression);
          const bytes = encodeRecordBatch(withCodec, records);
          const [batch] = v2(bytes);
          expect(batch).toMatchObject({ ...withCodec, recordsCount: records.length, compression });
          const decoded = decodeRecords(batch);
          expect(decoded).toEqual(records);
          expect(encodeRecordBatch(batch, decoded).equals(bytes)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('splits any sequence of encoded batches back into the same batches', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(header, fc.array(record, { maxLength: 4 }), fc.integer({ min: 0, max: 4 })), {
          maxLength: 5,
        }),
        (specs) => {
          const encoded = specs.map(([h, records, compression]) =>
            encodeRecordBatch(withCompression(h, compression), records),
          );
          const batches = v2(Buffer.concat(encoded));
          expect(batches.map((b) => b.bytes)).toEqual(encoded);
          batches.forEach((batch, i) => expect(decodeRecords(batch)).toEqual(specs[i][1]));
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('varlongNumber', () => {
  it('agrees with the bigint varlong in both directions', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (value) => {
        const viaBigint = new Writer(16).varlong(value).result();
        const canonical = canonicalDelta(value);
        const viaNumber = new Writer(16).varlongNumber(canonical).result();
        expect(viaNumber.equals(viaBigint)).toBe(true);
        const reader = new Reader(viaBigint);
        expect(reader.varlongNumber()).toEqual(canonical);
        expect(reader.remaining()).toBe(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('handles the edges of the exact number range', () => {
    for (const n of [
      0,
      -1,
      1,
      63,
      -64,
      64,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 52 - 1,
      -(2 ** 52),
      2 ** 53 - 1,
      -(2 ** 53 - 1),
    ]) {
      const bytes = new Writer(16).varlongNumber(n).result();
      expect(bytes.equals(new Writer(16).varlong(BigInt(n)).result())).toBe(true);
      expect(new Reader(bytes).varlongNumber()).toBe(n);
    }
    expect(() => new Writer().varlongNumber(2 ** 53)).toThrow(RangeError);
    expect(() => new Writer().varlongNumber(0.5)).toThrow(RangeError);
  });

  it('raises ProtocolError for truncated and over-long input', () => {
    expect(() => new Reader(Buffer.from([0x80, 0x80])).varlongNumber()).toThrow(/truncated varlong/);
    expect(() => new Reader(Buffer.alloc(11, 0x80)).varlongNumber()).toThrow(/longer than 64 bits/);
  });
});
