import type { Admin, Kafka } from 'kafkajs';

/** How long one listing of the cluster's topics answers every caller. */
const TOPICS_SHARED_MS = 1_000;

export interface PartitionLag {
  topic: string;
  partition: number;
  /** The group's next offset to deliver; null when it has committed none. */
  committed: string | null;
  /** The partition's high watermark. */
  end: string;
  lag: number;
}

/**
 * The cluster-side bookkeeping of subscriptions: where a new consumer group starts, where a replay
 * ends, and how far behind a group is. Offsets are set before a group has members (Kafka refuses
 * otherwise), which is why a new live group or replay gets a group id of its own.
 */
export class GroupOffsets {
  private readonly admin: Admin;
  private connecting: Promise<void> | null = null;
  private listing: { at: number; names: Promise<string[]> } | null = null;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  private async ready(): Promise<Admin> {
    this.connecting ??= this.admin.connect().catch((error: unknown) => {
      this.connecting = null;
      throw error;
    });
    await this.connecting;
    return this.admin;
  }

  /**
   * Every topic of the cluster except the internal ones (names starting with `_`). Shared for a
   * moment: every subscription on an instance asks every topicRefreshMs, and one answer serves all.
   */
  topics(): Promise<string[]> {
    const now = Date.now();
    if (this.listing === null || now - this.listing.at > TOPICS_SHARED_MS) {
      const names = this.ready()
        .then((admin) => admin.listTopics())
        .then((topics) => topics.filter((topic) => !topic.startsWith('_')));
      this.listing = { at: now, names };
      // A failed listing is not shared: the next caller asks again.
      names.catch(() => {
        if (this.listing?.names === names) this.listing = null;
      });
    }
    return this.listing.names;
  }

  async exists(topic: string): Promise<boolean> {
    const admin = await this.ready();
    return (await admin.listTopics()).includes(topic);
  }

  /** Starts `groupId` at the current end of `topics`: it delivers what is produced from now on. */
  async positionAtEnd(groupId: string, topics: readonly string[]): Promise<void> {
    const admin = await this.ready();
    for (const topic of topics) {
      const offsets = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({
        groupId,
        topic,
        partitions: offsets.map(({ partition, high }) => ({ partition, offset: high })),
      });
    }
  }

  /**
   * Starts `groupId` at the first record of each partition timestamped at or after `fromMs`, and
   * returns where it ends: the first record after `toMs` (or the current end). Per `topic:partition`.
   */
  async positionForReplay(
    groupId: string,
    topics: readonly string[],
    fromMs: number,
    toMs: number | undefined,
  ): Promise<Record<string, string>> {
    const admin = await this.ready();
    const ends: Record<string, string> = {};
    for (const topic of topics) {
      // Partitions with nothing at or after the time get the high watermark: nothing to replay there.
      const starts = await admin.fetchTopicOffsetsByTimestamp(topic, fromMs);
      const stops =
        toMs === undefined
          ? (await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => ({ partition, offset: high }))
          : await admin.fetchTopicOffsetsByTimestamp(topic, toMs + 1);
      for (const { partition, offset } of stops) ends[`${topic}:${partition}`] = offset;
      await admin.setOffsets({ groupId, topic, partitions: starts });
    }
    return ends;
  }

  /** How far `groupId` is behind in each partition of `topics`. */
  async lag(groupId: string, topics: readonly string[]): Promise<PartitionLag[]> {
    const admin = await this.ready();
    if (topics.length === 0) return [];
    const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
    const lags: PartitionLag[] = [];
    for (const { topic, partitions } of committed) {
      const ends = await admin.fetchTopicOffsets(topic);
      for (const { partition, offset } of partitions) {
        const end = ends.find((entry) => entry.partition === partition)?.high ?? '0';
        const known = Number(offset) >= 0;
        lags.push({
          topic,
          partition,
          committed: known ? offset : null,
          end,
          lag: known ? Math.max(0, Number(BigInt(end) - BigInt(offset))) : Number(end),
        });
      }
    }
    return lags.sort((a, b) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
    );
  }

  /** Whether `groupId` has committed at least `ends` in every partition named there. */
  async reached(groupId: string, ends: Readonly<Record<string, string>>): Promise<boolean> {
    const topics = [...new Set(Object.keys(ends).map((key) => key.slice(0, key.lastIndexOf(':'))))];
    for (const lag of await this.lag(groupId, topics)) {
      const end = ends[`${lag.topic}:${lag.partition}`];
      if (end === undefined) continue;
      if (lag.committed === null || BigInt(lag.committed) < BigInt(end)) return false;
    }
    return true;
  }

  /** Best effort: a group that is gone or still has members stays as it is. */
  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    if (groupIds.length === 0) return;
    const admin = await this.ready();
    await admin.deleteGroups([...groupIds]).catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.connecting !== null) await this.admin.disconnect().catch(() => undefined);
  }
}
