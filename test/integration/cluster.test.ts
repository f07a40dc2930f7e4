/**
 * A three-node cluster, separate from the single broker the other integration tests use (ports
 * 9192-9194), for behaviour that only exists with replication: ISR, acks=-1, leader failover.
 */
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import {
  eventually,
  kafkaClient,
  kafkaTool,
  readMessages,
  startCluster,
  startNode,
  stopCluster,
  stopNode,
  uniqueTopic,
  type Cluster,
} from './support/kafka-harness';

const NAME = 'cluster3';
const PORT = 9192;
const PARTITIONS = 3;

let cluster: Cluster;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

interface PartitionShape {
  partitionId: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

async function partitions(topic: string): Promise<PartitionShape[]> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0].partitions
    .map(({ partitionId, leader, replicas, isr }) => ({ partitionId, leader, replicas, isr }))
    .sort((a, b) => a.partitionId - b.partitionId);
}

/** Waits until every partition of `topic` has exactly `isrSize` in-sync replicas. */
function isrOfSize(topic: string, isrSize: number): Promise<PartitionShape[]> {
  return eventually(async () => {
    const shape = await partitions(topic);
    return shape.length === PARTITIONS && shape.every((p) => p.isr.length === isrSize) ? shape : undefined;
  }, 60_000);
}

async function createReplicatedTopic(topic: string): Promise<void> {
  await kafkaTool(
    [
      'topics',
      '--bootstrap-server',
      cluster.bootstrap,
      '--create',
      '--topic',
      topic,
      '--partitions',
      String(PARTITIONS),
      '--replication-factor',
      '3',
    ],
    { cluster: NAME },
  );
}

beforeAll(async () => {
  cluster = await startCluster({ name: NAME, brokers: 3, port: PORT });
  kafka = kafkaClient(cluster.brokerAddresses, 'cluster-test');
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
  await producer.connect();
}, 180_000);

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await stopCluster(NAME);
}, 120_000);

test('a topic created with the Java tool has three replicas, all in sync', async () => {
  const topic = uniqueTopic('cluster-rf3');
  await createReplicatedTopic(topic);

  const shape = await isrOfSize(topic, 3);
  for (const p of shape) {
    expect([...p.replicas].sort((a, b) => a - b)).toEqual([1, 2, 3]);
    expect([...p.isr].sort((a, b) => a - b)).toEqual([1, 2, 3]);
  }
  // Leadership is spread over the nodes, as the gateway's routing tests will assume.
  expect(new Set(shape.map((p) => p.leader)).size).toBe(3);
}, 60_000);

test('records produced with acks=-1 are read back in order per key', async () => {
  const topic = uniqueTopic('cluster-acks-all');
  await createReplicatedTopic(topic);
  await isrOfSize(topic, 3);

  const sent = Array.from({ length: 30 }, (_, i) => ({ key: `key-${i % 3}`, value: `value-${i}` }));
  const results = await producer.send({ topic, acks: -1, messages: sent });
  expect(results.every((r) => r.errorCode === 0)).toBe(true);

  const received = await readMessages(kafka, topic, sent.length);
  const byKey = (msgs: { key: string; value: string }[], key: string) =>
    msgs.filter((m) => m.key === key).map((m) => m.value);
  const got = received.map((m) => ({ key: m.key?.toString() ?? '', value: m.value?.toString() ?? '' }));
  for (const key of ['key-0', 'key-1', 'key-2']) {
    expect(byKey(got, key)).toEqual(byKey(sent, key));
  }
}, 60_000);

test('a stopped node leaves the ISR, acks=-1 still succeeds, and it rejoins after a restart', async () => {
  const topic = uniqueTopic('cluster-failover');
  await createReplicatedTopic(topic);
  await isrOfSize(topic, 3);

  await stopNode(NAME, 3);
  try {
    const shrunk = await isrOfSize(topic, 2);
    expect(shrunk.every((p) => !p.isr.includes(3) && p.leader !== 3)).toBe(true);

    const sent = Array.from({ length: 10 }, (_, i) => ({ value: `during-outage-${i}` }));
    await producer.send({ topic, acks: -1, messages: sent });
    const received = await readMessages(kafka, topic, sent.length);
    expect(received.map((m) => m.value?.toString()).sort()).toEqual(sent.map((m) => m.value).sort());
  } finally {
    await startNode(NAME, 3);
  }

  const healed = await isrOfSize(topic, 3);
  expect(healed.every((p) => p.isr.includes(3))).toBe(true);
}, 150_000);
