/**
 * The gateway as two workers (`workers: 2`): the real command line, spawned as a child process,
 * against the shared broker. Producers (kafkajs and kcat, each with a client id of its own, each
 * on connections of its own) are added until both workers have tagged invalid records, which
 * every worker logs with its slot; every verdict must be right whichever worker gave it, for a
 * spec uploaded over HTTP to whichever worker took the upload. One /metrics answer counts the
 * records of both; one discovery answer holds the samples of both. A tap client connected to one worker sees every record. A worker killed with
 * SIGKILL is restarted and the gateway serves meanwhile; SIGTERM to the primary stops everything
 * with exit code 0.
 *
 * Gateway ports: 27320 (bootstrap), 27321 (broker 1), 27330 (HTTP); 27340 and 27350 for a gateway
 * that cannot start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { BOOTSTRAP, eventually, kcat, REPO_ROOT, uniqueTopic } from './support/kafka-harness';
import { createTopics, demoSpec, httpCall, readPartition, verdictOf } from './support/validating-gateway';
import { Metrics } from './support/prometheus';
import { TapClient } from './support/ws-client';

jest.setTimeout(240_000);

const HOST = '127.0.0.1';
const PORT = 27320;
const HTTP_PORT = 27330;
const GATEWAY = `${HOST}:${PORT}`;
const HTTP = `http://${HOST}:${HTTP_PORT}`;
const ADMIN = 'workers-admin-token-0123456789';
const TOPIC = uniqueTopic('workers-lights');
const STATE_TOPIC = uniqueTopic('eg-state-workers');
/** No contract describes it: discovery samples it. */
const UNDESCRIBED = uniqueTopic('workers-undescribed');
/** Producers added at most before both workers must have served one. */
const MAX_PRODUCERS = 40;

interface LogLine {
  msg?: string;
  worker?: number;
  role?: string;
  pid?: number;
  clientId?: string;
  topic?: string;
  code?: number | null;
  signal?: string | null;
}

let child: ChildProcess;
let output = '';
let exitCode: number | null | undefined;
let onExit: (code: number | null) => void = () => undefined;
const exited = new Promise<number | null>((resolve) => (onExit = resolve));

function logLines(): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** The pid of each worker slot as the primary last reported it started. */
function workerPids(): Map<number, number> {
  const pids = new Map<number, number>();
  for (const line of logLines())
    if (line.role === 'primary' && line.msg === 'worker started') pids.set(line.worker!, line.pid!);
  return pids;
}

const light = (fields: Record<string, unknown>) => JSON.stringify(fields);
const VALID = light({ lumens: 100, sentAt: '2024-05-01T10:00:00Z' });
const INVALID = light({ lumens: true });

/** Keys say who produced a record and whether it is meant to be valid. */
const keyOf = (producer: string, valid: boolean) => `${producer}:${valid ? 'valid' : 'invalid'}`;

async function produceWithKafkajs(clientId: string): Promise<void> {
  const kafka = new Kafka({ brokers: [GATEWAY], clientId, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ retry: { retries: 8, initialRetryTime: 200 } });
  await producer.connect();
  try {
    await producer.send({
      topic: TOPIC,
      messages: [
        { key: keyOf(clientId, true), value: VALID },
        { key: keyOf(clientId, false), value: INVALID },
      ],
    });
  } finally {
    await producer.disconnect();
  }
}

async function produceWithKcat(clientId: string): Promise<void> {
  const input = `${keyOf(clientId, true)}\t${VALID}\n${keyOf(clientId, false)}\t${INVALID}\n`;
  const result = await kcat(
    ['-b', GATEWAY, '-t', TOPIC, '-P', '-K', '\t', '-X', `client.id=${clientId}`],
    input,
  );
  if (result.code !== 0) throw new Error(`kcat failed: ${result.stderr}`);
}

/** The worker slots that logged a tagged invalid record of `clientId`. */
function taggedBy(clientId: string): number[] {
  return logLines()
    .filter(
      (l) => l.msg === 'invalid record forwarded with a validation error header' && l.clientId === clientId,
    )
    .map((l) => l.worker!);
}

/** Every record of the topic, read from the broker itself. */
async function storedRecords() {
  const parts = await Promise.all([0, 1, 2].map((p) => readPartition(TOPIC, p)));
  return parts.flatMap((part) => part.records);
}

