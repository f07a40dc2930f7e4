import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { GatewayConfig } from '../config/gateway-config';
import { createKafkaClient } from '../kafka/kafka-client';
import type { Logger } from '../observability/logger';
import { nameMatcher } from '../patterns/name-matcher';
import { RestartBackoff } from './restart-backoff';
import type { TapFrom } from './tap-from';
import type { ConsumedMessage } from './consumed-message';
import { partitionKey, replayHistory, type ReplayEnds } from './tap-replay';

export type TapListener = (topic: string, partition: number, message: ConsumedMessage) => void;

export type TapRestartReason = 'crash' | 'stuck';

export interface TapHealth {
  running: boolean;
  detail: string;
}

export interface TapConsumerOptions {
  /** Called for every restart of the consumer after it failed or stopped fetching. */
  onRestart?: (reason: TapRestartReason) => void;
  /** Supplies the kafkajs client; the configured cluster's unless given. */
  kafka?: Kafka;
}

const RESTART_INITIAL_MS = 500;
/** Short enough that the tap resumes within seconds of a broker coming back. */
const RESTART_MAX_MS = 5_000;
/** A consumer that ran this long before failing starts its restarts from the shortest delay again. */
const HEALTHY_RUN_MS = 30_000;
/**
 * An idle consumer completes a fetch every maxWaitTimeInMs (100 ms); one that has completed none
 * for this long is not reading, whatever it is waiting for (a broker that is gone, a rebalance).
 */
const FETCHING_WITHIN_MS = 10_000;
/** How long stop() and a restart wait for a consumer to leave its group before dropping it. */
const DISCONNECT_WAIT_MS = 10_000;

/**
 * Reads the mirrored topics back from the brokers (what subscribers see is what Kafka holds) with
 * one consumer group per gateway process, kept across re-subscriptions and restarts and committed
 * as records are published, so that the tap continues where it was instead of skipping to the
 * latest offsets:
 *
 * - Topics that exist when the tap starts are read from their high watermarks at that moment, set
 *   as the group's offsets before it first joins: nothing produced while it joins is lost.
 * - Topics found later (a periodic check re-subscribes) are read from their earliest offset: all
 *   they hold was produced after the start.
 * - A consumer that crashes, or stops fetching, is replaced with backoff and resumes from the
 *   committed offsets; records published before a restart but not yet committed are not
 *   published twice.
 */
export class TapConsumer {
  private readonly kafka: Kafka;
  private readonly matches: (topic: string) => boolean;
  private readonly groupId: string;
  private readonly backoff = new RestartBackoff(RESTART_INITIAL_MS, RESTART_MAX_MS);
  private readonly stuckAfterMs: number;
  /** The topics present at the first listing; null until then. */
  private presentAtStart: Set<string> | null = null;
  private readonly pinned = new Set<string>();
  /** The last offset published per partition: a restarted consumer re-reads what it had not committed. */
  private readonly published = new Map<string, bigint>();
  private consumer: Consumer | null = null;
  private topics: string[] = [];
  private subscribed: string | null = null;
  private joinedAt: number | null = null;
  private lastFetchAt = 0;
  private failure: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private refreshing: Promise<void> = Promise.resolve();
  /** Settles start(): the first attempt to fix the starting offsets is over. */
  private positioned: (() => void) | null = null;

