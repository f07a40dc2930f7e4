import { skipRequestHeader } from './headers';
import {
  PRODUCE_REQUEST_FIELD_VERSIONS,
  PRODUCE_REQUEST_VERSIONS,
  PRODUCE_RESPONSE_FIELD_VERSIONS,
} from './messages/generated/produce';
import type { Reader } from './primitives';

/*
 * The Produce wire facts that code reading a request without decoding it depends on. The numbers
 * come from the generated codec (and so from Kafka's message definitions), never restated here.
 *
 * Produce Request => RequestHeader transactional_id acks timeout_ms [topic_data] TAG_BUFFER
 *   RequestHeader => api_key INT16 | api_version INT16 | correlation_id INT32 | client_id | TAG_BUFFER
 *     client_id => NULLABLE_STRING with an int16 length, in flexible versions too
 *   transactional_id => NULLABLE_STRING
 *   acks => INT16
 *   timeout_ms => INT32
 *   topic_data => name topic_id [partition_data] TAG_BUFFER
 *     name => STRING                before firstWithTopicIds
 *     topic_id => UUID              from firstWithTopicIds on
 *     partition_data => index records TAG_BUFFER
 *       index => INT32
 *       records => RECORDS          record batches, laid out in records/record-batch.ts
 *
 * Before firstFlexible: STRING and NULLABLE_STRING have an int16 length (-1 for null), arrays and
 * RECORDS an int32 length, and there is no TAG_BUFFER. From firstFlexible on: they are COMPACT_*,
 * with an unsigned varint length + 1 (0 for null), and every TAG_BUFFER is there (a varint count,
 * then per field a varint tag, a varint size and the bytes).
 */

export const PRODUCE_VERSIONS = {
  lowest: PRODUCE_REQUEST_VERSIONS.lowest,
  highest: PRODUCE_REQUEST_VERSIONS.highest,
  firstFlexible: PRODUCE_REQUEST_VERSIONS.firstFlexible,
  /** Topics are named by id, not by name, in requests and responses alike. */
  firstWithTopicIds: PRODUCE_REQUEST_FIELD_VERSIONS.ProduceRequestTopicProduceData.topicId.lowest,
  /** Responses may carry the leaders' node endpoints (KIP-951) in their top-level tagged fields. */
  firstWithNodeEndpoints: PRODUCE_RESPONSE_FIELD_VERSIONS.ProduceResponse.nodeEndpoints.lowest,
} as const;

/** Where a topic id is turned into the name it stands for (the proxy's address book). */
export interface TopicNames {
  topicName(id: string): string | undefined;
}

/**
 * Reads a produce request's acks without decoding its records: transactional id and acks come
 * first in the body of every version. Leaves `reader` after acks, where readSoleTopic goes on.
 * Throws when the bytes end first.
 */
export function readProduceAcks(reader: Reader, version: number): number {
  skipRequestHeader(reader);
  const transactionalId = version >= PRODUCE_VERSIONS.firstFlexible ? reader.uvarint() - 1 : reader.int16();
  if (transactionalId < -1) reader.fail(`invalid transactional id length ${transactionalId}`);
  if (transactionalId > 0) reader.skip(transactionalId);
  return reader.int16();
}

/**
 * Goes on from readProduceAcks: the topic of a request for exactly one topic; undefined for
 * several topics, for a topic id `names` does not know, or when the bytes end before the name
 * does.
 */
export function readSoleTopic(reader: Reader, version: number, names: TopicNames): string | undefined {
  try {
    const flexible = version >= PRODUCE_VERSIONS.firstFlexible;
    reader.skip(4); // timeout_ms
    const topics = flexible ? reader.compactArrayLength() : reader.arrayLength();
    if (topics !== 1) return undefined;
    if (version >= PRODUCE_VERSIONS.firstWithTopicIds) return names.topicName(reader.uuid());
    return flexible ? reader.compactString() : reader.string();
  } catch {
    return undefined;
  }
}