async function metrics(): Promise<Metrics> {
  const answer = await httpCall(HTTP, 'GET', '/metrics');
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}: ${answer.text}`);
  return Metrics.parse(answer.text);
}

async function ready(): Promise<void> {
  await eventually(async () => {
    if (exitCode !== undefined) throw new Error(`the gateway exited (${exitCode}):\n${output}`);
    const answer = await httpCall(HTTP, 'GET', '/readyz').catch(() => null);
    return answer?.status === 200 ? true : undefined;
  }, 120_000);
}

beforeAll(async () => {
  await createTopics([TOPIC], 3);
  await createTopics([UNDESCRIBED], 1);
  const dir = mkdtempSync(path.join(tmpdir(), 'eg-workers-'));
  const config = path.join(dir, 'gateway.json');
  writeFileSync(
    config,
    JSON.stringify({
      kafka: { bootstrapServers: [BOOTSTRAP] },
      listeners: { bindHost: HOST, bootstrapPort: PORT, brokerPortBase: PORT },
      http: { host: HOST, port: HTTP_PORT, adminToken: ADMIN },
      state: { topic: STATE_TOPIC },
      tap: { topics: [TOPIC], topicRefreshMs: 1_000 },
      discovery: { enabled: true },
      workers: 2,
      logging: { level: 'info' },
    }),
  );
  // tsx as a loader, not its launcher: signals must reach the primary itself.
  child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', config], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.on('exit', (code) => {
    exitCode = code;
    onExit(code);
  });
  await ready();
  await eventually(async () => (workerPids().size === 2 ? true : undefined), 60_000);
}, 180_000);

afterAll(async () => {
  if (exitCode === undefined) {
    child.kill('SIGTERM');
    await exited;
  }
});

const producers: string[] = [];

test('both workers serve producers, and every verdict is right for a spec uploaded over HTTP', async () => {
  const put = await httpCall(HTTP, 'PUT', '/specs/lights', { body: demoSpec('3.0', TOPIC), token: ADMIN });
  expect(put.status).toBe(201);
  // Every worker follows the state topic; the one that did not take the upload applies it moments later.
  await new Promise((resolve) => setTimeout(resolve, 2_000));

  const tap = await TapClient.connect(`${HOST}:${HTTP_PORT}`, { token: ADMIN, topic: TOPIC });
  try {
    // Round robin alternates connections over the workers, and every client opens a bootstrap
    // connection before its broker connection: producers run two at a time so that their
    // connections interleave, until both workers have served some.
    for (let i = 0; i < MAX_PRODUCERS; i += 2) {
      const batch = [`kafkajs-${i}`, `kcat-${i + 1}`];
      producers.push(...batch);
      await Promise.all([produceWithKafkajs(batch[0]), produceWithKcat(batch[1])]);
      const slots = new Set(producers.flatMap(taggedBy));
      if (slots.size === 2 && producers.length >= 6) break;
    }
    await eventually(async () => (producers.every((p) => taggedBy(p).length > 0) ? true : undefined));
    const slots = new Set(producers.flatMap(taggedBy));
    expect([...slots].sort()).toEqual([1, 2]);

    // Every record carries the verdict its contract gives it, whichever worker judged it.
    const expected = producers.length * 2;
    const records = await eventually(async () => {
      const all = await storedRecords();
      return all.length >= expected ? all : undefined;
    });
    expect(records).toHaveLength(expected);
    for (const record of records) {
      const key = record.key!.toString();
      const verdict = verdictOf(record);
      if (key.endsWith(':valid')) expect(verdict).toBeNull();
      else expect(verdict?.errors).toEqual(['lumens: Invalid type. Expected: integer, given: boolean']);
    }

    // One /metrics answer counts the records of both workers.
    const merged = await metrics();
    expect(merged.get('event_gateway_records_total', { topic: TOPIC, outcome: 'valid', door: 'kafka' })).toBe(
      producers.length,
    );
    expect(
      merged.get('event_gateway_records_total', { topic: TOPIC, outcome: 'invalid_tagged', door: 'kafka' }),
    ).toBe(producers.length);
    const accepted = [1, 2].map(
      (slot) => merged.get('event_gateway_worker_connections_total', { worker: String(slot) }) ?? 0,
    );
    expect(accepted[0]).toBeGreaterThan(0);
    expect(accepted[1]).toBeGreaterThan(0);
    // The specs every worker holds count once, not once per worker.
    expect(merged.get('event_gateway_specs_loaded')).toBe(1);
    console.log(
      `${producers.length} producers; connections accepted by worker 1: ${accepted[0]}, worker 2: ${accepted[1]}`,
    );

    // The tap client, on one worker, saw the records both workers forwarded.
    await eventually(async () => (tap.received.length >= expected ? true : undefined));
    const tapped = new Set(tap.received.map((r) => r.record.key));
    for (const producer of producers) {
      expect(tapped).toContain(keyOf(producer, true));
      expect(tapped).toContain(keyOf(producer, false));
    }
  } finally {
    tap.socket.close();
  }
});

test("discovery answers with every worker's samples", async () => {
  // One produce request per producer carries an invalid record of the described topic, whose
  // tagging the serving worker logs, and a record of the undescribed one, which that same worker
  // samples: the logs say which workers hold samples.
  const sampled: string[] = [];
  const produceBoth = async (clientId: string, n: number) => {
    const kafka = new Kafka({ brokers: [GATEWAY], clientId, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ retry: { retries: 8, initialRetryTime: 200 } });
    await producer.connect();
    try {
      await producer.sendBatch({
        topicMessages: [
          { topic: TOPIC, messages: [{ key: keyOf(clientId, false), value: INVALID }] },
          { topic: UNDESCRIBED, messages: [{ value: JSON.stringify({ n, by: clientId }) }] },
        ],
      });
    } finally {
      await producer.disconnect();
    }
  };
  for (let i = 0; i < MAX_PRODUCERS; i += 2) {
    const batch = [`sampled-${i}`, `sampled-${i + 1}`];
    sampled.push(...batch);
    await Promise.all(batch.map((clientId, j) => produceBoth(clientId, i + j)));
    await eventually(async () => (batch.every((p) => taggedBy(p).length > 0) ? true : undefined));
    if (new Set(sampled.flatMap(taggedBy)).size === 2 && sampled.length >= 4) break;
  }
  expect(new Set(sampled.flatMap(taggedBy))).toEqual(new Set([1, 2]));

  const listed = await httpCall(HTTP, 'GET', '/discovery/topics', { token: ADMIN });
  expect(listed.status).toBe(200);
  const topic = listed
    .json<{ topics: { topic: string; seen: number; sampled: number }[] }>()
    .topics.find((t) => t.topic === UNDESCRIBED);
  expect(topic).toMatchObject({ seen: sampled.length, sampled: sampled.length });
  const draft = await httpCall(HTTP, 'GET', `/discovery/topics/${UNDESCRIBED}/asyncapi`, { token: ADMIN });
  expect(draft.status).toBe(200);
  expect(draft.text).toContain('"by"');
});

test('a worker killed with SIGKILL is restarted, and the gateway serves meanwhile', async () => {
  const before = workerPids();
  const victim = before.get(1)!;
  process.kill(victim, 'SIGKILL');
  // Connections handed to the victim before the primary saw it die are dropped, as any client
  // connection is when a process dies; from then on the other worker takes them all.
  await eventually(async () =>
    logLines().some((l) => l.msg === 'worker exited; restarting it' && l.pid === victim) ? true : undefined,
  );
  await produceWithKafkajs('after-kill');
  await eventually(async () => (taggedBy('after-kill').length > 0 ? true : undefined));
  expect(taggedBy('after-kill')).toEqual([2]);
  await eventually(async () => {
    const pid = workerPids().get(1);
    return pid !== undefined && pid !== victim ? true : undefined;
  }, 60_000);
  const exit = logLines().find((l) => l.msg === 'worker exited; restarting it' && l.pid === victim);
  expect(exit).toMatchObject({ worker: 1, signal: 'SIGKILL' });
  expect(() => process.kill(victim, 0)).toThrow();
  await ready();

  // The restarted worker read the uploaded spec back from the state topic: producers it serves
  // get the same verdicts. Enough of them that some land on it.
  const replacement = workerPids().get(1)!;
  const afterRestart: string[] = [];
  for (let i = 0; i < MAX_PRODUCERS; i += 2) {
    const batch = [`restarted-kafkajs-${i}`, `restarted-kcat-${i + 1}`];
    afterRestart.push(...batch);
    await Promise.all([produceWithKafkajs(batch[0]), produceWithKcat(batch[1])]);
    if (afterRestart.some((p) => taggedBy(p).includes(1))) break;
  }
  expect(afterRestart.some((p) => taggedBy(p).includes(1))).toBe(true);
  expect(
    logLines().some(
      (l) => l.role === 'primary' && l.msg === 'worker started' && l.worker === 1 && l.pid === replacement,
    ),
  ).toBe(true);
  // Merged metrics keep answering with both workers in.
  const merged = await metrics();
  expect(merged.get('event_gateway_worker_connections_total', { worker: '1' })).toBeGreaterThan(0);
  expect(merged.get('event_gateway_worker_connections_total', { worker: '2' })).toBeGreaterThan(0);
});

test('SIGTERM to the primary stops every worker and exits 0', async () => {
  const pids = [...workerPids().values()];
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  const stopped = logLines().filter((l) => l.role === 'primary' && l.msg === 'worker stopped');
  expect(stopped.map((l) => l.worker).sort()).toEqual([1, 2]);
  expect(stopped.every((l) => l.code === 0)).toBe(true);
  expect(logLines().filter((l) => l.msg === 'stopped' && l.worker !== undefined)).toHaveLength(2);
});

test('a worker that cannot start stops the whole gateway with exit code 1, as a single process would', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'eg-workers-broken-'));
  const config = path.join(dir, 'gateway.json');
  writeFileSync(
    config,
    JSON.stringify({
      kafka: { bootstrapServers: [BOOTSTRAP] },
      listeners: { bindHost: HOST, bootstrapPort: PORT + 20, brokerPortBase: PORT + 20 },
      http: { host: HOST, port: HTTP_PORT + 20, adminToken: ADMIN },
      asyncapi: { specs: [path.join(dir, 'missing.yaml')] },
      workers: 2,
      logging: { level: 'info' },
    }),
  );
  const broken = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--config', config], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  broken.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  broken.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => broken.once('exit', resolve));
  expect(code).toBe(1);
  expect(text).toContain('asyncapi.specs: cannot read');
  expect(text).toContain('a worker failed to start; stopping the gateway');
  expect(text).not.toContain('worker exited; restarting it');
}, 120_000);
