/**
 * What delivering Kafka records to an HTTP endpoint through an async subscription gives and
 * costs, against a plain kafkajs consumer posting the same records to the same endpoint
 * (bench/support/bare-deliverer.ts), round after round in the same run. Each round, for each
 * deliverer (the order alternating between rounds):
 *
 * - throughput: BENCH_SUB_RECORDS records of ~1 KB over BENCH_SUB_KEYS keys (key i always in
 *   partition i mod BENCH_SUB_PARTITIONS) are produced while the deliverer is stopped (the
 *   subscription paused, the baseline's consumer disconnected); then it starts (the subscription
 *   resumed, a new baseline consumer) and the sink counts them. The rate is taken from the first
 *   arrival to the last, so joining the group is left out.
 * - latency: with the deliverer running and caught up, BENCH_SUB_RATE records/s for
 *   BENCH_SUB_SECONDS, one kafkajs send per record; end-to-end latency is the sink's arrival time
 *   minus the send time written into the value.
 *
 *   scripts/with-kafka.sh npx tsx bench/subscriptions.bench.ts     (or `make bench`, via bench/run.sh)
 *
 * Environment: KAFKA_BOOTSTRAP (127.0.0.1:9092), BENCH_ROUNDS (5), BENCH_SUB_RECORDS (20000),
 * BENCH_SUB_KEYS (16), BENCH_SUB_PARTITIONS (4), BENCH_SUB_CONCURRENCY (16), BENCH_SUB_RATE (500),
 * BENCH_SUB_SECONDS (10), BENCH_SUB_PORT (24260; the Kafka door, broker N on +N),
 * BENCH_SUB_HTTP_PORT (24296), BENCH_SKIP_BUILD=1 to reuse dist/, BENCH_GATEWAY_NODE_ARGS (extra
 * node flags for the gateway, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_BASELINE_NODE_ARGS
 * (the same for the baseline), BENCH_WARMUP_SECONDS (90; the untimed warm-up goes on until every
 * process below has been up this long).
 * Appends its tables to bench/results/subscriptions.md.
 *
 * Besides the broker: this process (producer, orchestration), the gateway (`node dist/cli.js`: a
 * launcher and the gateway as its child), the sink (bench/support/http-sink.ts, a plain node:http
 * server answering 200 at once) and the baseline. The CPU compared is each deliverer's own, from
 * /proc/PID/stat of its processes (for the gateway, launcher and gateway).
 * All of them share the machine's cores: compare runs on one host only.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Producer } from 'kafkajs';
import { kafkaClient, REPO_ROOT, run } from '../test/integration/support/kafka-harness';
import { metricSample } from '../test/integration/support/prometheus';
import type { ExpectMessage, SinkMessage, SinkStats } from './support/http-sink';
import { processTreeCpuSeconds, processTreePeakRssMiB } from './support/process-tree';
import { ScratchTopics } from './support/scratch-topics';
import { barChartSvg } from './support/svg-chart';
import { warmUp, type WarmUp } from './support/warm-up';

// kafkajs warns once per producer about its v2 partitioner; the bench sets every partition itself.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const BOOTSTRAP = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RECORDS = Number(process.env.BENCH_SUB_RECORDS ?? 20_000);
const KEYS = Number(process.env.BENCH_SUB_KEYS ?? 16);
const PARTITIONS = Number(process.env.BENCH_SUB_PARTITIONS ?? 4);
const CONCURRENCY = Number(process.env.BENCH_SUB_CONCURRENCY ?? 16);
const RATE = Number(process.env.BENCH_SUB_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SUB_SECONDS ?? 10);
const GATEWAY_PORT = Number(process.env.BENCH_SUB_PORT ?? 24260);
const HTTP_PORT = Number(process.env.BENCH_SUB_HTTP_PORT ?? 24296);
const GATEWAY_NODE_ARGS = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const BASELINE_NODE_ARGS = (process.env.BENCH_BASELINE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const HOST = '127.0.0.1';
const RESULTS = path.join(REPO_ROOT, 'bench', 'results', 'subscriptions.md');
const VALUE_SIZE = 1024;
const WARM_UP_RECORDS = Math.min(4_000, RECORDS);
/** The longest any one phase may take before the run is given up: bounded, whatever happens. */
const PHASE_TIMEOUT_MS = 180_000;
const SUBSCRIPTION = 'bench';

