import { decodeRequestHeader, encodeRequestHeader } from '../../../src/protocol/headers';
import {
  ApiKey,
  createProduceRequest,
  createProduceRequestPartitionProduceData,
  createProduceRequestTopicProduceData,
  decodeProduceRequest,
  encodeProduceRequest,
  type ProduceRequest,
} from '../../../src/protocol/messages';
import { Reader, Writer } from '../../../src/protocol/primitives';

/** Where a partition's records go: a topic by name (v3-12) or by id (v13+). */
export interface ProducedPartition {
  topic: string;
  /** The topic id written for v13+ (all zeros when absent). */
  topicId?: string;
  partition: number;
  records: Buffer | null;
}

/**
 * A whole Produce request frame (without its size prefix), correlation id 7. Partitions of the
 * same topic share its entry, in order of first appearance.
 */
export function produceFrame(
  version: number,
  partitions: ProducedPartition[],
  acks = -1,
  clientId: string | null = 'unit',
  transactionalId: string | null = null,
): Buffer {
  const writer = new Writer();
  encodeRequestHeader(writer, {
    apiKey: ApiKey.Produce,
    apiVersion: version,
    correlationId: 7,
    clientId,
  });
  const request = createProduceRequest();
  request.acks = acks;
  request.timeoutMs = 30_000;
  request.transactionalId = transactionalId;
  for (const p of partitions) {
    let topic = request.topicData.find((t) => t.name === p.topic);
    if (topic === undefined) {
      topic = createProduceRequestTopicProduceData();
      topic.name = p.topic;
      if (p.topicId !== undefined) topic.topicId = p.topicId;
      request.topicData.push(topic);
    }
    const partition = createProduceRequestPartitionProduceData();
    partition.index = p.partition;
    partition.records = p.records;
    topic.partitionData.push(partition);
  }
  encodeProduceRequest(writer, request, version);
  return Buffer.from(writer.result());
}

/**
 * The Produce request in a frame a handler forwarded (without its size prefix). Fails on a
 * header that names another API or version, or on bytes after the body: a rewritten frame must
 * be exactly one request as the broker will parse it.
 */
export function decodeProduceFrame(frame: Buffer, version: number): ProduceRequest {
  const reader = new Reader(frame);
  const header = decodeRequestHeader(reader);
  if (header.apiKey !== ApiKey.Produce || header.apiVersion !== version) {
    throw new Error(`frame holds api ${header.apiKey} v${header.apiVersion}, not Produce v${version}`);
  }
  const request = decodeProduceRequest(reader, version);
  if (reader.remaining() !== 0) throw new Error(`${reader.remaining()} bytes after the Produce request`);
  return request;
}
