import {
  createProduceResponsePartitionProduceResponse,
  createProduceResponseTopicProduceResponse,
  decodeProduceResponse,
  encodeProduceResponse,
  type ProduceRequest,
} from '../../protocol/messages/generated/produce';
import { PRODUCE_VERSIONS } from '../../protocol/produce-wire';
import type { RequestRoute } from '../api-handler';
import { decodeResponse, encodeResponse } from './response-codec';

/** A partition of a request, by the positions the pipeline reports. */
export interface PartitionPosition {
  topicIndex: number;
  partitionIndex: number;
}

/** The partitions of one topic the gateway answers itself. */
export interface LocalAnswer {
  name: string;
  topicId: string;
  partitions: number[];
}

/**
 * Takes the partitions whose records were all dropped out of the request (and topics left without
 * partitions). The broker refuses a partition without records as INVALID_RECORD, whereas a request
 * with fewer partitions, or none at all, is answered normally.
 */
export function removeEmptied(request: ProduceRequest, emptied: readonly PartitionPosition[]): void {
  const gone = new Set(emptied.map((p) => `${p.topicIndex}:${p.partitionIndex}`));
  request.topicData = request.topicData
    .map((topic, t) => ({
      ...topic,
      partitionData: topic.partitionData.filter((_, p) => !gone.has(`${t}:${p}`)),
    }))
    .filter((topic) => topic.partitionData.length > 0);
}

/** The partitions (by topic) the gateway answers itself; computed before removeEmptied. */
export function emptiedAnswers(
  request: ProduceRequest,
  emptied: readonly PartitionPosition[],
): LocalAnswer[] {
  const byTopic = new Map<number, LocalAnswer>();
  for (const { topicIndex, partitionIndex } of emptied) {
    const topic = request.topicData[topicIndex];
    let answer = byTopic.get(topicIndex);
    if (answer === undefined) {
      answer = { name: topic.name, topicId: topic.topicId, partitions: [] };
      byTopic.set(topicIndex, answer);
    }
    answer.partitions.push(topic.partitionData[partitionIndex].index);
  }
  return [...byTopic.values()];
}

/**
 * The broker's response with the partitions taken out of the request added, so that the producer
 * hears about every partition it sent: success, with offset -1, as nothing was appended.
 */
export function answerEmptied(frame: Buffer, route: RequestRoute, answers: readonly LocalAnswer[]): Buffer {
  const { header, body } = decodeResponse(frame, route, decodeProduceResponse);
  const byTopicId = route.apiVersion >= PRODUCE_VERSIONS.firstWithTopicIds;
  for (const answer of answers) {
    let topic = body.responses.find((t) =>
      byTopicId ? t.topicId === answer.topicId : t.name === answer.name,
    );
    if (topic === undefined) {
      topic = createProduceResponseTopicProduceResponse();
      topic.name = answer.name;
      topic.topicId = answer.topicId;
      body.responses.push(topic);
    }
    for (const index of answer.partitions) {
      const partition = createProduceResponsePartitionProduceResponse();
      partition.index = index;
      partition.baseOffset = -1n;
      topic.partitionResponses.push(partition);
    }
  }
  return encodeResponse(route, header, body, encodeProduceResponse, frame.length + 64);
}
