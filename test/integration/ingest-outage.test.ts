/**
 * Storage first, under a broker outage: HTTP publishers keep posting while the only broker is
 * stopped for about 10 s and started again. A 200 is a promise that the record is stored, so
 * every record answered 200 must be in the topic afterwards, exactly once (the idempotent
 * producer's retries must not duplicate it); everything else must be a 503 with Retry-After (or
 * a connection that failed), never a 500 or a hang. Records answered 503 may or may not be there
 * (a write can land after the gateway gave up waiting for it): unacknowledged means at least once.
 *
 * A single-broker cluster of its own (port 9992), so stopping it disturbs no other test. Gateway
 * ports: bootstrap 25300, HTTP 25390.
 */
import {
  createTopic,
  kafkaClient,
  startCluster,
  startNode,
  stopCluster,
  stopNode,
  uniqueTopic,
  type Cluster,
} from './support/kafka-harness';
import { readPartition, startValidatingGateway, type ValidatingGateway } from './support/validating-gateway';

jest.setTimeout(120_000);

const NAME = 'ingest-outage';
const PORT = 9992;
const BOOTSTRAP_PORT = 25300;
const HTTP_PORT = 25390;
const TOPIC = uniqueTopic('ingest-outage');
const PARTITIONS = 3;
const PUBLISHERS = 4;
/** Per publisher; with the pacing below the run ends well before it is spent. */
const MAX_REQUESTS = 750;
/** Each publisher sends at most one request per this many ms: about 160 requests a second in all. */
const PACE_MS = 25;
const OUTAGE_MS = 10_000;
const REQUEST_TIMEOUT_MS = 3_000;
/** No answer may take longer than this: the gateway's own deadline plus room for a metadata lookup. */
const CLIENT_TIMEOUT_MS = 20_000;

let cluster: Cluster;
let gateway: ValidatingGateway;
let clusterId: string;

type Outcome =
  | { kind: 'status'; status: number; retryAfter: string | null; body: string }
  | { kind: 'connection'; error: string }
  | { kind: 'timeout' };

interface Sent {
  id: string;
  sentAt: number;
  tookMs: number;
  outcome: Outcome;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function post(id: string): Promise<Outcome> {
  try {
    const response = await fetch(
      `http://127.0.0.1:${HTTP_PORT}/v3/clusters/${clusterId}/topics/${TOPIC}/records`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: { type: 'STRING', data: id }, value: { data: { id } } }),
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      },
    );
    const body = await response.text();
    return { kind: 'status', status: response.status, retryAfter: response.headers.get('retry-after'), body };
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return { kind: 'timeout' };
    return { kind: 'connection', error: String((error as Error).cause ?? error) };
  }
}

beforeAll(async () => {
  cluster = await startCluster({ name: NAME, brokers: 1, port: PORT });
  const admin = kafkaClient(cluster.bootstrap, 'ingest-outage-admin').admin();
  await admin.connect();
  await createTopic(admin, TOPIC, PARTITIONS);
  clusterId = (await admin.describeCluster()).clusterId;
  await admin.disconnect();
  gateway = await startValidatingGateway({
    bootstrapPort: BOOTSTRAP_PORT,
    httpPort: HTTP_PORT,
    bootstrapServers: cluster.brokerAddresses,
    ingest: { requireApiKeys: false, producer: { requestTimeoutMs: REQUEST_TIMEOUT_MS } },
    logLevel: 'silent',
  });
  // The producer connects in the background; publishing starts once it answers.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const outcome = await post('warm-up');
    if (outcome.kind === 'status' && outcome.status === 200) break;
    if (Date.now() > deadline) throw new Error(`the gateway does not publish: ${JSON.stringify(outcome)}`);
    await sleep(200);
  }
}, 180_000);

afterAll(async () => {
  await gateway?.stop();
  if (cluster) await stopCluster(NAME);
}, 120_000);

