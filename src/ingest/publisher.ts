import type { Admin, Kafka, PartitionMetadata } from 'kafkajs';
import type { GatewayConfig } from '../config/gateway-config';
import { ApiError } from '../http/api-error';
import type { Logger } from '../observability/logger';
import type { ProduceContext } from '../pipeline/middleware';
import type { Pipeline, RecordJudgement } from '../pipeline/pipeline';
import type { ProduceTracing } from '../pipeline/produce-tracing';
import type { RecordHeader } from '../protocol/records';
import { LruMap } from '../quotas/lru-map';
import { KafkaWriteError, kafkaWriteError } from './kafka-write-error';
import { RecordWriter } from './record-writer';

/** A record an HTTP publisher sent, before the pipeline has judged it. */
export interface PublishRecord {
  topic: string;
  /** The partition asked for; absent: by key (Java's murmur2, as every Kafka client), else spread. */
  partition?: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  /** Milliseconds since the epoch; absent: now. */
  timestamp?: number;
}

export type PublishResult =
  | { status: 'written'; topic: string; partition: number; offset: string; timestamp: number }
  | { status: 'dropped'; topic: string }
  | { status: 'rejected'; topic: string; reason: string; errorCode: number }
  | { status: 'failed'; topic: string; error: KafkaWriteError }
  /** Not written because another record of an all-or-nothing publish was rejected. */
  | { status: 'withheld'; topic: string };

export interface PublisherOptions {
  kafka: Kafka;
  settings: GatewayConfig['ingest']['producer'];
  /** The pipeline in force; asked per request, so a replaced pipeline applies at once. */
  pipeline: () => Pipeline;
  /** A span per publish, as the Kafka door has one per produce request; null: not traced. */
  tracing: ProduceTracing | null;
  /** Each record's fate for the records metric (door="http"). */
  counted: (topic: string, outcome: string) => void;
  logger: Logger;
}

/** Kafka's own rule for topic names; anything else is refused before Kafka is asked. */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
/** How long a topic's partitions are trusted, and how long a missing topic stays missing. */
const METADATA_TTL_MS = 30_000;
const MISSING_TTL_MS = 5_000;
const MAX_TOPICS_CACHED = 10_000;
const RECONNECT_MS = 1_000;

interface TopicPartitions {
  partitions: PartitionMetadata[] | null;
  at: number;
}

/**
 * The HTTP door's way into Kafka: each record judged by the pipeline the Kafka door uses, then
 * written with an idempotent producer and acks=all, and answered only once Kafka acknowledged it.
 * kafkajs sends one request per call, so records arriving within `lingerMs` of each other are
 * gathered into one sendBatch: under load a produce request carries many HTTP requests' records.
 */
