import type { Kafka } from 'kafkajs';
import { createLogger } from '../../../src/observability/logger';
import { Pipeline } from '../../../src/pipeline/pipeline';
import { Publisher, type PublishResult } from '../../../src/ingest/publisher';

/** A cluster that takes connections and metadata requests but never acknowledges a write. */
function stalledCluster(sends: { release: () => void }[]): Kafka {
  const producer = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    sendBatch: () =>
      new Promise((_resolve, reject) => sends.push({ release: () => reject(new Error('gone')) })),
  };
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    fetchTopicMetadata: async () => ({
      topics: [{ name: 't', partitions: [{ partitionId: 0, leader: 1, replicas: [1], isr: [1] }] }],
    }),
  };
  return { producer: () => producer, admin: () => admin } as unknown as Kafka;
}

const context = {
  door: 'http' as const,
  clientId: 'k',
  clientAddress: '127.0.0.1',
  acks: -1,
  transactionalId: null,
  apiVersion: -1,
};

test('while Kafka does not acknowledge, records beyond maxUnacknowledgedBytes are answered 503 at once', async () => {
  const sends: { release: () => void }[] = [];
  const publisher = new Publisher({
    kafka: stalledCluster(sends),
    settings: {
      lingerMs: 0,
      maxBatchRecords: 1,
      compression: 'none',
      requestTimeoutMs: 60_000,
      retries: 0,
      maxUnacknowledgedBytes: 2048,
    },
    pipeline: () => new Pipeline([]),
    tracing: null,
    counted: () => undefined,
    logger: createLogger('silent'),
  });
  publisher.start();
  await new Promise((resolve) => setImmediate(resolve));
  const record = { topic: 't', key: null, value: Buffer.alloc(1000), headers: [] };
  const waiting = [publisher.publish([record], context), publisher.publish([record], context)];
  const [refused] = await publisher.publish([record], context);
  expect(refused).toMatchObject({ status: 'failed', error: { status: 503, kafkaError: 'BUFFER_FULL' } });

  // Once kafkajs lets go of the stalled writes, there is room again. A partition has one write
  // in flight, so the second is sent once the first is over.
  let settled = false;
  const all = Promise.all(waiting).finally(() => (settled = true));
  while (!settled) {
    for (const send of sends.splice(0)) send.release();
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const answered: PublishResult[][] = await all;
  expect(answered.map(([result]) => result.status)).toEqual(['failed', 'failed']);
  const next = publisher.publish([record], context);
  await new Promise((resolve) => setImmediate(resolve));
  expect(sends).toHaveLength(1);
  sends[0].release();
  expect((await next)[0].status).toBe('failed');
  await publisher.stop();
});
