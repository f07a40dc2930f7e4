/**
 * One subscription delivered by two gateway processes sharing a state topic: Kafka's group
 * protocol splits the partitions between them. One is killed with SIGKILL mid-stream (no
 * goodbye, no last commit); the other takes its partitions over once the session times out and
 * delivers what the dead one had not committed. Every record arrives at least once; duplicates
 * are counted and reported; per key, records first arrive in order.
 *
 * Records come in batches of every codec Kafka has; each process decodes them with what it
 * registered itself. The target's secret is sealed with subscriptions.secretsKey: the state topic never holds it.
 *
 * Gateway ports: 25500/25510 and 25520/25530 (bootstrap/HTTP).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BOOTSTRAP, eventually, kafkaClient, REPO_ROOT, uniqueTopic } from './support/kafka-harness';
import * as kafkajs from 'kafkajs';
import { HttpTarget } from './support/http-target';
import { KAFKAJS_COMPRESSION, registerKafkaJsCodecs } from './support/kafkajs-codecs';
import { createTopics, metricSample, readPartition } from './support/validating-gateway';

jest.setTimeout(180_000);

const HOST = '127.0.0.1';
const ADMIN = 'failover-admin-token-0123456789';
const STATE_TOPIC = uniqueTopic('eg-state-failover');
const TOPIC = uniqueTopic('failover-events');
const DLQ = uniqueTopic('failover-dlq');
const SECRETS_KEY = randomBytes(32).toString('base64');
const PASSWORD = `pw-${randomBytes(8).toString('hex')}`;
const RECORDS = 3_000;
const KEYS = 32;

interface Instance {
  name: string;
  httpPort: number;
  child: ChildProcess;
  output: string;
  exited: boolean;
}

const instances: Instance[] = [];
const sink = new HttpTarget();

function startInstance(name: string, port: number): Instance {
  const dir = mkdtempSync(path.join(tmpdir(), `eg-failover-${name}-`));
  const config = path.join(dir, 'gateway.json');
  writeFileSync(
    config,
    JSON.stringify({
      kafka: { bootstrapServers: [BOOTSTRAP] },
      listeners: { bindHost: HOST, bootstrapPort: port, brokerPortBase: port },
      http: { host: HOST, port: port + 10, adminToken: ADMIN },
      state: { topic: STATE_TOPIC },
      subscriptions: { allowedTargets: ['127.0.0.1'], sessionTimeoutMs: 6_000, secretsKey: SECRETS_KEY },
      logging: { level: 'warn' },
    }),
  );
  // tsx as a loader, not its launcher: SIGKILL must reach the gateway process itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', config], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const instance: Instance = { name, httpPort: port + 10, child, output: '', exited: false };
  child.stdout!.on('data', (chunk: Buffer) => (instance.output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (instance.output += chunk.toString()));
  child.on('exit', () => (instance.exited = true));
  instances.push(instance);
  return instance;
}

async function call(instance: Instance, method: string, route: string, body?: unknown) {
  const response = await fetch(`http://${HOST}:${instance.httpPort}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

async function ready(instance: Instance): Promise<void> {
  await eventually(async () => {
    if (instance.exited) throw new Error(`${instance.name} exited:\n${instance.output}`);
    const answer = await call(instance, 'GET', '/readyz').catch(() => ({ status: 0, text: '' }));
    return answer.status === 200 ? true : undefined;
  }, 90_000);
}

async function delivered(instance: Instance): Promise<number> {
  const metrics = await call(instance, 'GET', '/metrics');
  return metricSample(metrics.text, 'event_gateway_subscription_deliveries_total', {
    subscription: 'failover',
    outcome: 'delivered',
  });
}

beforeAll(async () => {
  await createTopics([TOPIC], 4);
  await createTopics([DLQ], 1);
  await sink.start();
  const a = startInstance('a', 25500);
  const b = startInstance('b', 25520);
  await Promise.all([ready(a), ready(b)]);
}, 150_000);

afterAll(async () => {
  for (const instance of instances) if (!instance.exited) instance.child.kill('SIGTERM');
  await Promise.all(
    instances.filter((i) => !i.exited).map((i) => new Promise((resolve) => i.child.once('exit', resolve))),
  );
  await sink.stop();
});

test('two instances share the deliveries; one killed with SIGKILL loses nothing', async () => {
  const [a, b] = instances;
  const seen: number[] = [];
  sink.behaviour = (request) => {
    const { n } = JSON.parse(request.body.toString()) as { n: number };
    seen.push(n);
    const ok =
      request.headers.authorization === `Basic ${Buffer.from(`gateway:${PASSWORD}`).toString('base64')}`;
    return { status: ok ? 200 : 401, delayMs: 8 };
  };
  const put = await call(a, 'PUT', '/subscriptions/failover', {
    type: 'async',
    events: { topics: [TOPIC] },
    target: { url: sink.url('/failover'), auth: { basic: { username: 'gateway', password: PASSWORD } } },
    concurrency: 8,
    deadLetterTopic: DLQ,
  });
  expect(put.status).toBe(201);
  expect(put.text).not.toContain(PASSWORD);

  // Both instances in the group before anything is produced, so both get partitions.
  const admin = kafkaClient(BOOTSTRAP).admin();
  await admin.connect();
  try {
    const { group } = JSON.parse((await call(a, 'GET', '/subscriptions/failover/status')).text) as {
      group: string;
    };
    await eventually(async () => {
      const [description] = (await admin.describeGroups([group])).groups;
      return description.state === 'Stable' && description.members.length === 2 ? true : undefined;
    }, 60_000);
  } finally {
    await admin.disconnect();
  }

  // Every codec, in this process's kafkajs: the gateways are processes of their own, so each
  // decodes these batches with the codecs it registered itself.
  registerKafkaJsCodecs(kafkajs, 64 * 1024 * 1024);
  const codecs = ['lz4', 'zstd', 'snappy', 'gzip', 'none', 'lz4'] as const;
  const producer = kafkaClient(BOOTSTRAP).producer();
  await producer.connect();
  for (let start = 0; start < RECORDS; start += 500) {
    await producer.send({
      topic: TOPIC,
      acks: -1,
      compression: KAFKAJS_COMPRESSION[codecs[start / 500]],
      messages: Array.from({ length: 500 }, (_, i) => {
        const n = start + i;
        return { key: `key-${n % KEYS}`, value: JSON.stringify({ n, key: n % KEYS }) };
      }),
    });
  }
  await producer.disconnect();

  await eventually(async () => (seen.length >= RECORDS / 4 ? true : undefined), 60_000, 20);
  const [fromA, fromB] = [await delivered(a), await delivered(b)];
  expect(fromA).toBeGreaterThan(0);
  expect(fromB).toBeGreaterThan(0);
  a.child.kill('SIGKILL');
  const killedAt = seen.length;

  await eventually(async () => (new Set(seen).size >= RECORDS ? true : undefined), 90_000, 100);
  const distinct = new Set(seen);
  const missing = Array.from({ length: RECORDS }, (_, n) => n).filter((n) => !distinct.has(n));
  expect(missing).toEqual([]);
  const duplicates = seen.length - distinct.size;
  console.log(
    `failover: ${RECORDS} records, ${seen.length} deliveries, ${duplicates} duplicates ` +
      `(delivered before the kill: a ${fromA}, b ${fromB}; ${killedAt} requests had arrived when a was killed)`,
  );
  // Per key, each record's first delivery comes after the first delivery of the one before it.
  const firstSeen = new Map<number, number>();
  seen.forEach((n, i) => {
    if (!firstSeen.has(n)) firstSeen.set(n, i);
  });
  for (let key = 0; key < KEYS; key++) {
    const order = Array.from({ length: RECORDS / KEYS }, (_, i) => firstSeen.get(i * KEYS + key)!);
    expect(order).toEqual([...order].sort((x, y) => x - y));
  }
  // The target's password never reached the state topic; what is there is sealed.
  const state = await readPartition(STATE_TOPIC, 0);
  const stored = state.records.map((r) => r.value?.toString() ?? '').join('\n');
  expect(stored).toContain('"sealed"');
  expect(stored).not.toContain(PASSWORD);
  const status = await call(b, 'GET', '/subscriptions/failover/status');
  expect(status.status).toBe(200);
  await eventually(async () => {
    const now = JSON.parse((await call(b, 'GET', '/subscriptions/failover/status')).text) as {
      totalLag: number;
    };
    return now.totalLag === 0 ? true : undefined;
  }, 30_000);
});