test('every record answered 200 survives a broker outage exactly once; the rest are 503s', async () => {
  const sent: Sent[] = [];
  let stopping = false;
  const publisher = async (worker: number) => {
    for (let n = 0; n < MAX_REQUESTS && !stopping; n++) {
      const id = `w${worker}-${n}`;
      const sentAt = Date.now();
      const outcome = await post(id);
      const tookMs = Date.now() - sentAt;
      sent.push({ id, sentAt, tookMs, outcome });
      if (tookMs < PACE_MS) await sleep(PACE_MS - tookMs);
    }
  };
  const started = Date.now();
  const publishers = Promise.all(Array.from({ length: PUBLISHERS }, (_, i) => publisher(i)));

  await sleep(2_000);
  const stopAt = Date.now();
  await stopNode(NAME, 1);
  const stoppedAt = Date.now();
  await sleep(OUTAGE_MS);
  const restartAt = Date.now();
  await startNode(NAME, 1);
  const restartedAt = Date.now();
  // Recovered: every publisher has had a record acknowledged that it sent after the node was back.
  const deadline = Date.now() + 30_000;
  const recovered = () =>
    sent.filter((s) => s.sentAt >= restartedAt && s.outcome.kind === 'status' && s.outcome.status === 200)
      .length >=
    PUBLISHERS * 5;
  while (!recovered() && Date.now() < deadline) await sleep(100);
  await sleep(1_000);
  stopping = true;
  await publishers;
  const endedAt = Date.now();

  const statusOf = (s: Sent) => (s.outcome.kind === 'status' ? String(s.outcome.status) : s.outcome.kind);
  const tally: Record<string, number> = {};
  for (const s of sent) tally[statusOf(s)] = (tally[statusOf(s)] ?? 0) + 1;
  const acked = sent.filter((s) => statusOf(s) === '200');
  const unavailable = sent.filter((s) => statusOf(s) === '503');
  const slowest = Math.max(...sent.map((s) => s.tookMs));

  // What the broker holds once it is back, read from it directly.
  const partitions = await Promise.all(
    Array.from({ length: PARTITIONS }, (_, p) => readPartition(TOPIC, p, false, cluster.brokerAddresses[0])),
  );
  const stored = partitions.reduce((sum, p) => sum + Number(p.highWatermark), 0);
  const messages = partitions.flatMap((p) => p.records);
  const copies = new Map<string, number>();
  for (const message of messages) {
    const { id } = JSON.parse(message.value!.toString('utf8')) as { id: string };
    copies.set(id, (copies.get(id) ?? 0) + 1);
  }
  const ackedMissing = acked.filter((s) => !copies.has(s.id)).map((s) => s.id);
  const ackedDuplicated = acked.filter((s) => (copies.get(s.id) ?? 0) > 1).map((s) => s.id);
  const unavailableFound = unavailable.filter((s) => copies.has(s.id));
  const unavailableDuplicated = unavailable.filter((s) => (copies.get(s.id) ?? 0) > 1).length;

  console.log(
    `ingest outage: ${sent.length} requests from ${PUBLISHERS} publishers over ${endedAt - started} ms ` +
      `(node stop took ${stoppedAt - stopAt} ms, down ${restartAt - stoppedAt} ms, start took ` +
      `${restartedAt - restartAt} ms): ${JSON.stringify(tally)}; ${acked.length} acknowledged, ` +
      `${unavailable.length} answered 503, of which ${unavailableFound.length} were stored anyway ` +
      `(${unavailableDuplicated} more than once); ${messages.length} records in the topic; ` +
      `slowest answer ${slowest} ms`,
  );

  // Every answer is a 200, a 503 that says when to come back, or a connection that failed.
  const unexpected = sent.filter((s) => !['200', '503', 'connection'].includes(statusOf(s)));
  expect(unexpected.slice(0, 5)).toEqual([]);
  const without = unavailable.filter(
    (s) => s.outcome.kind === 'status' && !(Number(s.outcome.retryAfter) >= 1),
  );
  expect(without.slice(0, 5)).toEqual([]);
  // The outage bit, and the door came back after it.
  expect(unavailable.length).toBeGreaterThan(0);
  expect(recovered()).toBe(true);
  // Storage first: acknowledged means stored, once.
  expect(ackedMissing).toEqual([]);
  expect(ackedDuplicated).toEqual([]);
  expect(messages.length).toBe(stored);
  // Nothing is in the topic that nobody sent.
  const sentIds = new Set(sent.map((s) => s.id));
  expect([...copies.keys()].filter((id) => id !== 'warm-up' && !sentIds.has(id))).toEqual([]);
});
