import type { Kafka, RecordMetadata } from 'kafkajs';
import type { GatewayConfig } from '../config/gateway-config';
import { RenewingProducer } from '../kafka/renewing-producer';
import type { Logger } from '../observability/logger';
import type { RecordHeader } from '../protocol/records';
import { KafkaWriteError, kafkaWriteError } from './kafka-write-error';

/** A record ready for Kafka: its partition chosen, its headers final. */
export interface WritableRecord {
  topic: string;
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  timestamp: number;
}

export type WriteOutcome =
  | { status: 'written'; topic: string; partition: number; offset: string; timestamp: number }
  | { status: 'failed'; topic: string; error: KafkaWriteError };

interface Queued {
  record: WritableRecord;
  /** Its bytes, counted in RecordWriter.unacknowledged until kafkajs has let go of it. */
  size: number;
  /** sendBatch calls holding it now. */
  sends: number;
  /** No longer counted in RecordWriter.unacknowledged. */
  released: boolean;
  /** Handed to kafkajs at least once: a late answer must say it may still be written. */
  sent: boolean;
  answered: boolean;
  group: Group;
  resolve: (outcome: WriteOutcome) => void;
}

/** The records of one flush, which share one deadline. */
interface Group {
  unanswered: number;
  timer: NodeJS.Timeout | null;
}

/** One partition's records waiting for their turn: a partition has one write in flight at most. */
interface Lane {
  id: string;
  waiting: Queued[];
  busy: boolean;
}

/**
 * Writes records with an idempotent producer (acks=all) and answers each once Kafka acknowledged
 * it, or once the deadline passed (503: it may still be written).
 *
 * Records that arrive within `lingerMs` of each other go out together, one sendBatch per
 * partition: kafkajs fails a whole produce request when one of its partitions is refused and
 * takes back the sequence numbers of all of them, although the broker wrote the others, while
 * Kafka takes or refuses one partition's batch whole. A partition has one batch in flight (see
 * RenewingProducer for why); records arriving meanwhile wait in its lane and go out together next.
 */
export class RecordWriter {
  private readonly producer: RenewingProducer;
  private readonly lanes = new Map<string, Lane>();
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Bytes of queued and in-flight records: what a stalled cluster makes the gateway hold. */
  private unacknowledged = 0;
  private stopped = false;

  constructor(
    kafka: Kafka,
    private readonly settings: GatewayConfig['ingest']['producer'],
    private readonly logger: Logger,
  ) {
    this.producer = new RenewingProducer(kafka, { retries: settings.retries }, logger, 'ingest');
  }

  /** The producer's first connection; the caller retries until it works. */
  connect(): Promise<void> {
    return this.producer.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.flush();
    await this.producer.stop();
  }

