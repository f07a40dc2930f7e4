import type { Batch, Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../observability/logger';
import type { DeadLetters } from './dead-letters';
import type { DeliveredRecord } from './delivery-format';
import { CommitTracker, runKeyOrdered } from './key-ordered-runner';
import { deliverRecord, type DeliveryObserver, type DeliveryTarget } from './record-delivery';

export interface DeliveryRunOptions {
  kafka: Kafka;
  groupId: string;
  subscription: string;
  /** The topics to read now: the subscription's entries resolved against the cluster's topics. */
  resolveTopics: () => Promise<string[]>;
  /** A replay ends here: per `topic:partition`, the first offset it does not deliver. Null: live delivery. */
  endOffsets: ReadonlyMap<string, bigint> | null;
  matches: (record: DeliveredRecord) => boolean;
  target: DeliveryTarget;
  concurrency: number;
  deadLetters: DeadLetters;
  observer: DeliveryObserver;
  sessionTimeoutMs: number;
  /** How often the cluster's topics are listed again (regex entries, topics created later). */
  topicRefreshMs: number;
  logger: Logger;
  /** Records not yet delivered in the partitions this instance holds. */
  onLag?: (lag: number) => void;
}

const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 10_000;
/** How often batches in delivery send heartbeats and check that their partition is still theirs. */
const BATCH_WATCH_MS = 1_000;
/** Delivered records are committed at least this often while a batch is still being delivered. */
const COMMIT_EVERY_MS = 1_000;

function keyOf(record: DeliveredRecord): string | null {
  return record.key === null ? null : record.key.toString('latin1');
}

/**
 * One consumer group member delivering a subscription's records (live, or one replay) on this
 * instance. Kafka's group protocol spreads the partitions over every instance running the same
 * group and moves them when one dies. An offset is committed only once every record before it is
 * done (delivered, or in the dead-letter topic), so whatever an instance had not finished when it
 * stopped or died is delivered again by the next owner: at least once, never lost.
 */
export class DeliveryRun {
  private consumer: Consumer | null = null;
  private topics: string[] = [];
  private refreshTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private restartDelay = RESTART_MIN_MS;
  private changing: Promise<void> = Promise.resolve();
  private readonly lag = new Map<string, bigint>();
  private failure: string | null = null;
  private stopped = false;
  private readonly batches = new Set<{
    abort: AbortController;
    gone: () => boolean;
    heartbeat: () => Promise<void>;
  }>();
  private watcher: NodeJS.Timeout | null = null;

  constructor(private readonly options: DeliveryRunOptions) {}

  start(): void {
    this.refresh();
    this.refreshTimer = setInterval(() => {
      if (this.restartTimer === null) this.refresh();
    }, this.options.topicRefreshMs);
    this.refreshTimer.unref();
  }

  /** Stops delivering: in-flight attempts are abandoned (and so delivered again later), then the group is left. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const batch of this.batches) batch.abort.abort();
    if (this.watcher !== null) clearInterval(this.watcher);
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    await this.changing;
    await this.disconnect();
    this.options.onLag?.(0);
  }

  /** 'running' with the topics read, or why not. */
  health(): { running: boolean; detail: string } {
    if (this.stopped) return { running: false, detail: 'stopped' };
    if (this.failure !== null) return { running: false, detail: this.failure };
    if (this.consumer === null) return { running: true, detail: 'waiting for a topic to read' };
    return { running: true, detail: `reading ${this.topics.join(', ')}` };
  }

  private refresh(): void {
    this.changing = this.changing.then(async () => {
      if (this.stopped) return;
      let topics: string[];
      try {
        topics = [...new Set(await this.options.resolveTopics())].sort();
      } catch (error) {
        this.fail(`cannot list the topics: ${(error as Error).message}`);
        return;
      }
      if (this.consumer !== null && topics.join('\n') === this.topics.join('\n')) return;
      await this.disconnect();
      this.topics = topics;
      if (topics.length === 0 || this.stopped) return;
      await this.connect(topics);
    });
  }

  private async connect(topics: string[]): Promise<void> {
    const { options } = this;
    const consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.min(3_000, Math.floor(options.sessionTimeoutMs / 5))),
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 250,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (event) => {
      const { error, restart } = event.payload as { error: Error; restart: boolean };
      if (restart || this.stopped || this.consumer !== consumer) return;
      this.fail(`the consumer stopped: ${error.message}`);
    });
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      // Partitions given to another instance are its lag now, not ours.
      const assigned = new Set<string>();
      const assignment = (event.payload as { memberAssignment: Record<string, number[]> }).memberAssignment;
      for (const [topic, partitions] of Object.entries(assignment))
        for (const partition of partitions) assigned.add(`${topic}:${partition}`);
      for (const key of this.lag.keys()) if (!assigned.has(key)) this.lag.delete(key);
      this.reportLag();
    });
    try {
      await consumer.connect();
      // Topics without a committed offset in the group are read from their beginning: a live
      // group was positioned at the end of the topics it had when it was created, so these are
      // topics that appeared since, and everything in them came after the subscription.
      await consumer.subscribe({ topics, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Math.max(1, Math.min(options.concurrency, 16)),
        eachBatch: (payload) => this.deliverBatch(consumer, payload),
      });
      this.failure = null;
      this.restartDelay = RESTART_MIN_MS;
    } catch (error) {
      this.fail(`cannot start the consumer: ${(error as Error).message}`);
    }
  }

  private fail(reason: string): void {
    if (this.stopped) return;
    this.failure = reason;
    this.options.logger.warn(
      { subscription: this.options.subscription, group: this.options.groupId, reason },
      'subscription: delivery stopped; restarting',
    );
    if (this.restartTimer !== null) return;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(this.restartDelay * 2, RESTART_MAX_MS);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.changing = this.changing.then(() => this.disconnect());
      this.refresh();
    }, delay);
    this.restartTimer.unref();
  }

  private async disconnect(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    if (consumer !== null) await consumer.disconnect().catch(() => undefined);
  }

  private watchBatches(): void {
    if (this.watcher !== null) return;
    this.watcher = setInterval(() => {
      for (const batch of this.batches) {
        if (batch.gone()) batch.abort.abort();
        else batch.heartbeat().catch(() => undefined);
      }
    }, BATCH_WATCH_MS);
    this.watcher.unref();
  }

  private reportLag(): void {
    let total = 0n;
    for (const lag of this.lag.values()) total += lag;
    this.options.onLag?.(Number(total));
  }

  private async deliverBatch(
    consumer: Consumer,
    payload: {
      batch: Batch;
      heartbeat(): Promise<void>;
      resolveOffset(offset: string): void;
      isRunning(): boolean;
      isStale(): boolean;
    },
  ): Promise<void> {
    const { batch, heartbeat, resolveOffset, isRunning, isStale } = payload;
    const { options } = this;
    const { topic, partition } = batch;
    const partitionKey = `${topic}:${partition}`;
    const end = options.endOffsets?.get(partitionKey);
    const records: DeliveredRecord[] = batch.messages.map((message) => ({
      topic,
      partition,
      offset: message.offset,
      timestamp: message.timestamp,
      key: message.key,
      value: message.value,
      headers: message.headers,
    }));
    if (records.length === 0) return;
    // Aborted when delivery stops or the partition is taken away: attempts in flight end, and
    // their records stay uncommitted for whoever reads the partition next.
    const batchAbort = new AbortController();
    const gone = () => this.stopped || batchAbort.signal.aborted || !isRunning() || isStale();
    // One timer for the run looks after every batch in delivery (heartbeats, and aborting those
    // whose partition went elsewhere): a timer per batch costs as much as the delivery at low rates.
    const watch = { abort: batchAbort, gone, heartbeat };
    this.batches.add(watch);
    this.watchBatches();
    const done: boolean[] = records.map(() => false);
    const tracker = new CommitTracker(records.map((record) => record.offset));
    let committed: string | null = null;
    let lastCommitAt = Date.now();
    const commit = async (force: boolean) => {
      const next = tracker.next();
      if (next === null || next === committed || gone()) return;
      if (!force && Date.now() - lastCommitAt < COMMIT_EVERY_MS) return;
      lastCommitAt = Date.now();
      committed = next;
      // The fetcher moves on only past resolved offsets: what is not done here is read again.
      resolveOffset((BigInt(next) - 1n).toString());
      await consumer.commitOffsets([{ topic, partition, offset: next }]).catch((error: Error) => {
        options.logger.debug(
          { subscription: options.subscription, err: error.message },
          'subscription: commit failed',
        );
      });
      this.lag.set(partitionKey, BigInt(batch.highWatermark) - BigInt(next));
      this.reportLag();
    };
    try {
      await runKeyOrdered(
        records.map((record, index) => ({ record, index })),
        (item) => keyOf(item.record),
        options.concurrency,
        async ({ record, index }) => {
          if ((end !== undefined && BigInt(record.offset) >= end) || !options.matches(record)) {
            done[index] = true;
            return;
          }
          const outcome = await deliverRecord(
            record,
            options.target,
            options.deadLetters,
            options.observer,
            batchAbort.signal,
          );
          done[index] = outcome === 'done';
        },
        (index) => {
          if (!done[index]) return;
          tracker.settle(index);
          void commit(false);
        },
        gone,
      );
      await commit(true);
      if (end !== undefined && tracker.next() !== null && BigInt(tracker.next()!) >= end) {
        // This partition's part of the replay is over; the others may still be running.
        consumer.pause([{ topic, partitions: [partition] }]);
      }
    } finally {
      this.batches.delete(watch);
    }
  }
}