const log = (message: string) => process.stderr.write(`subscriptions.bench: ${message}\n`);
const wallClock = () => performance.timeOrigin + performance.now();
function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopChild(child: ChildProcess, ask: () => void): Promise<void> {
  const exited = exitOf(child);
  ask();
  try {
    await withTimeout(exited, 20_000, `process ${child.pid} stopping`);
  } catch {
    child.kill('SIGKILL');
    await exited;
  }
}

// ---------------------------------------------------------------------------------------------
// Records

const PAD = 'a light level reading from the roof-top sensor array, '.repeat(Math.ceil(VALUE_SIZE / 50));

/** A ~VALUE_SIZE byte JSON value the sink can read back: phase, key, seq and the send time. */
function message(phase: string, seq: number): { key: string; value: string; partition: number } {
  const keyIndex = seq % KEYS;
  const key = `key-${keyIndex}`;
  const head = `{"phase":"${phase}","key":"${key}","seq":${seq},"sentAt":${wallClock().toFixed(3)},"pad":"`;
  const value = `${head}${PAD.slice(0, Math.max(0, VALUE_SIZE - head.length - 2))}"}`;
  return { key, value, partition: keyIndex % PARTITIONS };
}

/** Everything produced before the deliverer starts, in order: batches of 1,000, acks=all. */
async function produceBacklog(producer: Producer, topic: string, phase: string, count: number) {
  for (let seq = 0; seq < count; seq += 1_000) {
    const messages = [];
    for (let i = seq; i < Math.min(count, seq + 1_000); i++) messages.push(message(phase, i));
    await producer.send({ topic, acks: -1, messages });
  }
}

/** `count` records at RATE per second, each its own send, stamped just before it is sent. */
async function producePaced(producer: Producer, topic: string, phase: string, count: number) {
  const sends: Promise<unknown>[] = [];
  const started = performance.now();
  let sent = 0;
  while (sent < count) {
    const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * RATE) + 1);
    for (; sent < due; sent++)
      sends.push(producer.send({ topic, acks: -1, messages: [message(phase, sent)] }));
    await sleep(1);
  }
  await Promise.all(sends);
  return (performance.now() - started) / 1000;
}

// ---------------------------------------------------------------------------------------------
// The sink

interface Sink {
  port: number;
  pid: number;
  /** Resolves `first` when the phase's first record arrives and `done` when all of them have. */
  expect(phase: string, count: number): { first: Promise<void>; done: Promise<SinkStats> };
  stop(): Promise<void>;
}

