import { setTimeout as sleep } from 'node:timers/promises';
import type { IHeaders, Kafka } from 'kafkajs';
import { RenewingProducer } from '../kafka/renewing-producer';
import type { Logger } from '../observability/logger';
import type { DeliveredRecord } from './delivery-format';

/** Why a record was given up on, written as headers beside the record's own. */
export interface DeadLetterReason {
  subscription: string;
  /** The target's last status, when it answered. */
  status?: number;
  /** What went wrong, in words: the last error, or why retrying stopped. */
  error: string;
  attempts: number;
  firstAttemptAt: number;
  lastAttemptAt: number;
}

/** Headers the gateway adds to a dead letter; everything else is the record as it was. */
export const DEAD_LETTER_HEADERS = {
  subscription: '_eg_dlq_subscription',
  topic: '_eg_dlq_topic',
  partition: '_eg_dlq_partition',
  offset: '_eg_dlq_offset',
  status: '_eg_dlq_status',
  error: '_eg_dlq_error',
  attempts: '_eg_dlq_attempts',
  firstAttemptAt: '_eg_dlq_first_attempt_at',
  lastAttemptAt: '_eg_dlq_last_attempt_at',
} as const;

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;
/** Errors are quoted from targets; a header is no place for a whole HTML error page. */
const MAX_ERROR_CHARS = 1_000;

/**
 * Writes records that cannot be delivered to their subscription's dead-letter topic, keeping key,
 * value and headers. A record's offset is committed only after this write is acknowledged, so the
 * write is retried until it succeeds or delivery stops (then the record is delivered again by
 * whichever instance takes the partition over): a dead letter is never lost, only perhaps doubled.
 */
export class DeadLetters {
  private readonly producer: RenewingProducer;
  private connecting: Promise<void> | null = null;

  constructor(
    kafka: Kafka,
    private readonly logger: Logger,
  ) {
    this.producer = new RenewingProducer(kafka, undefined, logger, 'subscription dead letters');
  }

  private connect(): Promise<void> {
    this.connecting ??= this.producer.connect().catch((error: unknown) => {
      this.connecting = null;
      throw error;
    });
    return this.connecting;
  }

  /** Resolves once Kafka has the record (acks=all); false when `signal` stopped it first. */
  async write(
    topic: string,
    record: DeliveredRecord,
    reason: DeadLetterReason,
    signal: AbortSignal,
  ): Promise<boolean> {
    const headers: IHeaders = { ...(record.headers ?? {}) } as IHeaders;
    const add = (name: string, value: string) => {
      headers[name] = value;
    };
    add(DEAD_LETTER_HEADERS.subscription, reason.subscription);
    add(DEAD_LETTER_HEADERS.topic, record.topic);
    add(DEAD_LETTER_HEADERS.partition, String(record.partition));
    add(DEAD_LETTER_HEADERS.offset, record.offset);
    if (reason.status !== undefined) add(DEAD_LETTER_HEADERS.status, String(reason.status));
    add(DEAD_LETTER_HEADERS.error, reason.error.slice(0, MAX_ERROR_CHARS));
    add(DEAD_LETTER_HEADERS.attempts, String(reason.attempts));
    add(DEAD_LETTER_HEADERS.firstAttemptAt, new Date(reason.firstAttemptAt).toISOString());
    add(DEAD_LETTER_HEADERS.lastAttemptAt, new Date(reason.lastAttemptAt).toISOString());
    let delay = RETRY_MIN_MS;
    for (;;) {
      if (signal.aborted) return false;
      try {
        await this.connect();
        await this.producer.send({
          acks: -1,
          topicMessages: [
            {
              topic,
              messages: [{ key: record.key, value: record.value, headers, timestamp: record.timestamp }],
            },
          ],
        });
        return true;
      } catch (error) {
        this.logger.warn(
          { subscription: reason.subscription, deadLetterTopic: topic, err: (error as Error).message },
          'subscription: cannot write a dead letter yet; trying again (the record stays uncommitted)',
        );
        try {
          await sleep(delay, undefined, { signal });
        } catch {
          return false;
        }
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  async stop(): Promise<void> {
    await this.producer.stop();
  }
}
