/**
 * The only broker stops for about 16 s while 3,000 records are produced around the outage: every
 * record still reaches a WebSocket client of the tap. The tap's consumer stops fetching while the
 * broker is gone: its health says so, it is restarted once it fetched nothing for
 * tap.stuckAfterMs (counted in event_gateway_tap_restarts_total), and it continues from the
 * offsets it committed instead of jumping to the latest ones.
 *
 * A single-broker cluster of its own (port 9792), so stopping it disturbs no other test. Gateway
 * ports: bootstrap 31400, HTTP 31490.
 */
import type { Producer } from 'kafkajs';
import {
  kafkaClient,
  startCluster,
  startNode,
  stopCluster,
  stopNode,
  uniqueTopic,
  type Cluster,
} from './support/kafka-harness';
import { Metrics } from './support/prometheus';
import { sleep, startTapGateway, type TapGateway } from './support/tap-gateway';
import type { TapClient } from './support/ws-client';

jest.setTimeout(170_000);

const NAME = 'tap-outage';
const PORT = 9792;
const BOOTSTRAP_PORT = 31400;
const RECORDS = 3_000;
const BATCH = 50;
const OUTAGE_MS = 16_000;
const TOPIC = uniqueTopic('tap-outage');

let cluster: Cluster;
let gateway: TapGateway;
let producer: Producer;

beforeAll(async () => {
  cluster = await startCluster({ name: NAME, brokers: 1, port: PORT });
  const admin = kafkaClient(cluster.bootstrap, 'tap-outage-admin').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
  gateway = await startTapGateway({
    bootstrapPort: BOOTSTRAP_PORT,
    bootstrapServers: cluster.bootstrap,
    tap: { topics: [TOPIC], topicRefreshMs: 1_000, stuckAfterMs: 5_000 },
  });
  producer = kafkaClient(cluster.bootstrap, 'tap-outage-producer').producer({
    // Long enough to wait out the outage: a send blocks until the broker is back.
    retry: { retries: 60, initialRetryTime: 300, maxRetryTime: 1_000 },
  });
  await producer.connect();
}, 170_000);

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  await gateway?.stop();
  if (cluster) await stopCluster(NAME);
}, 60_000);

async function restarts(): Promise<number> {
  const metrics = Metrics.parse(await gateway.running.metrics.registry.metrics());
  return metrics.all('event_gateway_tap_restarts_total').reduce((sum, s) => sum + s.value, 0);
}

it('delivers every record produced around a broker outage', async () => {
  await gateway.running.tap!.ready();
  const client: TapClient = await gateway.connect({ topic: TOPIC });
  const restartsBefore = await restarts();
  let produced = 0;
  const produce = (async () => {
    while (produced < RECORDS) {
      const keys = Array.from({ length: BATCH }, (_, i) => `r-${produced + i}`);
      // The client gives up on a broker that stays away; the batch is sent again until it lands
      // (a batch may land twice, which is why the check counts distinct keys).
      for (;;) {
        try {
          await producer.send({ topic: TOPIC, messages: keys.map((key) => ({ key, value: '{}' })) });
          break;
        } catch {
          await sleep(500);
        }
      }
      produced += BATCH;
      await sleep(100);
    }
  })();
  await sleep(3_000);
  const stoppedAt = Date.now();
  await stopNode(NAME, 1);
  const healthDuringOutage: { running: boolean; detail: string }[] = [];
  while (Date.now() - stoppedAt < OUTAGE_MS) {
    healthDuringOutage.push(gateway.running.tap!.health());
    await sleep(1_000);
  }
  await startNode(NAME, 1);
  const outageMs = Date.now() - stoppedAt;
  await produce;
  const distinct = new Set<string>();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    for (const { record } of client.records()) distinct.add(record.key!);
    if (distinct.size >= RECORDS) break;
    await sleep(250);
  }
  console.log(
    `tap across a ${(outageMs / 1000).toFixed(1)} s broker outage: ${distinct.size} of ${RECORDS} records delivered ` +
      `(${client.received.length} frames), ${(await restarts()) - restartsBefore} consumer restart(s)`,
  );
  expect(distinct.size).toBe(RECORDS);
  expect(await restarts()).toBeGreaterThan(restartsBefore);
  expect(healthDuringOutage.some((h) => !h.running)).toBe(true);
  expect(gateway.running.tap!.health().running).toBe(true);
  expect(
    gateway.logs.lines.some(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('tap: restarting the consumer'),
    ),
  ).toBe(true);
});