async function startSink(): Promise<Sink> {
  const child = fork(path.join(REPO_ROOT, 'bench', 'support', 'http-sink.ts'), [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<string, { first: () => void; done: (stats: SinkStats) => void }>();
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the sink exited with ${code}`)));
      child.on('message', (message: SinkMessage) => {
        if (message.type === 'listening') resolve(message.port);
        else if (message.type === 'first') waiting.get(message.phase)?.first();
        else if (message.type === 'done') waiting.get(message.phase)?.done(message.stats);
      });
    }),
    30_000,
    'the sink starting',
  );
  log(`sink pid ${child.pid} on http://${HOST}:${port}`);
  return {
    port,
    pid: child.pid!,
    expect(phase, count) {
      let first!: () => void;
      let done!: (stats: SinkStats) => void;
      const firstArrived = new Promise<void>((resolve) => (first = resolve));
      const allArrived = new Promise<SinkStats>((resolve) => (done = resolve));
      waiting.set(phase, { first, done });
      child.send({ type: 'expect', phase, count } satisfies ExpectMessage);
      return {
        first: withTimeout(firstArrived, PHASE_TIMEOUT_MS, `${phase}: the first record`),
        done: withTimeout(allArrived, PHASE_TIMEOUT_MS, `${phase}: all ${count} records`),
      };
    },
    stop: () => stopChild(child, () => child.disconnect()),
  };
}

// ---------------------------------------------------------------------------------------------
// The deliverers

interface Deliverer {
  name: 'gateway' | 'bare';
  topic: string;
  /** Begins delivering from where it stopped; does not wait for the group to be joined. */
  start(): Promise<void>;
  /** Stops delivering and leaves the group; what was delivered is committed. */
  stop(): Promise<void>;
  cpuSeconds(): number;
  peakRssMiB(): number;
  /** Deliveries the deliverer itself counted so far (the gateway's metric), or null. */
  delivered(): Promise<number | null>;
}

const DESCRIBE: Record<Deliverer['name'], string> = {
  gateway: 'gateway subscription',
  bare: 'kafkajs consumer + node:http',
};

interface GatewayProcess {
  pid: number;
  stop(): Promise<void>;
}

async function startGatewayProcess(work: string, runId: string, token: string): Promise<GatewayProcess> {
  if (process.env.BENCH_SKIP_BUILD !== '1' || !existsSync(path.join(REPO_ROOT, 'dist', 'cli.js'))) {
    log('building the gateway (npm run build)');
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 180_000 });
  }
  const config = path.join(work, 'gateway.json');
  writeFileSync(
    config,
    JSON.stringify({
      kafka: { bootstrapServers: [BOOTSTRAP] },
      listeners: { bindHost: HOST, bootstrapPort: GATEWAY_PORT, brokerPortBase: GATEWAY_PORT },
      http: { host: HOST, port: HTTP_PORT, adminToken: token },
      state: { topic: `bench-sub-state-${runId}` },
      subscriptions: { allowedTargets: [HOST], groupIdPrefix: `bench-sub-${runId}-` },
      logging: { level: 'warn' },
    }),
  );
  const logFile = path.join(work, 'gateway.log');
  const output = openSync(logFile, 'a');
  const child = spawn(
    'node',
    [...GATEWAY_NODE_ARGS, path.join(REPO_ROOT, 'dist', 'cli.js'), '--config', config],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', output, output],
    },
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the gateway exited during start-up:\n${readFileSync(logFile, 'utf8')}`);
    const ready = await fetch(`http://${HOST}:${HTTP_PORT}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the gateway was not ready within 30 s:\n${readFileSync(logFile, 'utf8')}`);
    }
    await sleep(200);
  }
  log(`gateway pid ${child.pid} on http://${HOST}:${HTTP_PORT} (broker ${BOOTSTRAP})`);
  return { pid: child.pid!, stop: () => stopChild(child, () => child.kill('SIGTERM')) };
}

async function api(token: string, method: string, route: string, body?: unknown): Promise<unknown> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await fetch(`http://${HOST}:${HTTP_PORT}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.ok) return text === '' ? null : (JSON.parse(text) as unknown);
    // The state topic and the admin client come up in the background after /readyz.
    if (response.status !== 503 || Date.now() > deadline)
      throw new Error(`${method} ${route} answered ${response.status}: ${text}`);
    await sleep(500);
  }
}

/** Waits until the one group whose id starts with `prefix` is in `state`. */
async function groupState(admin: Admin, prefix: string, state: 'Stable' | 'Empty'): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ids = (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
    if (ids.length > 1) throw new Error(`more than one group starts with ${prefix}: ${ids.join(', ')}`);
    if (ids.length === 1) {
      const [group] = (await admin.describeGroups(ids)).groups;
      if (group.state === state && (state === 'Empty' || group.members.length === 1)) return;
    }
    if (Date.now() > deadline) throw new Error(`group ${prefix}*: not ${state} within 60 s`);
    await sleep(100);
  }
}

function gatewayDeliverer(
  gateway: GatewayProcess,
  token: string,
  admin: Admin,
  groupPrefix: string,
  topic: string,
): Deliverer {
  return {
    name: 'gateway',
    topic,
    async start() {
      await api(token, 'POST', `/subscriptions/${SUBSCRIPTION}/resume`);
    },
    async stop() {
      await api(token, 'POST', `/subscriptions/${SUBSCRIPTION}/pause`);
      await groupState(admin, groupPrefix, 'Empty');
    },
    cpuSeconds: () => processTreeCpuSeconds(gateway.pid),
    peakRssMiB: () => processTreePeakRssMiB(gateway.pid),
    async delivered() {
      const text = await (await fetch(`http://${HOST}:${HTTP_PORT}/metrics`)).text();
      return metricSample(text, 'event_gateway_subscription_deliveries_total', {
        subscription: SUBSCRIPTION,
        outcome: 'delivered',
      });
    },
  };
}

