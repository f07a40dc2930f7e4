/**
 * The state topic on a three-broker cluster: replicated three times with min.insync.replicas=2, it
 * stays readable and writable with one broker down, and with two down a change is refused with 503
 * rather than acknowledged and lost.
 */
import { Kafka, logLevel } from 'kafkajs';
import {
  startCluster,
  startNode,
  stopCluster,
  stopNode,
  uniqueTopic,
  type Cluster,
} from './support/kafka-harness';
import { demoSpec, startValidatingGateway, type ValidatingGateway } from './support/validating-gateway';

jest.setTimeout(180_000);

const NAME = 'statecl';
const PORT = 9892;
const HOST = '127.0.0.1';
const STATE_TOPIC = uniqueTopic('eg-state-cluster');

let cluster: Cluster;
const gateways: ValidatingGateway[] = [];

async function put(gateway: ValidatingGateway, id: string): Promise<number> {
  const response = await fetch(`http://${HOST}:${gateway.config.http.port}/specs/${id}`, {
    method: 'PUT',
    body: demoSpec('3.0', uniqueTopic(id)),
  });
  return response.status;
}

async function has(gateway: ValidatingGateway, id: string): Promise<boolean> {
  const response = await fetch(`http://${HOST}:${gateway.config.http.port}/specs/${id}`);
  return response.status === 200;
}

beforeAll(async () => {
  cluster = await startCluster({ name: NAME, brokers: 3, port: PORT });
  for (const [i, port] of [24700, 24720].entries()) {
    gateways.push(
      await startValidatingGateway({
        bootstrapPort: port,
        httpPort: port + 10,
        bootstrapServers: cluster.brokerAddresses,
        state: { topic: STATE_TOPIC, writeTimeoutMs: 8_000 },
        logLevel: i === 0 ? 'warn' : 'silent',
      }),
    );
  }
});

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await stopCluster(NAME);
});

test('the state topic is created compacted, replicated three times, min.insync.replicas=2', async () => {
  const admin = new Kafka({ brokers: cluster.brokerAddresses, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [STATE_TOPIC] });
    expect(metadata.topics[0].partitions).toHaveLength(1);
    expect(metadata.topics[0].partitions[0].replicas).toHaveLength(3);
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: STATE_TOPIC, configNames: ['cleanup.policy', 'min.insync.replicas'] }],
    });
    const value = (name: string) =>
      configs.resources[0].configEntries.find((e) => e.configName === name)?.configValue;
    expect(value('cleanup.policy')).toBe('compact');
    expect(value('min.insync.replicas')).toBe('2');
  } finally {
    await admin.disconnect();
  }
});

test('one broker down: still readable and writable; two down: 503 and nothing changes', async () => {
  const [a, b] = gateways;
  expect(await put(a, 'before')).toBe(201);
  await stopNode(NAME, 1);
  // The partition may have had its leader on node 1: the write waits out the election.
  expect(await put(b, 'one-down')).toBe(201);
  expect(await has(b, 'one-down')).toBe(true);
  for (;;) {
    if (await has(a, 'one-down')) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(await has(b, 'before')).toBe(true);

  await stopNode(NAME, 2);
  expect(await put(a, 'two-down')).toBe(503);
  expect(await has(a, 'two-down')).toBe(false);
  expect(await has(b, 'two-down')).toBe(false);

  await startNode(NAME, 1);
  await startNode(NAME, 2);
  // Kafka takes changes again, and the refused one never appeared.
  let status = 0;
  for (let i = 0; i < 30 && status !== 201; i++) {
    status = await put(b, 'after');
    if (status !== 201) await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  expect(status).toBe(201);
  expect(await has(a, 'two-down')).toBe(false);
});
