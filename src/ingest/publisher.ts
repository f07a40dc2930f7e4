import type { Admin, Kafka, PartitionMetadata, Producer, RecordMetadata } from 'kafkajs';
import type { GatewayConfig } from '../config/gateway-config';
import { ApiError } from '../http/api-error';
import type { Logger } from '../observability/logger';
import type { ProduceContext } from '../pipeline/middleware';
import type { Pipeline, RecordJudgement } from '../pipeline/pipeline';
import type { ProduceTracing } from '../pipeline/produce-tracing';
import type { RecordHeader } from '../protocol/records';
import { LruMap } from '../quotas/lru-map';
import { KafkaWriteError, kafkaWriteError } from './kafka-write-error';

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

interface Queued {
  record: PublishRecord & { partition: number; timestamp: number };
  /** Its bytes, counted in Publisher.unacknowledged until kafkajs has let go of it. */
  size: number;
  /** sendBatch calls holding it now. */
  sends: number;
  /** No longer counted in Publisher.unacknowledged. */
  released: boolean;
  resolve: (result: PublishResult) => void;
}

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
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly partitioner: ReturnType<typeof import('kafkajs').Partitioners.DefaultPartitioner>;
  private readonly metadata = new LruMap<string, TopicPartitions>(MAX_TOPICS_CACHED);
  private readonly lookups = new Map<string, Promise<PartitionMetadata[] | null>>();
  private readonly turns = new LruMap<string, number>(MAX_TOPICS_CACHED);
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | null = null;
  private clusterIdPromise: Promise<string> | null = null;
  private connected = false;
  /** Bytes of queued and in-flight records: what a stalled cluster makes the gateway hold. */
  private unacknowledged = 0;
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(private readonly options: PublisherOptions) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const kafkajs = require('kafkajs') as typeof import('kafkajs');
    this.partitioner = kafkajs.Partitioners.DefaultPartitioner();
    this.producer = options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: options.settings.retries },
    });
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
      Promise.all([this.producer.connect(), this.admin.connect()]).then(
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
    if (this.timer !== null) clearTimeout(this.timer);
    this.flush();
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
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
    // While Kafka does not answer, waiting records pile up here; past the bound publishers are told
    // to come back instead of the gateway holding their bodies until it runs out of memory.
    let size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
    for (const header of headers) size += header.key.length + (header.value?.length ?? 0);
    const limit = this.options.settings.maxUnacknowledgedBytes;
    if (this.unacknowledged + size > limit)
      return {
        status: 'failed',
        topic: record.topic,
        error: new KafkaWriteError(
          503,
          'BUFFER_FULL',
          `the gateway already holds ${this.unacknowledged} bytes Kafka has not acknowledged (ingest.producer.maxUnacknowledgedBytes ${limit})`,
        ),
      };
    this.unacknowledged += size;
    return new Promise((resolve) => {
      this.queue.push({
        record: { ...record, headers, partition, timestamp: record.timestamp ?? Date.now() },
        size,
        sends: 0,
        released: false,
        resolve,
      });
      if (this.queue.length >= this.options.settings.maxBatchRecords) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.settings.lingerMs);
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

  /**
   * Sends what is queued: one sendBatch per partition. kafkajs fails a whole produce request when
   * one of its partitions is refused, and rolls back the sequence numbers of all of them, although
   * the broker wrote the others; the next write to such a partition would then be taken for a
   * duplicate and answered with an old offset without being written. Kafka takes or refuses one
   * partition's batch whole, so with one partition per request a failure means none of it was
   * written, and its sequence numbers are free to be used again.
   */
  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const byPartition = new Map<string, Queued[]>();
    for (const queued of batch) {
      const id = `${queued.record.topic}\u0000${queued.record.partition}`;
      const list = byPartition.get(id);
      if (list === undefined) byPartition.set(id, [queued]);
      else list.push(queued);
    }
    for (const queued of byPartition.values()) void this.sendPartition(queued);
  }

  /**
   * Writes records of one partition and answers them. A batch of several publishers' records
   * refused for something a record itself causes (a timestamp out of range, too large once
   * batched, a missing key on a compacted topic) was not written at all: each record is then sent
   * on its own, so only the one at fault is refused.
   */
  private async sendPartition(queued: Queued[]): Promise<void> {
    const outcome = await this.send(queued);
    if (outcome instanceof KafkaWriteError) {
      if (queued.length > 1 && outcome.status !== 503) {
        for (const one of queued) await this.sendPartition([one]);
        return;
      }
      this.options.logger.warn(
        { err: outcome.message, records: queued.length },
        'ingest: write to Kafka failed',
      );
      for (const one of queued) one.resolve({ status: 'failed', topic: one.record.topic, error: outcome });
      return;
    }
    settle(queued, outcome);
  }

  private async send(queued: Queued[]): Promise<RecordMetadata[] | KafkaWriteError> {
    const { settings } = this.options;
    const send = this.producer.sendBatch({
      acks: -1,
      timeout: settings.requestTimeoutMs,
      compression: COMPRESSION[settings.compression],
      topicMessages: [
        {
          topic: queued[0].record.topic,
          messages: queued.map(({ record }) => ({
            key: record.key,
            value: record.value,
            partition: record.partition,
            timestamp: String(record.timestamp),
            headers: headerObject(record.headers),
          })),
        },
      ],
    });
    // Counted until kafkajs lets go of the records, which may be after their answer (a timeout).
    // Counted from enqueueing until its last send is over; a record sent again on its own after
    // its batch was refused is counted again meanwhile.
    const release = () => {
      for (const one of queued) {
        if (--one.sends === 0) {
          this.unacknowledged -= one.size;
          one.released = true;
        }
      }
    };
    for (const one of queued) {
      if (one.sends++ === 0 && one.released) {
        this.unacknowledged += one.size;
        one.released = false;
      }
    }
    send.then(release, release);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<KafkaWriteError>((resolve) => {
      timer = setTimeout(
        () =>
          resolve(
            new KafkaWriteError(
              503,
              'REQUEST_TIMED_OUT',
              `Kafka did not acknowledge within ${settings.requestTimeoutMs} ms; the record may still be written`,
            ),
          ),
        settings.requestTimeoutMs,
      );
    });
    try {
      return await Promise.race([send, deadline]);
    } catch (error) {
      return kafkaWriteError(error);
    } finally {
      clearTimeout(timer);
    }
  }
}

