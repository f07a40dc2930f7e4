import { encodeRequestHeader } from '../../../src/protocol/headers';
import {
  ApiKey,
  createProduceRequest,
  createProduceRequestPartitionProduceData,
  createProduceRequestTopicProduceData,
  encodeProduceRequest,
} from '../../../src/protocol/messages';
import { Writer } from '../../../src/protocol/primitives';

/** A whole Produce request frame (without its size prefix), correlation id 7, client id "unit". */
export function produceFrame(
  version: number,
  partitions: { topic: string; partition: number; records: Buffer }[],
  acks = -1,
): Buffer {
  const writer = new Writer();
  encodeRequestHeader(writer, {
    apiKey: ApiKey.Produce,
    apiVersion: version,
    correlationId: 7,
    clientId: 'unit',
  });
  const request = createProduceRequest();
  request.acks = acks;
  request.timeoutMs = 30_000;
  for (const p of partitions) {
    let topic = request.topicData.find((t) => t.name === p.topic);
    if (topic === undefined) {
      topic = createProduceRequestTopicProduceData();
      topic.name = p.topic;
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
