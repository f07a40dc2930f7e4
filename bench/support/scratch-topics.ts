/**
 * Topics a benchmark writes into the shared development broker (the one scripts/with-kafka.sh
 * provides), deleted when the benchmark ends however it ends. One `make bench` writes several GB
 * there, and the broker's data outlives it in .kafka/run/default: without the deletion every run
 * added to what the runs before it had left, until the disk was full.
 */
import type { Admin, ITopicConfig } from 'kafkajs';
import { createTopicsWithLeaders } from '../../src/kafka/topic-creation';

type Log = (message: string) => void;

export class ScratchTopics {
  private readonly created = new Set<string>();

  constructor(
    private readonly admin: Admin,
    private readonly log: Log,
  ) {}

  /** Creates the topics and waits for their leaders, as the gateway does for its own topics. */
  async create(topics: ITopicConfig[]): Promise<void> {
    // Noted first: a creation that fails half-way may still have made some of them.
    for (const { topic } of topics) this.created.add(topic);
    await createTopicsWithLeaders(
      this.admin,
      topics.map((topic) => ({ replicationFactor: 1, ...topic })),
    );
  }

  /**
   * Deletes every topic created so far. It never throws: it runs on the way out, where a failure
   * must not hide the benchmark's own outcome, so it says what it leaves behind instead.
   */
  async deleteAll(): Promise<void> {
    const topics = [...this.created];
    if (topics.length === 0) return;
    try {
      const existing = new Set(await this.admin.listTopics());
      const left = topics.filter((topic) => existing.has(topic));
      if (left.length > 0) await this.admin.deleteTopics({ topics: left, timeout: 30_000 });
      this.created.clear();
      this.log(`deleted the ${left.length} topics this run wrote`);
    } catch (error) {
      this.log(
        `could not delete the topics this run wrote (${(error as Error).message}): ${topics.join(' ')}`,
      );
    }
  }
}

/** Runs `body` with an admin client's ScratchTopics, and deletes what it created when done. */
export async function withScratchTopics<T>(
  admin: Admin,
  log: Log,
  body: (topics: ScratchTopics) => Promise<T>,
): Promise<T> {
  await admin.connect();
  const topics = new ScratchTopics(admin, log);
  try {
    return await body(topics);
  } finally {
    await topics.deleteAll();
    await admin.disconnect();
  }
}
