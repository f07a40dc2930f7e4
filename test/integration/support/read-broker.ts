/**
 * Reads a partition straight from a broker given by address, with raw Fetch requests and no
 * consumer group: for clusters of a test's own, where readPartition (which asks the shared
 * broker) does not reach, and where a group coordinator may still be settling after a restart.
 */
import { decodeFetchResponse } from '../../../src/protocol/messages';
import { decodeRecords, isControlBatch, readRecordBatches } from '../../../src/protocol/records';
import { rawRequest } from './record-batches';
import { API_FETCH, FETCH_VERSION, fetchBody } from './requests';

export interface BrokerRecord {
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
}

/** Every record of `topic`-`partition` up to its high watermark, from the broker at `address` (its leader). */
export async function readPartitionFrom(
  address: string,
  topic: string,
  partition = 0,
): Promise<{ highWatermark: bigint; records: BrokerRecord[] }> {
  const records: BrokerRecord[] = [];
  let offset = 0n;
  for (;;) {
    const reader = await rawRequest(
      API_FETCH,
      FETCH_VERSION,
      fetchBody({
        topic,
        partition,
        offset,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 64 * 1024 * 1024,
        partitionMaxBytes: 16 * 1024 * 1024,
      }),
      address,
    );
    const response = decodeFetchResponse(reader, FETCH_VERSION);
    const data = response.responses[0]?.partitions[0];
    if (response.errorCode !== 0 || data === undefined || data.errorCode !== 0)
      throw new Error(
        `fetch of ${topic}-${partition} from ${address} failed: ${response.errorCode}/${data?.errorCode}`,
      );
    let progressed = false;
    for (const view of readRecordBatches(data.records ?? Buffer.alloc(0), {
      allowPartialTrailingBatch: true,
    })) {
      if (view.magic !== 2)
        throw new Error(`${topic}-${partition} holds a magic v${view.magic} message at ${view.baseOffset}`);
      progressed = true;
      offset = view.baseOffset + BigInt(view.lastOffsetDelta) + 1n;
      if (isControlBatch(view)) continue;
      for (const record of decodeRecords(view))
        records.push({
          partition,
          offset: view.baseOffset + BigInt(record.offsetDelta),
          key: record.key,
          value: record.value,
        });
    }
    if (offset >= data.highWatermark) return { highWatermark: data.highWatermark, records };
    if (!progressed)
      throw new Error(
        `fetch of ${topic}-${partition} at ${offset} returned nothing below ${data.highWatermark}`,
      );
  }
}
