import fc from 'fast-check';
import type { DecodedRecord, RecordBatchHeader } from '../../../../src/protocol/records';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The decoder's canonical form of a varlong: a number when exact, a bigint otherwise. */
export function canonicalDelta(value: bigint): number | bigint {
  return value >= -SAFE && value <= SAFE ? Number(value) : value;
}

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });

const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));

const nullableBytes = (maxLength: number) => fc.option(bytes(maxLength), { nil: null, freq: 4 });

/** Deltas concentrated on the realistic small values, with the extremes of both encodings. */
export const timestampDelta: fc.Arbitrary<number | bigint> = fc.oneof(
  fc.integer({ min: -1000, max: 100_000 }),
  int32,
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }).map(canonicalDelta),
  fc
    .constantFrom(2 ** 52, -(2 ** 52), 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 31, -(2 ** 31) - 1)
    .map((n) => canonicalDelta(BigInt(n))),
  fc.constantFrom(INT64_MIN, INT64_MAX, SAFE + 1n, -SAFE - 1n),
);

export const record: fc.Arbitrary<DecodedRecord> = fc.record({
  attributes: fc.integer({ min: -128, max: 127 }),
  timestampDelta,
  offsetDelta: fc.oneof(fc.nat({ max: 1000 }), int32),
  key: nullableBytes(64),
  value: nullableBytes(512),
  headers: fc.array(
    fc.record({ key: fc.string({ unit: 'binary', maxLength: 12 }), value: nullableBytes(32) }),
    { maxLength: 5 },
  ),
});

const int64 = fc.bigInt({ min: INT64_MIN, max: INT64_MAX });

/** Any header; the compression bits are chosen separately by the caller. */
export const header: fc.Arbitrary<RecordBatchHeader> = fc.record({
  baseOffset: int64,
  partitionLeaderEpoch: int32,
  attributes: fc.integer({ min: 0, max: 0x7f }).map((bits) => bits & ~0x07),
  lastOffsetDelta: int32,
  baseTimestamp: int64,
  maxTimestamp: int64,
  producerId: int64,
  producerEpoch: fc.integer({ min: -(2 ** 15), max: 2 ** 15 - 1 }),
  baseSequence: int32,
});

export function withCompression(h: RecordBatchHeader, compression: number): RecordBatchHeader {
  return { ...h, attributes: (h.attributes & ~0x07) | compression };
}

export const plainHeader: RecordBatchHeader = {
  baseOffset: 0n,
  partitionLeaderEpoch: -1,
  attributes: 0,
  lastOffsetDelta: 2,
  baseTimestamp: 1_700_000_000_000n,
  maxTimestamp: 1_700_000_000_002n,
  producerId: -1n,
  producerEpoch: -1,
  baseSequence: -1,
};

export function sampleRecords(count = 3): DecodedRecord[] {
  const records: DecodedRecord[] = [];
  for (let i = 0; i < count; i++) {
    records.push({
      attributes: 0,
      timestampDelta: i,
      offsetDelta: i,
      key: i % 2 === 0 ? Buffer.from(`key-${i}`) : null,
      value: Buffer.from(JSON.stringify({ id: i, name: `order ${i}`, amount: i * 10.5 })),
      headers:
        i === 0
          ? []
          : [
              { key: 'trace-id', value: Buffer.from(`t-${i}`) },
              { key: 'empty', value: null },
            ],
    });
  }
  return records;
}