const UNJUDGED: RecordJudgement = {
  rejected: null,
  errorCode: 0,
  dropped: false,
  added: null,
  outcome: 'unvalidated',
};

const COMPRESSION = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

/**
 * kafkajs takes headers as an object; a header name sent twice becomes an array, which kafkajs
 * writes as repeated headers in order, so nothing is lost.
 */
function headerObject(headers: readonly RecordHeader[]): Record<string, Buffer | Buffer[]> {
  const object: Record<string, Buffer | Buffer[]> = Object.create(null) as Record<string, Buffer | Buffer[]>;
  for (const { key, value } of headers) {
    const buffer = value ?? Buffer.alloc(0);
    const existing = object[key];
    if (existing === undefined) object[key] = buffer;
    else if (Array.isArray(existing)) existing.push(buffer);
    else object[key] = [existing, buffer];
  }
  return object;
}

/**
 * Each record's offset: its partition's base offset plus its place among that partition's
 * records in this batch (kafkajs writes one record batch per partition, in the order given).
 */
function settle(batch: Queued[], answers: RecordMetadata[]): void {
  const byPartition = new Map<string, RecordMetadata>();
  for (const answer of answers) byPartition.set(`${answer.topicName}\u0000${answer.partition}`, answer);
  const seen = new Map<string, number>();
  for (const queued of batch) {
    const { topic, partition, timestamp } = queued.record;
    const id = `${topic}\u0000${partition}`;
    const answer = byPartition.get(id);
    const ordinal = seen.get(id) ?? 0;
    seen.set(id, ordinal + 1);
    if (answer === undefined || answer.errorCode !== 0 || answer.baseOffset === undefined) {
      queued.resolve({
        status: 'failed',
        topic,
        error: new KafkaWriteError(
          503,
          'UNKNOWN_SERVER_ERROR',
          `Kafka gave no offset for ${topic}-${partition}`,
        ),
      });
      continue;
    }
    const logAppendTime = answer.logAppendTime !== undefined && answer.logAppendTime !== '-1';
    queued.resolve({
      status: 'written',
      topic,
      partition,
      offset: (BigInt(answer.baseOffset) + BigInt(ordinal)).toString(),
      timestamp: logAppendTime ? Number(answer.logAppendTime) : timestamp,
    });
  }
}
