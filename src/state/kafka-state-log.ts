import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { RenewingProducer } from '../kafka/renewing-producer';
import { whileTopicUnknown } from '../kafka/topic-creation';
import type { Logger } from '../observability/logger';
import type { StateLog, StateRecordHandler } from './state-log';
import { ensureStateTopic } from './state-topic';
import { StateUnavailableError, withTimeout } from './state-errors';

export interface KafkaStateLogOptions {
  topic: string;
  groupIdPrefix: string;
  /** A write Kafka has not taken by then is given up, retries included. */
  writeTimeoutMs: number;
}

/**
 * The state log as a compacted, one-partition Kafka topic. Each instance reads it with a consumer
 * group of its own (nothing committed: every start reads the whole topic), and writes with an
 * idempotent producer and acks=all.
 */
export class KafkaStateLog implements StateLog {
  private admin: Admin | null = null;
  private producer: RenewingProducer | null = null;
  private consumer: Consumer | null = null;
  private onRecord: StateRecordHandler | null = null;
  private position = -1;
  private running = false;
  private stopped = false;
  private lastError: string | null = null;
  /** Sends still retrying after their caller gave up on them: stop() lets them end first. */
  private readonly sending = new Set<Promise<unknown>>();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: KafkaStateLogOptions,
    private readonly logger: Logger,
  ) {}

  get name(): string {
    return this.options.topic;
  }

  async start(onRecord: StateRecordHandler): Promise<number> {
    this.onRecord = onRecord;
    const admin = this.kafka.admin();
    this.admin = admin;
    await admin.connect();
    await ensureStateTopic(admin, this.options.topic);
    const [end] = await whileTopicUnknown(() => admin.fetchTopicOffsets(this.options.topic));
    this.producer = new RenewingProducer(this.kafka, undefined, this.logger, 'state');
    await this.producer.connect();
    await this.follow(null);
    return Number(end?.high ?? '0') - 1;
  }

  /** Joins a group of its own and reads from `from`, or from the beginning. */
  private async follow(from: number | null): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: `${this.options.groupIdPrefix}${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
      allowAutoTopicCreation: false,
      // The broker answers a fetch as soon as a record arrives, so the wait bounds only how often
      // an idle reader asks again: at 50 ms the polling alone cost an idle gateway 5 % of a core.
      maxWaitTimeInMs: 500,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      // kafkajs restarts a crashed reader on a timer of its own; once stopped there is nothing to restart.
      retry: { restartOnFailure: async () => !this.stopped },
    });
    this.consumer = consumer;
    // A restart kafkajs had already begun when stop() ran finishes afterwards, joining the group
    // again with nobody left to stop it: it is stopped as soon as it shows up.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (this.stopped) void consumer.disconnect().catch(() => undefined);
    });
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload as { error: Error; restart: boolean };
      this.lastError = error.message;
      // A reader kafkajs restarts itself (a coordinator moving, a broker restarting) is routine.
      if (restart) this.logger.warn({ err: error.message }, 'state: the topic reader restarts');
      else this.logger.error({ err: error.message }, 'state: the topic reader crashed');
      // kafkajs restarts by itself after retriable errors; after the others the reader is
      // replaced, continuing after the last record it handed over.
      if (restart || this.stopped) return;
      this.running = false;
      setTimeout(() => {
        if (this.stopped) return;
        consumer
          .disconnect()
          .catch(() => undefined)
          .then(() => this.follow(this.position + 1))
          .catch((err: Error) => {
            this.lastError = err.message;
            this.logger.error({ err: err.message }, 'state: cannot follow the topic again');
          });
      }, 1_000).unref();
    });
    await consumer.connect();
    if (this.stopped) {
      // stop() ran while this reader was being replaced: it disconnected the one before.
      await consumer.disconnect().catch(() => undefined);
      return;
    }
    await consumer.subscribe({ topics: [this.options.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const offset = Number(message.offset);
        if (offset <= this.position) return;
        await this.onRecord?.(offset, message.key, message.value);
        this.position = offset;
      },
    });
    if (from !== null) consumer.seek({ topic: this.options.topic, partition: 0, offset: String(from) });
    this.running = true;
    this.lastError = null;
  }

  async append(key: string, value: Buffer | null, timeoutMs: number): Promise<number> {
    const producer = this.producer;
    if (producer === null || this.stopped) throw new StateUnavailableError('the state log is not open');
    const send = producer.send({
      acks: -1,
      timeout: timeoutMs,
      topicMessages: [{ topic: this.options.topic, messages: [{ key, value }] }],
    });
    this.sending.add(send);
    const settled = () => this.sending.delete(send);
    send.then(settled, settled);
    try {
      const [meta] = await withTimeout(send, timeoutMs, 'writing to the state topic');
      return Number(meta.baseOffset);
    } catch (error) {
      if (error instanceof StateUnavailableError) throw error;
      throw new StateUnavailableError(`Kafka did not take the change: ${(error as Error).message}`);
    }
  }

  following(): { ok: boolean; detail: string } {
    if (this.running) return { ok: true, detail: `following ${this.options.topic}` };
    return { ok: false, detail: `not following ${this.options.topic}: ${this.lastError ?? 'stopped'}` };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    await Promise.allSettled([...this.sending]);
    await this.consumer?.disconnect().catch(() => undefined);
    await this.producer?.stop();
    await this.admin?.disconnect().catch(() => undefined);
  }
}
