/**
 * Bodies of hand-built Produce and Fetch requests, for RawKafkaConnection#request and rawRequest:
 * the tests that need them send exactly one topic (Fetch) or a few (Produce), and differ only in
 * the numbers below.
 */
import {
  createFetchRequest,
  createFetchRequestFetchPartition,
  createFetchRequestFetchTopic,
  createProduceRequest,
  createProduceRequestPartitionProduceData,
  createProduceRequestTopicProduceData,
  encodeFetchRequest,
  encodeProduceRequest,
} from '../../../src/protocol/messages';
import type { Writer } from '../../../src/protocol/primitives';

export const API_PRODUCE = 0;
export const API_FETCH = 1;
export const API_VERSIONS = 18;
/** The last Fetch version that names topics rather than using topic ids. */
export const FETCH_VERSION = 12;

export interface ProduceTopic {
  topic: string;
  partitions: { index: number; records: Buffer }[];
}

/** A Produce request body; `timeoutMs` is how long the broker may wait for acks=-1. */
export function produceBody(
  version: number,
  topics: readonly ProduceTopic[],
  acks = -1,
  timeoutMs = 10_000,
): (writer: Writer) => void {
  return (writer) =>
    encodeProduceRequest(
      writer,
      {
        ...createProduceRequest(),
        acks,
        timeoutMs,
        topicData: topics.map(({ topic, partitions }) => ({
          ...createProduceRequestTopicProduceData(),
          name: topic,
          partitionData: partitions.map(({ index, records }) => ({
            ...createProduceRequestPartitionProduceData(),
            index,
            records,
          })),
        })),
      },
      version,
    );
}

export interface FetchOptions {
  topic: string;
  partition?: number;
  offset?: bigint;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  partitionMaxBytes: number;
  readCommitted?: boolean;
}

/** A consumer's Fetch request body for one partition, outside any fetch session. */
export function fetchBody(options: FetchOptions, version = FETCH_VERSION): (writer: Writer) => void {
  return (writer) =>
    encodeFetchRequest(
      writer,
      {
        ...createFetchRequest(),
        replicaId: -1,
        maxWaitMs: options.maxWaitMs,
        minBytes: options.minBytes,
        maxBytes: options.maxBytes,
        isolationLevel: options.readCommitted ? 1 : 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            ...createFetchRequestFetchTopic(),
            topic: options.topic,
            partitions: [
              {
                ...createFetchRequestFetchPartition(),
                partition: options.partition ?? 0,
                currentLeaderEpoch: -1,
                fetchOffset: options.offset ?? 0n,
                lastFetchedEpoch: -1,
                logStartOffset: -1n,
                partitionMaxBytes: options.partitionMaxBytes,
              },
            ],
          },
        ],
      },
      version,
    );
}
