import type { ProduceRequest } from '../../protocol/messages/generated/produce';
import { Reader, uvarintSize, Writer } from '../../protocol/primitives';
import { PRODUCE_VERSIONS } from '../../protocol/produce-wire';
import type { RebuiltRecords } from '../../protocol/records';
import { sizedFrame, type SizedFrame } from '../frame-reader';

/** One partition's `records` field in the request's bytes, and what replaces it. */
interface Edit {
  /** Where the field starts (its length prefix) and ends in the frame. */
  start: number;
  end: number;
  records: RebuiltRecords;
}

/**
 * The request `frame` (as read: header and body, no size prefix) with the `records` of some
 * partitions replaced, and every other byte as the producer sent it: the frame is copied around
 * the replaced fields and the new records are written straight into the copy. Nothing else is
 * encoded again, and fields the gateway's decoder knows nothing of (tagged fields of later
 * versions) pass as they came.
 *
 * `request` is the frame decoded, its records views into the frame. Undefined when a replaced
 * field is not such a view or its length prefix does not read back as its length; the caller
 * then encodes the request from its fields.
 *
 *   records: COMPACT_RECORDS (uvarint length + 1, then the bytes) from the first flexible
 *   version, RECORDS (int32 length, then the bytes) before it
 */
export function spliceRecords(
  frame: Buffer,
  request: ProduceRequest,
  apiVersion: number,
  replacements: readonly { topicIndex: number; partitionIndex: number; records: RebuiltRecords }[],
): SizedFrame | undefined {
  const compact = apiVersion >= PRODUCE_VERSIONS.firstFlexible;
  const edits: Edit[] = [];
  let size = frame.length;
  for (const replacement of replacements) {
    const old = request.topicData[replacement.topicIndex]?.partitionData[replacement.partitionIndex]?.records;
    if (old === null || old === undefined || old.buffer !== frame.buffer) return undefined;
    const at = old.byteOffset - frame.byteOffset;
    if (at < 0 || at + old.length > frame.length) return undefined;
    const prefix = compact ? uvarintSize(old.length + 1) : 4;
    if (at < prefix) return undefined;
    const announced = compact
      ? new Reader(frame, at - prefix, at).uvarint() - 1
      : frame.readInt32BE(at - prefix);
    if (announced !== old.length) return undefined;
    const length = replacement.records.length;
    size += (compact ? uvarintSize(length + 1) : 4) + length - prefix - old.length;
    edits.push({ start: at - prefix, end: at + old.length, records: replacement.records });
  }
  edits.sort((a, b) => a.start - b.start);
  for (let e = 1; e < edits.length; e++) if (edits[e].start < edits[e - 1].end) return undefined;

  const writer = new Writer(size + 4);
  const sizeAt = writer.reserveInt32();
  let copiedTo = 0;
  for (const edit of edits) {
    writer.raw(frame.subarray(copiedTo, edit.start));
    if (compact) writer.uvarint(edit.records.length + 1);
    else writer.int32(edit.records.length);
    edit.records.writeTo(writer);
    copiedTo = edit.end;
  }
  writer.raw(frame.subarray(copiedTo));
  return sizedFrame(writer, sizeAt);
}
