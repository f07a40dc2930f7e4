import type { Admin, ITopicConfig } from 'kafkajs';

/**
 * Creates topics and waits until every partition has a leader. kafkajs's own wait
 * (`waitForLeaders`) asks the broker it happens to reach, and on a freshly started cluster that
 * broker may not know the topic yet: kafkajs then fails with "This server does not host this
 * topic-partition" instead of asking again. Here the creation is not waited on; metadata is asked
 * for until the leaders are there, an unknown topic counting as not yet, up to `timeoutMs`.
 */
export async function createTopicsWithLeaders(
  admin: Admin,
  topics: ITopicConfig[],
  timeoutMs = 30_000,
): Promise<void> {
  await admin.createTopics({ topics, waitForLeaders: false });
  const names = topics.map((topic) => topic.topic);
  const deadline = Date.now() + timeoutMs;
  let last: string;
  for (let delayMs = 50; ; delayMs = Math.min(delayMs * 2, 1000)) {
    try {
      const { topics: known } = await admin.fetchTopicMetadata({ topics: names });
      const waiting = topics.filter(({ topic, numPartitions }) => {
        const partitions = known.find((candidate) => candidate.name === topic)?.partitions ?? [];
        return partitions.length < (numPartitions ?? 1) || partitions.some((p) => p.leader < 0);
      });
      if (waiting.length === 0) return;
      last = `no leader yet for ${waiting.map((topic) => topic.topic).join(', ')}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() + delayMs > deadline)
      throw new Error(
        `topics ${names.join(', ')} were created but have no leaders after ${timeoutMs} ms: ${last}`,
      );
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

/**
 * What a broker answers about a new topic while its view of the topic is behind the cluster's
 * (kafkajs's names): it does not know the topic yet, knows no leader yet, or sends the request
 * to a broker that is not the leader (yet, or any more) for a partition.
 */
const TOPIC_NOT_SETTLED: ReadonlySet<unknown> = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
]);

/**
 * Runs a request about a topic that exists, asking again while the broker reached does not know
 * the topic or its leaders yet. Brokers learn of a new topic and of its leaders at different
 * moments, and kafkajs sends each request to whichever broker it picks: the one that confirmed the
 * topic a moment ago may not be the one asked next, and a request for offsets may reach a broker
 * that does not lead the partition yet. Other errors, and these past `timeoutMs`, are thrown.
 */
export async function whileTopicUnknown<T>(action: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delayMs = 50; ; delayMs = Math.min(delayMs * 2, 1000)) {
    try {
      return await action();
    } catch (error) {
      const unsettled = TOPIC_NOT_SETTLED.has((error as { type?: unknown }).type);
      if (!unsettled || Date.now() + delayMs > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}
