import type { Admin } from 'kafkajs';
import { createTopicsWithLeaders, whileTopicUnknown } from '../kafka/topic-creation';

export class StateTopicError extends Error {
  override readonly name = 'StateTopicError';
}

/** Compaction must leave a refused write's restatement time to land (see StateLedger). */
const MIN_COMPACTION_LAG_MS = String(24 * 60 * 60 * 1000);

/**
 * Creates the state topic when it is missing, and refuses one that would lose or reorder state:
 * anything but `cleanup.policy=compact` (deletion by age would drop documents nobody changed),
 * or more than one partition (instances would disagree on the order of changes).
 */
export async function ensureStateTopic(admin: Admin, topic: string): Promise<void> {
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) {
    const { brokers } = await admin.describeCluster();
    const replicationFactor = Math.min(3, brokers.length);
    try {
      await createTopicsWithLeaders(admin, [
        {
          topic,
          numPartitions: 1,
          replicationFactor,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            // With three replicas a write survives the loss of one broker and stays writable.
            { name: 'min.insync.replicas', value: replicationFactor >= 3 ? '2' : '1' },
            { name: 'min.compaction.lag.ms', value: MIN_COMPACTION_LAG_MS },
          ],
        },
      ]);
    } catch (error) {
      // Another instance starting at the same moment created it first.
      if (!/already exists/i.test((error as Error).message)) throw error;
    }
  }
  const metadata = await whileTopicUnknown(() => admin.fetchTopicMetadata({ topics: [topic] }));
  const partitions = metadata.topics[0]?.partitions.length ?? 0;
  if (partitions !== 1) {
    throw new StateTopicError(
      `state.topic: '${topic}' has ${partitions} partitions; the gateway's state needs exactly one, ` +
        'so that every instance applies changes in the same order (name a new topic in state.topic)',
    );
  }
  const described = await whileTopicUnknown(() =>
    admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['cleanup.policy'] }],
    }),
  );
  const policy = described.resources[0]?.configEntries.find(
    (e) => e.configName === 'cleanup.policy',
  )?.configValue;
  if (policy !== 'compact') {
    throw new StateTopicError(
      `state.topic: '${topic}' has cleanup.policy=${policy ?? '(unknown)'}; the gateway's state needs ` +
        'cleanup.policy=compact, or documents nobody changed would be deleted with age. Change it ' +
        `(kafka-configs --alter --entity-type topics --entity-name ${topic} --add-config cleanup.policy=compact) ` +
        'or name another topic in state.topic',
    );
  }
}
