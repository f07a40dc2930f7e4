import { ErrorCode } from '../../protocol/error-codes';
import {
  createProduceResponse,
  createProduceResponsePartitionProduceResponse,
  createProduceResponseTopicProduceResponse,
  encodeProduceResponse,
  type ProduceRequest,
} from '../../protocol/messages/generated/produce';
import type { PartitionRejection } from '../../pipeline/pipeline';
import type { RequestRoute } from '../api-handler';
import { encodeResponse } from './response-codec';

/** Kafka truncates nothing, but a producer's log line should stay readable. */
const MAX_MESSAGE_CHARS = 4000;

function clip(text: string): string {
  return text.length <= MAX_MESSAGE_CHARS ? text : `${text.slice(0, MAX_MESSAGE_CHARS - 3)}...`;
}

export function describeRejection(rejection: PartitionRejection, topic: string, partition: number): string {
  const first = rejection.records[0];
  const more =
    rejection.records.length > 1 ? ` (and ${rejection.records.length - 1} more invalid records)` : '';
  return clip(`record ${first.index} of ${topic}-${partition}: ${first.message}${more}`);
}

/**
 * The gateway's own answer to a produce request it refuses. Every partition gets an error, so the
 * producer retries or fails all of them together, as the request was all-or-nothing: partitions
 * with bad records name them (record_errors, error_message, from v8), the others say that another
 * partition caused the refusal.
 */
export function produceRejection(
  route: RequestRoute,
  request: ProduceRequest,
  topicNames: readonly string[],
  rejections: readonly PartitionRejection[],
): Buffer {
  const byPartition = new Map<string, PartitionRejection>();
  for (const rejection of rejections)
    byPartition.set(`${rejection.topicIndex}:${rejection.partitionIndex}`, rejection);
  const first = rejections[0];
  const firstTopic = topicNames[first.topicIndex];
  const firstPartition = request.topicData[first.topicIndex].partitionData[first.partitionIndex].index;
  const elsewhere = `not written: ${firstTopic}-${firstPartition} in the same request was refused`;

  const response = createProduceResponse();
  request.topicData.forEach((topicData, t) => {
    const topic = createProduceResponseTopicProduceResponse();
    topic.name = topicData.name;
    topic.topicId = topicData.topicId;
    topicData.partitionData.forEach((partitionData, p) => {
      const partition = createProduceResponsePartitionProduceResponse();
      partition.index = partitionData.index;
      partition.baseOffset = -1n;
      const rejection = byPartition.get(`${t}:${p}`);
      if (rejection !== undefined) {
        partition.errorCode = rejection.errorCode;
        partition.errorMessage = describeRejection(rejection, topicNames[t], partitionData.index);
        partition.recordErrors = rejection.records.map((record) => ({
          batchIndex: record.index,
          batchIndexErrorMessage: clip(record.message),
          unknownTaggedFields: [],
        }));
      } else {
        partition.errorCode = ErrorCode.InvalidRecord;
        partition.errorMessage = elsewhere;
      }
      topic.partitionResponses.push(partition);
    });
    response.responses.push(topic);
  });
  return encodeResponse(route, { correlationId: route.correlationId }, response, encodeProduceResponse);
}

/**
 * The gateway's answer to a produce request refused as a whole for one reason (a hard quota):
 * every partition gets `errorCode` and the reason, none names a record, and `throttleTimeMs`
 * tells the producer how long to hold off before trying again.
 */
export function produceRefusal(
  route: RequestRoute,
  request: ProduceRequest,
  errorCode: number,
  message: string,
  throttleTimeMs = 0,
): Buffer {
  const response = createProduceResponse();
  response.throttleTimeMs = throttleTimeMs;
  for (const topicData of request.topicData) {
    const topic = createProduceResponseTopicProduceResponse();
    topic.name = topicData.name;
    topic.topicId = topicData.topicId;
    for (const partitionData of topicData.partitionData) {
      const partition = createProduceResponsePartitionProduceResponse();
      partition.index = partitionData.index;
      partition.baseOffset = -1n;
      partition.errorCode = errorCode;
      partition.errorMessage = clip(message);
      topic.partitionResponses.push(partition);
    }
    response.responses.push(topic);
  }
  return encodeResponse(route, { correlationId: route.correlationId }, response, encodeProduceResponse);
}