  constructor(
    private readonly config: GatewayConfig,
    private readonly logger: Logger,
    private readonly onMessage: TapListener,
    private readonly options: TapConsumerOptions = {},
  ) {
    // Created only when the tap mirrors topics: kafkajs is loaded on first use.
    this.kafka = options.kafka ?? createKafkaClient(config, 'event-gateway-tap');
    this.matches = nameMatcher(config.tap.topics);
    this.groupId = `${config.tap.groupIdPrefix}${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.stuckAfterMs = config.tap.stuckAfterMs;
  }

  /**
   * Resolves once the starting offsets of the topics that exist are fixed (or fixing them failed
   * and is retried in the background): from then on every record produced reaches subscribers.
   */
  async start(): Promise<void> {
    const positioned = new Promise<void>((resolve) => {
      this.positioned = resolve;
    });
    this.refresh();
    // While a restart waits out its delay, the periodic check would only cut the delay short.
    this.timer = setInterval(() => {
      if (this.restartTimer === null) this.refresh();
    }, this.config.tap.topicRefreshMs);
    this.timer.unref();
    this.watchdog = setInterval(() => this.checkStuck(), Math.max(250, Math.floor(this.stuckAfterMs / 4)));
    this.watchdog.unref();
    await positioned;
  }

  /** Whether the tap is reading its topics, and if not, why; /readyz reports it. */
  health(): TapHealth {
    if (this.stopped) return { running: false, detail: 'stopped' };
    if (this.consumer !== null && this.joinedAt !== null) {
      const idleMs = Date.now() - this.lastFetchAt;
      if (idleMs >= Math.min(FETCHING_WITHIN_MS, this.stuckAfterMs)) {
        return { running: false, detail: `no fetch completed for ${idleMs} ms` };
      }
      return { running: true, detail: `mirroring ${this.topics.length} topic(s)` };
    }
    if (this.failure !== null) return { running: false, detail: this.failure };
    if (this.subscribed === null) return { running: false, detail: 'starting' };
    if (this.topics.length === 0) return { running: true, detail: 'no topic matches tap.topics yet' };
    return { running: false, detail: 'joining its consumer group' };
  }

  /** The topics the tap reads now. */
  mirroredTopics(): readonly string[] {
    return this.topics;
  }

  /**
   * Sends a client the history of `topics` from `from` (at most `maxRecordsPerPartition` records
   * per partition) and resolves with where it ended per partition. Only topics the tap mirrors
   * are read.
   */
  replay(
    topics: readonly string[] | null,
    from: TapFrom,
    onRecord: (topic: string, partition: number, message: ConsumedMessage) => Promise<void> | void,
    signal: AbortSignal,
  ): Promise<ReplayEnds> {
    const mirrored = topics === null ? this.topics : topics.filter((t) => this.topics.includes(t));
    return replayHistory(this.kafka, this.config.tap.groupIdPrefix, this.logger, {
      topics: mirrored,
      from,
      maxRecordsPerPartition: this.config.tap.maxReplayRecords,
      onRecord,
      signal,
    });
  }

  private refresh(): void {
    this.refreshing = this.refreshing
      .then(() => this.resubscribe())
      .catch((error: Error) => {
        this.settlePositioned();
        this.logger.warn({ err: error.message }, 'tap: cannot read the mirrored topics');
        if (this.consumer !== null) return;
        this.failure = `cannot read the mirrored topics: ${error.message}`;
        this.scheduleRestart();
      });
  }

  private async resubscribe(): Promise<void> {
    if (this.stopped) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((t) => this.matches(t)).sort();
      this.presentAtStart ??= new Set(topics);
      const key = topics.join('\n');
      if (key === this.subscribed && this.consumer !== null) return;
      if (this.stopped) return;
      await this.dropConsumer();
      await this.pinStartOffsets(admin, topics);
      this.settlePositioned();
      for (const partition of this.published.keys()) {
        if (!topics.includes(partition.slice(0, partition.indexOf('\0')))) this.published.delete(partition);
      }
      this.topics = topics;
      this.subscribed = key;
      if (topics.length === 0) {
        this.failure = null;
        return;
      }
      await this.launch(topics);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private settlePositioned(): void {
    this.positioned?.();
    this.positioned = null;
  }

  /** Fixes where the topics present at start begin (their high watermarks now), once each. */
  private async pinStartOffsets(admin: Admin, topics: readonly string[]): Promise<void> {
    for (const topic of topics) {
      if (this.pinned.has(topic) || !this.presentAtStart?.has(topic)) continue;
      const offsets = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({
        groupId: this.groupId,
        topic,
        partitions: offsets.map(({ partition, high }) => ({ partition, offset: high })),
      });
      this.pinned.add(topic);
    }
  }

  private async launch(topics: string[]): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 100,
      // kafkajs would restart only some failures, and only in place; every failure is handled here.
      retry: { restartOnFailure: async () => false },
    });
    const { CRASH, GROUP_JOIN, FETCH } = consumer.events;
    const fetched = () => {
      if (this.consumer === consumer) this.lastFetchAt = Date.now();
    };
    consumer.on(GROUP_JOIN, () => {
      if (this.consumer !== consumer) return;
      this.joinedAt = Date.now();
      this.failure = null;
      fetched();
    });
    consumer.on(FETCH, fetched);
    consumer.on(CRASH, ({ payload }) => {
      if (this.consumer === consumer) this.restart('crash', payload.error.message);
    });
    this.consumer = consumer;
    this.joinedAt = null;
    this.lastFetchAt = Date.now();
    try {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      // Resolves once the consumer joined, or crashed trying (the CRASH handler takes it from there).
      await consumer.run({
        autoCommit: true,
        eachMessage: async ({ topic, partition, message }) => this.deliver(topic, partition, message),
      });
    } catch (error) {
      if (this.consumer === consumer) this.restart('crash', (error as Error).message);
      return;
    }
    if (this.consumer === consumer && this.joinedAt !== null) {
      this.logger.info({ topics }, 'tap: mirroring topics');
    }
  }

  private deliver(topic: string, partition: number, message: ConsumedMessage): void {
    const key = partitionKey(topic, partition);
    const offset = BigInt(message.offset);
    const last = this.published.get(key);
    if (last !== undefined && offset <= last) return;
    this.published.set(key, offset);
    this.onMessage(topic, partition, message);
  }

  private checkStuck(): void {
    if (this.stopped || this.consumer === null || this.joinedAt === null) return;
    const idleMs = Date.now() - this.lastFetchAt;
    if (idleMs > this.stuckAfterMs) this.restart('stuck', `no fetch completed for ${idleMs} ms`);
  }

  /** Replaces a failed or stalled consumer after a delay that grows while failures repeat. */
  private restart(reason: TapRestartReason, why: string): void {
    if (this.stopped) return;
    const consumer = this.consumer;
    if (this.joinedAt !== null && Date.now() - this.joinedAt > HEALTHY_RUN_MS) this.backoff.reset();
    this.consumer = null;
    this.joinedAt = null;
    // Forget the subscription so the next refresh starts a consumer even if the topics are the same.
    this.subscribed = null;
    void this.disconnect(consumer);
    this.options.onRestart?.(reason);
    this.scheduleRestart(reason, why);
  }

  private scheduleRestart(reason?: TapRestartReason, why?: string): void {
    if (this.stopped || this.restartTimer !== null) return;
    const delayMs = this.backoff.next();
    if (reason !== undefined) {
      this.failure = `restarting in ${delayMs} ms after: ${why}`;
      this.logger.warn(
        { reason, err: why, delayMs, attempt: this.backoff.attempts },
        'tap: restarting the consumer',
      );
    }
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.refresh();
    }, delayMs);
    this.restartTimer.unref();
  }

  private async dropConsumer(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    this.joinedAt = null;
    await this.disconnect(consumer);
  }

  /** Leaves the group (committing what was published) unless that takes too long. */
  private async disconnect(consumer: Consumer | null): Promise<void> {
    if (consumer === null) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      consumer.disconnect().catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, DISCONNECT_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Resolves once the consumer has joined its group and been assigned partitions (tests wait on it). */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.refreshing;
    while (Date.now() < deadline) {
      const consumer = this.consumer;
      if (consumer !== null) {
        const description = await consumer.describeGroup().catch(() => null);
        if (description?.state === 'Stable') return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      await this.refreshing;
    }
    throw new Error('the tap consumer did not join its group in time');
  }

  /** Stops reading and deletes the group: the next process uses a group of its own. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.settlePositioned();
    if (this.timer) clearInterval(this.timer);
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.refreshing;
    await this.dropConsumer();
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([this.groupId]);
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'tap: could not delete the consumer group');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