  /**
   * Queues `record`, or refuses it at once (503 BUFFER_FULL) when the gateway already holds as
   * many bytes Kafka has not acknowledged as it may: while Kafka does not answer, publishers are
   * told to come back instead of the gateway holding their bodies until it runs out of memory.
   */
  write(record: WritableRecord): Promise<WriteOutcome> {
    let size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
    for (const header of record.headers) size += header.key.length + (header.value?.length ?? 0);
    const limit = this.settings.maxUnacknowledgedBytes;
    if (this.unacknowledged + size > limit)
      return Promise.resolve({
        status: 'failed',
        topic: record.topic,
        error: new KafkaWriteError(
          503,
          'BUFFER_FULL',
          `the gateway already holds ${this.unacknowledged} bytes Kafka has not acknowledged (ingest.producer.maxUnacknowledgedBytes ${limit})`,
        ),
      });
    this.unacknowledged += size;
    return new Promise((resolve) => {
      this.queue.push({
        record,
        size,
        sends: 0,
        released: false,
        sent: false,
        answered: false,
        group: NO_GROUP,
        resolve,
      });
      if (this.queue.length >= this.settings.maxBatchRecords) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.settings.lingerMs);
    });
  }

  /** Hands what is queued to the partitions' lanes, under one deadline. */
  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const group: Group = { unanswered: batch.length, timer: null };
    group.timer = setTimeout(() => this.expire(batch), this.settings.requestTimeoutMs);
    const started: Lane[] = [];
    for (const queued of batch) {
      queued.group = group;
      const id = `${queued.record.topic}\u0000${queued.record.partition}`;
      let lane = this.lanes.get(id);
      if (lane === undefined) {
        lane = { id, waiting: [], busy: false };
        this.lanes.set(id, lane);
      }
      lane.waiting.push(queued);
      if (!lane.busy) {
        lane.busy = true;
        started.push(lane);
      }
    }
    for (const lane of started) void this.drain(lane);
  }

  /** Answers what the deadline caught unanswered; records not sent yet will not be. */
  private expire(batch: Queued[]): void {
    const timeout = this.settings.requestTimeoutMs;
    for (const queued of batch) {
      if (queued.answered) continue;
      this.answer(queued, {
        status: 'failed',
        topic: queued.record.topic,
        error: new KafkaWriteError(
          503,
          'REQUEST_TIMED_OUT',
          queued.sent
            ? `Kafka did not acknowledge within ${timeout} ms; the record may still be written`
            : `an earlier write to ${queued.record.topic}-${queued.record.partition} was not answered within ${timeout} ms; the record was not written`,
        ),
      });
    }
  }

  private answer(queued: Queued, outcome: WriteOutcome): void {
    if (queued.answered) return;
    queued.answered = true;
    const { group } = queued;
    if (--group.unanswered === 0 && group.timer !== null) clearTimeout(group.timer);
    queued.resolve(outcome);
  }

  /** Sends a lane's records one batch at a time until none waits, then lets the lane go. */
  private async drain(lane: Lane): Promise<void> {
    while (lane.waiting.length > 0) {
      const chunk: Queued[] = [];
      while (lane.waiting.length > 0 && chunk.length < this.settings.maxBatchRecords) {
        const queued = lane.waiting.shift()!;
        // Answered 503 while it waited: the publisher was told to send it again, so it is not sent.
        if (queued.answered) this.release(queued);
        else chunk.push(queued);
      }
      if (chunk.length > 0) await this.sendPartition(chunk);
    }
    this.lanes.delete(lane.id);
  }

  private release(queued: Queued): void {
    if (!queued.released && queued.sends === 0) {
      this.unacknowledged -= queued.size;
      queued.released = true;
    }
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
        for (const one of queued) if (!one.answered) await this.sendPartition([one]);
        return;
      }
      this.logger.warn({ err: outcome.message, records: queued.length }, 'ingest: write to Kafka failed');
      for (const one of queued)
        this.answer(one, { status: 'failed', topic: one.record.topic, error: outcome });
      return;
    }
    this.settle(queued, outcome);
  }

  private async send(queued: Queued[]): Promise<RecordMetadata[] | KafkaWriteError> {
    if (this.stopped) return new KafkaWriteError(503, 'KAFKA_UNAVAILABLE', 'the gateway is shutting down');
    for (const one of queued) {
      one.sent = true;
      if (one.sends++ === 0 && one.released) {
        this.unacknowledged += one.size;
        one.released = false;
      }
    }
    try {
      return await this.producer.send({
        acks: -1,
        timeout: this.settings.requestTimeoutMs,
        compression: COMPRESSION[this.settings.compression],
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
    } catch (error) {
      return kafkaWriteError(error);
    } finally {
      // Counted until kafkajs lets go of the records; a record sent again on its own after its
      // batch was refused is counted again meanwhile.
      for (const one of queued) {
        if (--one.sends === 0) {
          this.unacknowledged -= one.size;
          one.released = true;
        }
      }
    }
  }

  /**
   * Each record's offset: its partition's base offset plus its place in this batch (kafkajs
   * writes one record batch per partition, in the order given).
   */
  private settle(batch: Queued[], answers: RecordMetadata[]): void {
    const { topic, partition } = batch[0].record;
    const answer = answers.find((one) => one.topicName === topic && one.partition === partition);
    for (let ordinal = 0; ordinal < batch.length; ordinal++) {
      const queued = batch[ordinal];
      if (answer === undefined || answer.errorCode !== 0 || answer.baseOffset === undefined) {
        this.answer(queued, {
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
      this.answer(queued, {
        status: 'written',
        topic,
        partition,
        offset: (BigInt(answer.baseOffset) + BigInt(ordinal)).toString(),
        timestamp: logAppendTime ? Number(answer.logAppendTime) : queued.record.timestamp,
      });
    }
  }
}

const NO_GROUP: Group = { unanswered: Number.POSITIVE_INFINITY, timer: null };

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