async function bareDeliverer(
  topic: string,
  groupId: string,
  url: string,
): Promise<Deliverer & { pid: number; exit(): Promise<void> }> {
  const child = fork(
    path.join(REPO_ROOT, 'bench', 'support', 'bare-deliverer.ts'),
    [BOOTSTRAP, topic, groupId, url, String(CONCURRENCY)],
    {
      cwd: REPO_ROOT,
      execArgv: [...BASELINE_NODE_ARGS, '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    }),
    30_000,
    'the baseline starting',
  );
  log(`baseline pid ${child.pid}`);
  const exited = exitOf(child).then(() => {
    throw new Error(`the baseline exited with ${child.exitCode ?? child.signalCode}`);
  });
  exited.catch(() => undefined);
  return {
    name: 'bare',
    topic,
    async start() {
      child.send({ type: 'start' });
    },
    async stop() {
      const stopped = new Promise<void>((resolve) => {
        const onMessage = (message: { type: string }) => {
          if (message.type !== 'stopped') return;
          child.off('message', onMessage);
          resolve();
        };
        child.on('message', onMessage);
      });
      child.send({ type: 'stop' });
      await withTimeout(Promise.race([stopped, exited]), 60_000, 'the baseline stopping');
    },
    cpuSeconds: () => processTreeCpuSeconds(child.pid!),
    peakRssMiB: () => processTreePeakRssMiB(child.pid!),
    delivered: async () => null,
    pid: child.pid!,
    exit: () => stopChild(child, () => child.disconnect()),
  };
}

// ---------------------------------------------------------------------------------------------
// Phases

interface Run {
  round: number;
  deliverer: Deliverer['name'];
  phase: 'throughput' | 'latency';
  records: number;
  /** Throughput: first arrival to last. Latency: first send to last arrival. */
  seconds: number;
  /** Throughput: deliveries/s from the first arrival to the last. Latency: the rate produced. */
  rate: number;
  /** Throughput: from the start (subscription resumed, baseline's new consumer) to the first arrival. */
  startMs?: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  cpuSeconds: number;
  sinkCpuMicros: number;
  peakRssMiB: number;
  duplicates: number;
  outOfOrder: number;
  strays: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

const microsPerDelivery = (r: Run) => (r.cpuSeconds / r.records) * 1e6;

interface Context {
  sink: Sink;
  producer: Producer;
}

async function checkCounted(deliverer: Deliverer, before: number | null, count: number, phase: string) {
  if (before === null) return;
  // The sink reports on arrival, before its answer is back at the gateway and counted there.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const counted = ((await deliverer.delivered()) ?? 0) - before;
    if (counted >= count) return;
    if (Date.now() > deadline)
      throw new Error(`${phase}: the sink received ${count}, the gateway counted ${counted}`);
    await sleep(100);
  }
}

function runOf(
  round: number,
  deliverer: Deliverer,
  phase: Run['phase'],
  stats: SinkStats,
  cpuSeconds: number,
): Omit<Run, 'records' | 'seconds' | 'rate'> {
  const latencies = [...stats.latenciesMs].sort((a, b) => a - b);
  return {
    round,
    deliverer: deliverer.name,
    phase,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1],
    cpuSeconds,
    sinkCpuMicros: stats.cpuMicros / Math.max(1, stats.received - 1),
    peakRssMiB: deliverer.peakRssMiB(),
    duplicates: stats.duplicates,
    outOfOrder: stats.outOfOrder,
    strays: stats.strays,
  };
}

async function throughputPhase(
  { sink, producer }: Context,
  deliverer: Deliverer,
  round: number,
  count: number,
): Promise<Run> {
  const phase = `r${round}-${deliverer.name}-throughput`;
  await produceBacklog(producer, deliverer.topic, phase, count);
  const before = await deliverer.delivered();
  const { first, done } = sink.expect(phase, count);
  const startedAt = wallClock();
  await deliverer.start();
  await first;
  const cpuAtFirst = deliverer.cpuSeconds();
  const stats = await done;
  const cpuSeconds = deliverer.cpuSeconds() - cpuAtFirst;
  await checkCounted(deliverer, before, count, phase);
  const seconds = (stats.lastAt - stats.firstAt) / 1000;
  // From the first arrival on, count - 1 deliveries happened in `seconds`, paid for by cpuSeconds.
  return {
    ...runOf(round, deliverer, 'throughput', stats, cpuSeconds),
    records: count - 1,
    seconds,
    rate: (count - 1) / seconds,
    startMs: stats.firstAt - startedAt,
  };
}

async function latencyPhase({ sink, producer }: Context, deliverer: Deliverer, round: number): Promise<Run> {
  const phase = `r${round}-${deliverer.name}-latency`;
  const count = Math.round(RATE * SECONDS);
  const before = await deliverer.delivered();
  const { done } = sink.expect(phase, count);
  const sendingAt = wallClock();
  const cpuBefore = deliverer.cpuSeconds();
  const producedSeconds = await producePaced(producer, deliverer.topic, phase, count);
  const stats = await done;
  const cpuSeconds = deliverer.cpuSeconds() - cpuBefore;
  await checkCounted(deliverer, before, count, phase);
  return {
    ...runOf(round, deliverer, 'latency', stats, cpuSeconds),
    records: count,
    seconds: (stats.lastAt - sendingAt) / 1000,
    rate: count / producedSeconds,
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'subscriptions-bench-'));
  const runId = Date.now().toString(36);
  const topics = {
    gateway: `bench-sub-${runId}-gateway`,
    bare: `bench-sub-${runId}-bare`,
    dead: `bench-sub-${runId}-dead`,
  };
  const admin = kafkaClient(BOOTSTRAP, 'subscriptions-bench').admin();
  await admin.connect();
  const cleanup: (() => Promise<unknown>)[] = [];
  try {
    await new ScratchTopics(admin, log).create([
      { topic: topics.gateway, numPartitions: PARTITIONS },
      { topic: topics.bare, numPartitions: PARTITIONS },
      { topic: topics.dead, numPartitions: 1 },
    ]);
    cleanup.push(async () => {
      const groups = (await admin.listGroups()).groups
        .map((g) => g.groupId)
        .filter((id) => id.startsWith(`bench-sub-${runId}-`));
      await admin.deleteGroups(groups).catch(() => undefined);
      await admin.deleteTopics({ topics: [...Object.values(topics), `bench-sub-state-${runId}`] });
    });
    const sink = await startSink();
    cleanup.push(() => sink.stop());
    const token = randomBytes(24).toString('hex');
    const gateway = await startGatewayProcess(work, runId, token);
    cleanup.push(() => gateway.stop());
    const producer = kafkaClient(BOOTSTRAP, 'subscriptions-bench').producer({
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    cleanup.push(() => producer.disconnect());

    await api(token, 'PUT', `/subscriptions/${SUBSCRIPTION}`, {
      type: 'async',
      events: { topics: [topics.gateway] },
      target: { url: `http://${HOST}:${sink.port}/gateway` },
      concurrency: CONCURRENCY,
      deadLetterTopic: topics.dead,
    });
    const groupPrefix = `bench-sub-${runId}-${SUBSCRIPTION}.`;
    // Paused only once it has joined: an Empty group seen earlier would be the one not yet joined.
    await groupState(admin, groupPrefix, 'Stable');
    const bare = await bareDeliverer(
      topics.bare,
      `bench-sub-${runId}-bare`,
      `http://${HOST}:${sink.port}/bare`,
    );
    cleanup.push(() => bare.exit());
    const deliverers: Deliverer[] = [
      gatewayDeliverer(gateway, token, admin, groupPrefix, topics.gateway),
      bare,
    ];
    await deliverers[0].stop();

    const context: Context = { sink, producer };
    // The producer runs in this process; the sink and both deliverers in processes of their own.
    const warmedUp = await warmUp([process.pid, sink.pid, gateway.pid, bare.pid], async (pass) => {
      log(`warming up, pass ${pass}: ${WARM_UP_RECORDS} records per deliverer (not measured)`);
      for (const deliverer of deliverers) {
        // Rounds below 1 name the warm-up's phases, each pass its own.
        await throughputPhase(context, deliverer, -pass, WARM_UP_RECORDS);
        await deliverer.stop();
      }
    });
    log(`warmed up: ${warmedUp.passes} passes, everything up ${warmedUp.seconds.toFixed(0)} s`);
    const runs: Run[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternating which goes first spreads drift (page cache, broker GC, neighbours) over both.
      const order = round % 2 === 1 ? deliverers : [...deliverers].reverse();
      for (const deliverer of order) {
        log(`round ${round}: ${DESCRIBE[deliverer.name]}, ${RECORDS} records`);
        runs.push(await throughputPhase(context, deliverer, round, RECORDS));
        log(`round ${round}: ${DESCRIBE[deliverer.name]}, ${RATE} records/s for ${SECONDS} s`);
        runs.push(await latencyPhase(context, deliverer, round));
        await deliverer.stop();
      }
    }
    report(runs, warmedUp);
  } finally {
    for (const step of cleanup.reverse())
      await step().catch((error: Error) => log(`cleanup: ${error.message}`));
    await admin.disconnect();
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The report

function kafkaVersion(): string {
  try {
    return (
      /^C_VERSION=(.*)$/m.exec(
        readFileSync(path.join(REPO_ROOT, '.kafka', 'run', 'default', 'cluster.env'), 'utf8'),
      )?.[1] ?? '?'
    );
  } catch {
    return '?';
  }
}

function report(runs: Run[], warmedUp: WarmUp): void {
  const of = (deliverer: Deliverer['name'], phase: Run['phase']) =>
    runs.filter((r) => r.deliverer === deliverer && r.phase === phase);
  const perRound = (phase: Run['phase'], value: (r: Run) => number) =>
    Array.from({ length: ROUNDS }, (_, i) => {
      const inRound = (d: Deliverer['name']) =>
        runs.find((r) => r.round === i + 1 && r.deliverer === d && r.phase === phase)!;
      return value(inRound('gateway')) / value(inRound('bare'));
    });
  const ratioText = (ratios: number[]) =>
    `**${median(ratios).toFixed(2)}** (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')})`;
  const f1 = (n: number) => n.toFixed(1);
  const f0 = (n: number) => n.toFixed(0);

  const lines = [
    `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}) · load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} · Node ${process.version} · Kafka ${kafkaVersion()} at ${BOOTSTRAP}`,
    '',
    `~${VALUE_SIZE} B JSON records over ${KEYS} keys in ${PARTITIONS} partitions (key i in partition i mod ${PARTITIONS}), ` +
      `concurrency ${CONCURRENCY}, ${ROUNDS} rounds (which deliverer goes first alternating) after an untimed warm-up of ${warmedUp.passes} ${warmedUp.passes === 1 ? 'pass' : 'passes'} of ${WARM_UP_RECORDS} records each (until the gateway, the baseline, the sink and this process had been up ${warmedUp.seconds.toFixed(0)} s). ` +
      'Sink: a plain node:http server in its own process answering 200 with an empty body at once. ' +
      'Gateway: `node dist/cli.js`, one async subscription (binary CloudEvents, default retry). ' +
      `Baseline: a kafkajs consumer in its own process (partitionsConsumedConcurrently ${Math.min(CONCURRENCY, 16)}, records of a key in order, ` +
      `a keep-alive node:http agent with maxSockets ${CONCURRENCY}, kafkajs committing each batch).`,
    '',
    `### Throughput: ${RECORDS} records produced beforehand, delivered from a standing start`,
    '',
    '| Deliverer | deliveries/s (median run) | first delivery after start, ms | CPU µs/delivery | peak RSS MiB |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const name of ['gateway', 'bare'] as const) {
    const mine = of(name, 'throughput');
    lines.push(
      `| ${DESCRIBE[name]} | ${f0(median(mine.map((r) => r.rate)))} | ${f0(median(mine.map((r) => r.startMs!)))} | ${f0(median(mine.map(microsPerDelivery)))} | ${f0(Math.max(...mine.map((r) => r.peakRssMiB)))} |`,
    );
  }
  lines.push(
    '',
    `Gateway/baseline deliveries/s: ${ratioText(perRound('throughput', (r) => r.rate))}. ` +
      `Gateway/baseline CPU per delivery: ${ratioText(perRound('throughput', microsPerDelivery))}.`,
    '',
    `### Latency: ${RATE} records/s for ${SECONDS} s, produce to arrival at the sink`,
    '',
    '| Deliverer | p50 ms | p99 ms | max ms | CPU µs/delivery |',
    '|---|---:|---:|---:|---:|',
  );
  for (const name of ['gateway', 'bare'] as const) {
    const mine = of(name, 'latency');
    lines.push(
      `| ${DESCRIBE[name]} | ${f1(median(mine.map((r) => r.p50Ms)))} | ${f1(median(mine.map((r) => r.p99Ms)))} | ${f1(median(mine.map((r) => r.maxMs)))} | ${f0(median(mine.map(microsPerDelivery)))} |`,
    );
  }
  // Charts of the latest run, beside the appended history.
  const series = (value: (name: 'gateway' | 'bare') => number[]) =>
    (['gateway', 'bare'] as const).map((name, i) => ({
      name: DESCRIBE[name],
      color: ['#e67e22', '#7f8c8d'][i],
      values: value(name),
    }));
  const note = `~${VALUE_SIZE} B JSON records, concurrency ${CONCURRENCY}; medians of ${ROUNDS} rounds; written by bench/subscriptions.bench.ts`;
  writeFileSync(
    path.join(path.dirname(RESULTS), 'subscriptions-throughput.svg'),
    barChartSvg({
      title: 'Subscriptions: deliveries/s from a backlog (median run)',
      unit: 'deliveries/s',
      categories: ['deliveries/s'],
      series: series((name) => [median(of(name, 'throughput').map((r) => r.rate))]),
      note,
    }),
  );
  writeFileSync(
    path.join(path.dirname(RESULTS), 'subscriptions-latency.svg'),
    barChartSvg({
      title: `Subscriptions: produce-to-delivery latency at ${RATE} records/s`,
      unit: 'ms',
      categories: ['p50', 'p99', 'max'],
      series: series((name) => {
        const mine = of(name, 'latency');
        return [
          median(mine.map((r) => r.p50Ms)),
          median(mine.map((r) => r.p99Ms)),
          median(mine.map((r) => r.maxMs)),
        ];
      }),
      note,
    }),
  );
  lines.push(
    '',
    '![Subscriptions: deliveries/s](subscriptions-throughput.svg) ![Subscriptions: latency](subscriptions-latency.svg)',
    '',
    `Gateway/baseline p50: ${ratioText(perRound('latency', (r) => r.p50Ms))}; p99: ${ratioText(perRound('latency', (r) => r.p99Ms))}. ` +
      `Gateway/baseline CPU per delivery at this rate: ${ratioText(perRound('latency', microsPerDelivery))}.`,
    '',
    'Medians over the rounds. CPU: the deliverer’s own utime+stime from /proc/PID/stat of its processes (for the gateway, launcher and gateway), over the first to the last arrival ' +
      '(throughput) or the first send to the last arrival (latency), divided by the deliveries in that span.',
    '',
    '<details><summary>Every run</summary>',
    '',
    '| Round | Deliverer | phase | records | s | records/s | start ms | p50 ms | p99 ms | max ms | CPU s | CPU µs/delivery | sink CPU µs/request | peak RSS MiB | duplicates | out of order | strays |',
    '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of runs) {
    // A backlog's produce-to-arrival time is its age, not a latency.
    const latency = (ms: number) => (r.phase === 'throughput' ? '' : f1(ms));
    lines.push(
      `| ${r.round} | ${DESCRIBE[r.deliverer]} | ${r.phase} | ${r.records} | ${r.seconds.toFixed(2)} | ${f0(r.rate)} | ${r.startMs === undefined ? '' : f0(r.startMs)} | ${latency(r.p50Ms)} | ${latency(r.p99Ms)} | ${latency(r.maxMs)} | ${r.cpuSeconds.toFixed(2)} | ${f0(microsPerDelivery(r))} | ${f0(r.sinkCpuMicros)} | ${f0(r.peakRssMiB)} | ${r.duplicates} | ${r.outOfOrder} | ${r.strays} |`,
    );
  }
  lines.push(
    '',
    'Throughput rows: records/s is deliveries from the first arrival to the last; start ms is from the start (the subscription resumed, or the baseline told to start a new consumer) to the first arrival. ' +
      'Latency rows: records/s is the rate produced. Strays: requests of another phase (redelivered after a pause or stop) that arrived during this one.',
    '',
    '</details>',
    '',
    '',
  );
  const table = lines.join('\n');
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  if (!existsSync(RESULTS)) {
    appendFileSync(
      RESULTS,
      '# Subscriptions: delivering to an HTTP endpoint, gateway vs a plain kafkajs consumer\n\nWritten by bench/subscriptions.bench.ts, newest last.\n\n',
    );
  }
  appendFileSync(RESULTS, table);
  process.stdout.write(table);
  log(`appended to ${path.relative(REPO_ROOT, RESULTS)}`);
  const anomalies = runs.reduce((sum, r) => sum + r.duplicates + r.outOfOrder + r.strays, 0);
  if (anomalies > 0)
    log(`${anomalies} duplicate, out-of-order or stray deliveries over all runs (see every run)`);
}

main().catch((error: Error) => {
  log(`failed: ${error.message}`);
  process.exit(1);
});
