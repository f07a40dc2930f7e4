import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Logger } from '../observability/logger';
import type { TapFrom } from './tap-from';
import type { ConsumedMessage } from './consumed-message';

/** `topic\0partition`: a key that no topic name can collide with. */
export const partitionKey = (topic: string, partition: number): string => `${topic}\0${partition}`;

/**
 * Per partition, the offset the replay stopped before: the high watermark when it started. Every
 * record from there on reaches the client live.
 */
export type ReplayEnds = ReadonlyMap<string, bigint>;

export interface ReplayRequest {
  topics: readonly string[];
  from: TapFrom;
  maxRecordsPerPartition: number;
  /** Awaited before the next record: a client that reads slowly slows its replay down. */
  onRecord(topic: string, partition: number, message: ConsumedMessage): Promise<void> | void;
  /** The client went away: stop early. */
  signal: AbortSignal;
}

/** A replay that has not reached its end in this long gives up: the broker is not answering. */
const REPLAY_TIMEOUT_MS = 60_000;

/**
 * Reads a client's history with a short-lived consumer group of its own: the group's offsets are
 * set to where the history starts before it joins (kafkajs has no way to assign partitions
 * without a group), it reads up to the high watermarks taken after the client was registered for
 * live records, and the group is deleted afterwards so that replays leave nothing behind.
 */
export async function replayHistory(
  kafka: Kafka,
  groupIdPrefix: string,
  logger: Logger,
  request: ReplayRequest,
): Promise<ReplayEnds> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${groupIdPrefix}replay-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  let consumer: Consumer | null = null;
  try {
    const { ends, starts, pending } = await positions(admin, request);
    if (pending.size === 0 || request.signal.aborted) return ends;
    for (const [topic, partitions] of starts) await admin.setOffsets({ groupId, topic, partitions });
    consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      retry: { retries: 3, restartOnFailure: async () => false },
    });
    await readUntil(consumer, request, ends, pending);
    return ends;
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    if (consumer !== null) {
      await admin.deleteGroups([groupId]).catch((error: Error) => {
        logger.debug({ err: error.message, groupId }, 'tap: could not delete a replay group');
      });
    }
    await admin.disconnect().catch(() => undefined);
  }
}

async function positions(
  admin: Admin,
  request: ReplayRequest,
): Promise<{
  ends: Map<string, bigint>;
  starts: Map<string, { partition: number; offset: string }[]>;
  pending: Set<string>;
}> {
  const ends = new Map<string, bigint>();
  const starts = new Map<string, { partition: number; offset: string }[]>();
  const pending = new Set<string>();
  for (const topic of request.topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    const byTime =
      'timestamp' in request.from
        ? new Map(
            (await admin.fetchTopicOffsetsByTimestamp(topic, request.from.timestamp)).map((p) => [
              p.partition,
              BigInt(p.offset),
            ]),
          )
        : null;
    const partitions: { partition: number; offset: string }[] = [];
    for (const { partition, high, low } of offsets) {
      const end = BigInt(high);
      const bounded = end - BigInt(request.maxRecordsPerPartition);
      let start = byTime?.get(partition) ?? BigInt(low);
      if (start < BigInt(low)) start = BigInt(low);
      if (start < bounded) start = bounded;
      if (start > end) start = end;
      ends.set(partitionKey(topic, partition), end);
      partitions.push({ partition, offset: start.toString() });
      if (start < end) pending.add(partitionKey(topic, partition));
    }
    starts.set(topic, partitions);
  }
  return { ends, starts, pending };
}

function readUntil(
  consumer: Consumer,
  request: ReplayRequest,
  ends: ReadonlyMap<string, bigint>,
  pending: Set<string>,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    };
    const onAbort = () => finish();
    const timer = setTimeout(
      () => finish(new Error(`the history was not read within ${REPLAY_TIMEOUT_MS / 1000} s`)),
      REPLAY_TIMEOUT_MS,
    );
    request.signal.addEventListener('abort', onAbort);
    /** A partition is done once the replay has passed the offset before its end. */
    const reached = (topic: string, partition: number, offset: bigint) => {
      const key = partitionKey(topic, partition);
      if (pending.has(key) && offset >= ends.get(key)! - 1n) {
        pending.delete(key);
        if (pending.size === 0) finish();
      }
    };
    // Batches of control records or compacted-away tails end a partition without a record to show.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      reached(payload.topic, payload.partition, BigInt(payload.lastOffset));
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => finish(payload.error));
    consumer
      .connect()
      .then(() => consumer.subscribe({ topics: [...request.topics], fromBeginning: true }))
      .then(() =>
        consumer.run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            if (settled) return;
            const offset = BigInt(message.offset);
            const end = ends.get(partitionKey(topic, partition));
            // Past the end the client has (or will have) the record live.
            if (end === undefined || offset >= end) return;
            await request.onRecord(topic, partition, message);
            reached(topic, partition, offset);
          },
        }),
      )
      .catch((error: Error) => finish(error));
  });
}
