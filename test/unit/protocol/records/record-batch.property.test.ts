import fc from 'fast-check';
import { Reader, Writer } from '../../../../src/protocol/primitives';
import {
  decodeRecords,
  encodeRecordBatch,
  readRecordBatches,
  type RecordBatch,
} from '../../../../src/protocol/records';
import { canonicalDelta, header, record, withCompression } from './arbitraries';

function v2(data: Buffer): RecordBatch[] {
  return readRecordBatches(data).map((batch) => {
    if (batch.magic !== 2) throw new Error('expected v2');
    return batch;
  });
}

describe('record batch properties', () => {
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
