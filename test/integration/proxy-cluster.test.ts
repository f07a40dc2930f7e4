/**
 * The gateway in front of a three-node cluster of its own (cluster 'gwcluster', brokers on
 * 9292-9294, node ids 1-3), for what only replication shows: a partition leader going away while
 * a client produces through the gateway, and the client finding the new leader through the
 * metadata the gateway rewrites. Gateway ports: bootstrap 23200, broker N on 23200 + N.
 */
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { LEVEL, startTestGateway, type TestGateway } from './support/gateway-harness';
import {
  eventually,
  kafkaClient,
  kcat,
  readMessages,
  startCluster,
  startNode,
  stopCluster,
  stopNode,
  uniqueTopic,
  type Cluster,
} from './support/kafka-harness';

const NAME = 'gwcluster';
const PORT = 9292;
const GATEWAY_PORT = 23200;

let cluster: Cluster;
let gateway: TestGateway;
let viaGateway: Kafka;
let admin: Admin;

beforeAll(async () => {
  cluster = await startCluster({ name: NAME, brokers: 3, port: PORT });
  gateway = await startTestGateway({
    bootstrapServers: cluster.bootstrap,
    bootstrapPort: GATEWAY_PORT,
    logLevel: 'info',
  });
  viaGateway = kafkaClient(gateway.bootstrap, 'proxy-cluster');
  admin = viaGateway.admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await admin?.disconnect();
  await gateway?.stop();
  await stopCluster(NAME);
}, 120_000);

interface PartitionState {
  leader: number;
  isr: number[];
}

async function partition0(topic: string): Promise<PartitionState> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const [p] = topics[0].partitions;
  return { leader: p.leader, isr: [...p.isr].sort((a, b) => a - b) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test('kcat -L through the gateway lists the three brokers at gateway addresses only', async () => {
  const { stdout } = await kcat(['-b', gateway.bootstrap, '-L', '-J', '-m', '10']);
  const metadata = JSON.parse(stdout) as { brokers: { id: number; name: string }[] };
  const brokers = [...metadata.brokers].sort((a, b) => a.id - b.id);
  expect(brokers).toEqual([1, 2, 3].map((id) => ({ id, name: `127.0.0.1:${GATEWAY_PORT + id}` })));
  for (const address of cluster.brokerAddresses) expect(stdout).not.toContain(address);
}, 30_000);

test('a producer keeps going through the gateway when the partition leader stops; every acknowledged record is stored exactly once', async () => {
  const topic = uniqueTopic('gw-failover');
  const created = await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: 1,
        replicationFactor: 3,
        configEntries: [{ name: 'min.insync.replicas', value: '2' }],
      },
    ],
    waitForLeaders: true,
  });
  expect(created).toBe(true);
  const before = await eventually(async () => {
    const state = await partition0(topic);
    return state.isr.length === 3 ? state : undefined;
  }, 60_000);

  const TOTAL = 2000;
  const BATCH = 20;
  const BATCHES = TOTAL / BATCH;
  // Generous retries: the leader's shutdown and the client's metadata refresh take seconds.
  const client = new Kafka({
    clientId: 'proxy-cluster-failover',
    brokers: [gateway.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();

  const acknowledged: string[] = [];
  const failed: { batch: number; error: string }[] = [];
  let stopped: Promise<void> | undefined;
  let stoppedAtBatch = -1;
  let stopDone = false;
  try {
    for (let batch = 0; batch < BATCHES; batch++) {
      if (batch === BATCHES / 2) {
        // Halfway: stop the leader's node while sends continue.
        stoppedAtBatch = batch;
        stopped = stopNode(NAME, before.leader).then(() => {
          stopDone = true;
        });
      }
      // From three quarters on, every send happens with the old leader certainly gone.
      if (batch === (BATCHES * 3) / 4) await stopped;
      const messages = Array.from({ length: BATCH }, (_, j) => ({
        key: `k-${j % 4}`,
        value: `r-${batch * BATCH + j}`,
      }));
      try {
        await producer.send({ topic, acks: -1, messages });
        acknowledged.push(...messages.map((m) => m.value));
      } catch (error) {
        failed.push({ batch, error: (error as Error).message });
      }
      // While the node shuts down, slow down so that sends span the whole leader change.
      if (stopped !== undefined && !stopDone) await sleep(100);
    }
    await stopped;
  } finally {
    await producer.disconnect();
  }
  expect(stoppedAtBatch).toBe(BATCHES / 2);

  // Leadership moved to one of the other nodes, and the client followed it through the gateway.
  // The admin client's connection to the stopped node was closed under it: its first request after
  // that may fail like any Kafka client's, and is retried the way an application would.
  const during = await eventually(() => partition0(topic), 30_000);
  expect(during.leader).not.toBe(before.leader);
  expect([1, 2, 3]).toContain(during.leader);
  expect(failed).toEqual([]);
  expect(acknowledged).toHaveLength(TOTAL);

  await startNode(NAME, before.leader);
  await eventually(async () => ((await partition0(topic)).isr.length === 3 ? true : undefined), 60_000);

  // Read back through the gateway: every acknowledged record, none twice (idempotence across the failover).
  const offsets = await eventually(() => admin.fetchTopicOffsets(topic), 30_000);
  const stored = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  const received = await readMessages(viaGateway, topic, stored, 60_000);
  const values = received.map((m) => m.value?.toString() ?? '');
  const duplicates = values.filter((v, i) => values.indexOf(v) !== i);
  expect(duplicates).toEqual([]);
  expect(stored).toBe(TOTAL);
  expect([...values].sort()).toEqual([...acknowledged].sort());
  // Per key (one partition), the order of acknowledgement is the order in the log.
  expect(values).toEqual(acknowledged);

  expect(gateway.logs.find((l) => l.level >= LEVEL.error)).toBeUndefined();
}, 150_000);
