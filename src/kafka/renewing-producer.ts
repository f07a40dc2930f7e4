import type { Kafka, Producer, ProducerBatch, RecordMetadata, RetryOptions } from 'kafkajs';
import type { Logger } from '../observability/logger';

const RECONNECT_MS = 1_000;

/**
 * Kafka errors that refuse a batch for what it is: the broker wrote none of it, so the sequence
 * numbers kafkajs takes back are free to be used again.
 */
const REFUSED_UNWRITTEN = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'POLICY_VIOLATION',
  'INVALID_REQUIRED_ACKS',
]);

/**
 * An idempotent kafkajs producer made safe to rely on for "acknowledged means written".
 *
 * kafkajs numbers a batch when it sends it and takes the numbers back when the send fails. That
 * breaks the idempotent producer's promise twice:
 * - a second batch for the same partition sent meanwhile takes the same numbers, and if the
 *   broker did write the first, it takes the second for a retry of it: it answers with the first
 *   one's offset and drops it. So a partition (or, when kafkajs picks the partition, a topic) has
 *   one send in flight at most; the next waits for the whole send, kafkajs's retries included;
 * - after a send fails in a way that leaves open whether the broker wrote it (a timeout, a lost
 *   connection, retries given up), the numbers taken back may already be used on the broker, and
 *   the next batch of the same size would be dropped the same way. The producer is then replaced:
 *   a new producer id starts its sequences afresh. The old one finishes what it has in flight.
 */
export class RenewingProducer {
  private producer: Producer;
  /** Settles once `producer` is connected; a replacement keeps trying until it is. */
  private ready: Promise<void> = Promise.resolve();
  private giveUp: (() => void) | null = null;
  private retry: NodeJS.Timeout | null = null;
  private readonly inFlight = new Map<Producer, number>();
  private readonly retiring = new Set<Producer>();
  /** The send in flight per partition (or topic), which the next one for it waits for. */
  private readonly turns = new Map<string, Promise<unknown>>();
  private stopped = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly retries: RetryOptions | undefined,
    private readonly logger: Logger,
    /** What the producer writes, for log lines. */
    private readonly purpose: string,
  ) {
    this.producer = this.create();
  }

  /** The first connection; the caller decides how to retry it. */
  connect(): Promise<void> {
    return this.producer.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.giveUp?.();
    await Promise.allSettled([this.producer, ...this.retiring].map((producer) => producer.disconnect()));
  }

  /** Sends one topic's records, all to one partition or all left to kafkajs's partitioner. */
  async send(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const [{ topic, messages }] = batch.topicMessages!;
    const turn = `${topic}\u0000${messages[0]?.partition ?? ''}`;
    const previous = this.turns.get(turn);
    const mine = this.sendAfter(previous, batch);
    const settled = mine.catch(() => undefined);
    this.turns.set(turn, settled);
    void settled.then(() => {
      if (this.turns.get(turn) === settled) this.turns.delete(turn);
    });
    return mine;
  }

  private async sendAfter(
    previous: Promise<unknown> | undefined,
    batch: ProducerBatch,
  ): Promise<RecordMetadata[]> {
    if (previous !== undefined) await previous;
    await this.ready;
    if (this.stopped) throw new Error(`the ${this.purpose} producer is stopped`);
    const producer = this.producer;
    this.inFlight.set(producer, (this.inFlight.get(producer) ?? 0) + 1);
    try {
      return await producer.sendBatch(batch);
    } catch (error) {
      if (!refusedUnwritten(error)) this.replace(producer, error as Error);
      throw error;
    } finally {
      const left = this.inFlight.get(producer)! - 1;
      if (left > 0) this.inFlight.set(producer, left);
      else {
        this.inFlight.delete(producer);
        if (this.retiring.delete(producer)) void producer.disconnect().catch(() => undefined);
      }
    }
  }

  private create(): Producer {
    return this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: this.retries,
    });
  }

  private replace(failed: Producer, error: Error): void {
    if (failed !== this.producer || this.stopped) return;
    this.logger.warn(
      { err: error.message },
      `${this.purpose}: a write to Kafka ended without an answer; continuing with a new producer id`,
    );
    const fresh = this.create();
    this.producer = fresh;
    this.ready = new Promise((resolve) => {
      this.giveUp = resolve;
      const attempt = (): void => {
        this.retry = null;
        if (this.stopped) return resolve();
        fresh.connect().then(resolve, (failure: Error) => {
          this.logger.warn(
            { err: failure.message },
            `${this.purpose}: cannot connect to Kafka yet; trying again`,
          );
          this.retry = setTimeout(attempt, RECONNECT_MS);
        });
      };
      attempt();
    });
    if ((this.inFlight.get(failed) ?? 0) > 1) this.retiring.add(failed);
    else void failed.disconnect().catch(() => undefined);
  }
}

/** Whether kafkajs's error (retries wrap the broker's) says the broker refused the batch whole. */
function refusedUnwritten(error: unknown): boolean {
  let inner = error as { type?: string; cause?: unknown } | undefined;
  for (let depth = 0; depth < 5 && inner?.type === undefined && inner?.cause !== undefined; depth++)
    inner = inner.cause as typeof inner;
  return inner?.type !== undefined && REFUSED_UNWRITTEN.has(inner.type);
}