export class Publisher {
  private readonly writer: RecordWriter;
  private readonly admin: Admin;
  private readonly partitioner: ReturnType<typeof import('kafkajs').Partitioners.DefaultPartitioner>;
  private readonly metadata = new LruMap<string, TopicPartitions>(MAX_TOPICS_CACHED);
  private readonly lookups = new Map<string, Promise<PartitionMetadata[] | null>>();
  private readonly turns = new LruMap<string, number>(MAX_TOPICS_CACHED);
  private clusterIdPromise: Promise<string> | null = null;
  private connected = false;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(private readonly options: PublisherOptions) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const kafkajs = require('kafkajs') as typeof import('kafkajs');
    this.partitioner = kafkajs.Partitioners.DefaultPartitioner();
    this.writer = new RecordWriter(options.kafka, options.settings, options.logger);
    this.admin = options.kafka.admin();
  }

  /**
   * Connects in the background, again and again until it works: a gateway may start before its
   * cluster answers, and the Kafka door must not wait for the HTTP door. Until then a publish is
   * answered 503.
   */
  start(): void {
    const attempt = (): void => {
      if (this.stopped) return;
      Promise.all([this.writer.connect(), this.admin.connect()]).then(
        () => {
          this.connected = true;
        },
        (error: Error) => {
          this.options.logger.warn(
            { err: error.message },
            'ingest: cannot connect to Kafka yet; trying again',
          );
          this.retry = setTimeout(attempt, RECONNECT_MS);
        },
      );
    };
    attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry !== null) clearTimeout(this.retry);
    await Promise.allSettled([this.writer.stop(), this.admin.disconnect()]);
  }

  private unavailable(): KafkaWriteError | null {
    return this.connected
      ? null
      : new KafkaWriteError(503, 'NETWORK_EXCEPTION', 'the gateway is not connected to Kafka yet');
  }

  /** The cluster's id (GET /v3/clusters), asked once. */
  clusterId(): Promise<string> {
    const down = this.unavailable();
    if (down !== null) return Promise.reject(down);
    this.clusterIdPromise ??= this.admin.describeCluster().then(
      (cluster) => cluster.clusterId,
      (error: unknown) => {
        this.clusterIdPromise = null;
        throw kafkaWriteError(error);
      },
    );
    return this.clusterIdPromise;
  }

  /** Topics of the cluster, without the internal ones (names starting with `_`). */
  async topics(): Promise<string[]> {
    const down = this.unavailable();
    if (down !== null) throw down;
    try {
      return (await this.admin.listTopics()).filter((topic) => !topic.startsWith('_')).sort();
    } catch (error) {
      throw kafkaWriteError(error);
    }
  }

  /** The partitions of `topic`, or null when the cluster has no such topic. */
  async partitions(topic: string): Promise<PartitionMetadata[] | null> {
    if (!TOPIC_NAME.test(topic)) return null;
    const down = this.unavailable();
    if (down !== null) throw down;
    const known = this.metadata.get(topic);
    const now = Date.now();
    if (
      known !== undefined &&
      now - known.at < (known.partitions === null ? MISSING_TTL_MS : METADATA_TTL_MS)
    )
      return known.partitions;
    let lookup = this.lookups.get(topic);
    if (lookup === undefined) {
      lookup = this.admin
        .fetchTopicMetadata({ topics: [topic] })
        .then(
          (answer) => answer.topics[0]?.partitions ?? null,
          (error: { type?: string }) => {
            if (error.type === 'UNKNOWN_TOPIC_OR_PARTITION') return null;
            throw kafkaWriteError(error);
          },
        )
        .then((partitions) => {
          this.metadata.set(topic, { partitions, at: Date.now() });
          return partitions;
        })
        .finally(() => this.lookups.delete(topic));
      this.lookups.set(topic, lookup);
    }
    return lookup;
  }

  /**
   * Refuses, before anything is charged to the publisher's rate or the quotas, a topic the cluster
   * does not have (404) or a cluster that cannot be asked (503 with Retry-After).
   */
  async requireTopic(topic: string): Promise<void> {
    let partitions: PartitionMetadata[] | null;
    try {
      partitions = await this.partitions(topic);
    } catch (error) {
      const failure = kafkaWriteError(error);
      throw new ApiError(
        failure.status,
        failure.message,
        { kafka_error: failure.kafkaError },
        failure.status === 503 ? { 'retry-after': '5' } : {},
      );
    }
    if (partitions === null) throw new ApiError(404, `topic '${topic}' does not exist`);
  }

  /**
   * Judges and writes `records`, each on its own: the answer has one result per record, in
   * order. Records must name topics that exist (the caller checked with `partitions`).
   */
  async publish(
    records: readonly PublishRecord[],
    context: ProduceContext,
    /** All or nothing: one rejected record withholds the others (a CloudEvents batch). */
    atomic = false,
  ): Promise<PublishResult[]> {
    const pipeline = this.options.pipeline();
    const trace = this.options.tracing?.begin([...new Set(records.map((record) => record.topic))], context);
    const judgements: RecordJudgement[] = pipeline.empty
      ? records.map(() => UNJUDGED)
      : await pipeline.judge(records, context);
    const results: Promise<PublishResult>[] = [];
    const withhold = atomic && judgements.some((judgement) => judgement.rejected !== null);
    for (let i = 0; i < records.length; i++) {
      const record = records[i];
      const judgement = judgements[i];
      if (judgement.rejected !== null) {
        this.options.counted(record.topic, judgement.outcome);
        results.push(
          Promise.resolve({
            status: 'rejected',
            topic: record.topic,
            reason: judgement.rejected,
            errorCode: judgement.errorCode,
          }),
        );
        continue;
      }
      if (withhold) {
        this.options.counted(record.topic, 'refused');
        results.push(Promise.resolve({ status: 'withheld', topic: record.topic }));
        continue;
      }
      if (judgement.dropped) {
        this.options.counted(record.topic, 'dropped');
        results.push(Promise.resolve({ status: 'dropped', topic: record.topic }));
        continue;
      }
      results.push(
        this.write(record, judgement.added).then((result) => {
          this.options.counted(record.topic, result.status === 'written' ? judgement.outcome : 'failed');
          return result;
        }),
      );
    }
    const settled = await Promise.all(results);
    if (trace !== undefined) {
      const failed = settled.find((result) => result.status === 'failed');
      if (failed !== undefined) trace.end('failed', failed.error.message);
      else trace.end(settled.some((result) => result.status === 'rejected') ? 'rejected' : 'forwarded');
    }
    return settled;
  }

  private async write(record: PublishRecord, added: readonly RecordHeader[] | null): Promise<PublishResult> {
    const partitions = await this.partitions(record.topic).catch((error: KafkaWriteError) => error);
    if (partitions instanceof KafkaWriteError)
      return { status: 'failed', topic: record.topic, error: partitions };
    if (partitions === null)
      return {
        status: 'failed',
        topic: record.topic,
        error: new KafkaWriteError(
          404,
          'UNKNOWN_TOPIC_OR_PARTITION',
          `topic '${record.topic}' does not exist`,
        ),
      };
    if (record.partition !== undefined && !partitions.some((p) => p.partitionId === record.partition))
      return {
        status: 'failed',
        topic: record.topic,
        error: new KafkaWriteError(
          404,
          'UNKNOWN_TOPIC_OR_PARTITION',
          `topic '${record.topic}' has no partition ${record.partition} (it has ${partitions.length})`,
        ),
      };
    const headers = added === null ? record.headers : [...record.headers, ...added];
    const partition =
      record.partition ??
      (record.key !== null
        ? this.partitioner({
            topic: record.topic,
            partitionMetadata: partitions,
            message: { key: record.key, value: record.value },
          })
        : this.spread(record.topic, partitions));
    return this.writer.write({
      topic: record.topic,
      partition,
      key: record.key,
      value: record.value,
      headers,
      timestamp: record.timestamp ?? Date.now(),
    });
  }

  /**
   * Records without a key take turns over the partitions that have a leader. Kept here, not in
   * kafkajs's partitioner, which counts in a plain object where a topic named `constructor`
   * would find Object's own property.
   */
  private spread(topic: string, partitions: PartitionMetadata[]): number {
    const led = partitions.filter((partition) => partition.leader >= 0);
    const choices = led.length > 0 ? led : partitions;
    const turn = this.turns.get(topic) ?? Math.floor(Math.random() * choices.length);
    this.turns.set(topic, turn + 1);
    return choices[turn % choices.length].partitionId;
  }
}

const UNJUDGED: RecordJudgement = {
  rejected: null,
  errorCode: 0,
  dropped: false,
  added: null,
  outcome: 'unvalidated',
};
