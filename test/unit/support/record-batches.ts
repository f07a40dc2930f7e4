import { encodeRecordBatch } from '../../../src/protocol/records';

/** A v2 batch (no producer id, no compression) with one record per value, offsets 0..n-1. */
export function batchOfValues(values: readonly Buffer[]): Buffer {
  return encodeRecordBatch(
    {
      baseOffset: 0n,
      partitionLeaderEpoch: -1,
      attributes: 0,
      lastOffsetDelta: values.length - 1,
      baseTimestamp: 1_700_000_000_000n,
      maxTimestamp: 1_700_000_000_000n,
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
    },
    values.map((value, i) => ({
      attributes: 0,
      timestampDelta: 0,
      offsetDelta: i,
      key: null,
      value,
      headers: [],
    })),
  );
}
