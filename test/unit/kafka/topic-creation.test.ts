import type { Admin } from 'kafkajs';
import { createTopicsWithLeaders, whileTopicUnknown } from '../../../src/kafka/topic-creation';

/** An admin whose metadata answers are played in order (an Error is thrown), the last repeating. */
function scriptedAdmin(answers: (Error | { leaders: number[] })[]) {
  const created: unknown[] = [];
  let asked = 0;
  const admin = {
    createTopics: async (request: unknown) => {
      created.push(request);
      return true;
    },
    fetchTopicMetadata: async () => {
      const answer = answers[Math.min(asked++, answers.length - 1)];
      if (answer instanceof Error) throw answer;
      return {
        topics: [
          { name: 'orders', partitions: answer.leaders.map((leader, i) => ({ partitionId: i, leader })) },
        ],
      };
    },
  };
  return { admin: admin as unknown as Admin, created, asked: () => asked };
}

describe('createTopicsWithLeaders', () => {
  it('asks again while the topic is unknown or a partition has no leader, and leaves the wait to itself', async () => {
    const { admin, created, asked } = scriptedAdmin([
      new Error('This server does not host this topic-partition'),
      { leaders: [1] },
      { leaders: [1, -1] },
      { leaders: [1, 2] },
    ]);
    await createTopicsWithLeaders(admin, [{ topic: 'orders', numPartitions: 2 }]);
    expect(asked()).toBe(4);
    expect(created).toEqual([{ topics: [{ topic: 'orders', numPartitions: 2 }], waitForLeaders: false }]);
  });

  it('gives up after the timeout, saying what it last saw', async () => {
    const { admin } = scriptedAdmin([{ leaders: [-1] }]);
    await expect(
      createTopicsWithLeaders(admin, [{ topic: 'orders', numPartitions: 1 }], 300),
    ).rejects.toThrow(/no leaders after 300 ms: no leader yet for orders/);
  });
});

describe('whileTopicUnknown', () => {
  const unknown = () =>
    Object.assign(new Error('This server does not host this topic-partition'), {
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
    });

  it('asks again while the broker reached does not know the topic yet', async () => {
    let asked = 0;
    const answer = await whileTopicUnknown(async () => {
      asked += 1;
      if (asked < 3) throw unknown();
      return 'known';
    });
    expect(answer).toBe('known');
    expect(asked).toBe(3);
  });

  it.each(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE'])(
    "asks again while the broker reached is behind on the new topic's leaders (%s)",
    async (type) => {
      let asked = 0;
      const answer = await whileTopicUnknown(async () => {
        asked += 1;
        if (asked < 3) throw Object.assign(new Error('not the leader'), { type });
        return 'led';
      });
      expect(answer).toBe('led');
      expect(asked).toBe(3);
    },
  );

  it('throws any other error at once', async () => {
    let asked = 0;
    const refused = Object.assign(new Error('not authorized'), { type: 'TOPIC_AUTHORIZATION_FAILED' });
    await expect(
      whileTopicUnknown(async () => {
        asked += 1;
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(asked).toBe(1);
  });

  it('throws the unknown topic once the time is up', async () => {
    await expect(
      whileTopicUnknown(async () => {
        throw unknown();
      }, 200),
    ).rejects.toThrow(/does not host/);
  });
});
