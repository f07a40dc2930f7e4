/**
 * What the HTTP door costs a publisher: ~1 KB JSON events posted one per request to
 * POST /v3/clusters/{id}/topics/{topic}/records (Confluent REST Proxy v3 shape, answered after
 * acks=all) by autocannon over keep-alive connections, against the same events produced straight
 * to the broker by kafkajs (idempotent, acks=-1) from as many concurrent send loops as autocannon
 * has connections, round after round in the same run. Two HTTP variants: a topic bound to the demo
 * contract (validation in tag mode) and a topic without a spec (passed unvalidated).
 *
 *   scripts/with-kafka.sh npx tsx bench/ingest-http.bench.ts     (or `make bench`, via bench/run.sh)
 *
 * Environment: KAFKA_BOOTSTRAP (127.0.0.1:9092), BENCH_ROUNDS (3; medians of the runs and of the
 * per-round ratios are reported), BENCH_INGEST_SECONDS (8 per run), BENCH_INGEST_CONNECTIONS (32),
 * BENCH_PARTITIONS (3), BENCH_INGEST_PORT (24160; the Kafka door, broker N on +N),
 * BENCH_INGEST_HTTP_PORT (24196), BENCH_WARMUP_SECONDS (90; the untimed warm-up goes on until the
 * gateway and this process have been up this long), BENCH_SKIP_BUILD=1 to reuse dist/.
 * Appends its tables to bench/results/ingest-http.md.
 *
 * The gateway is `node dist/cli.js` in processes of its own (launcher and gateway), so the CPU
 * time read from their /proc/PID/stat is the gateway's, not the load generator's. Broker, load
 * generator and gateway share the machine's cores: compare runs on one host only.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
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
import { kafkaClient, REPO_ROOT, run } from '../test/integration/support/kafka-harness';
import { ScratchTopics, withScratchTopics } from './support/scratch-topics';
import { processTreeCpuSeconds } from './support/process-tree';
import { barChartSvg } from './support/svg-chart';
import { warmUp, type WarmUp } from './support/warm-up';

// kafkajs warns once per producer about its v2 partitioner; the bench has no stake in it.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const BOOTSTRAP = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_INGEST_CONNECTIONS ?? 32);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 3);
const GATEWAY_PORT = Number(process.env.BENCH_INGEST_PORT ?? 24160);
const HTTP_PORT = Number(process.env.BENCH_INGEST_HTTP_PORT ?? 24196);
const HOST = '127.0.0.1';
const RESULTS = path.join(REPO_ROOT, 'bench', 'results', 'ingest-http.md');
const VALUE_SIZE = 1024;
/** One warm-up pass per route; passes repeat until ./support/warm-up's rule is met. */
const WARM_UP_SECONDS = 3;

type Route = 'direct' | 'http-spec' | 'http-nospec';
const ROUTES: Route[] = ['direct', 'http-spec', 'http-nospec'];
const DESCRIBE: Record<Route, string> = {
  direct: 'kafkajs straight to the broker',
  'http-spec': 'HTTP door, demo contract (tag mode)',
  'http-nospec': 'HTTP door, no spec',
};

const log = (message: string) => process.stderr.write(`ingest-http.bench: ${message}\n`);

/** A demo-contract reading padded to VALUE_SIZE bytes of JSON. */
function event(): Record<string, unknown> {
  const value = {
    lumens: 1234,
    sentAt: '2024-01-01T00:00:00.000Z',
    sensor: { id: 'sensor-17', site: 'north', firmware: '2.4.1' },
    note: '',
  };
  const filler = 'light level reading from the roof-top sensor array, ';
  const bare = JSON.stringify(value).length;
  value.note = filler.repeat(Math.ceil(VALUE_SIZE / filler.length)).slice(0, Math.max(0, VALUE_SIZE - bare));
  return value;
}

// ---------------------------------------------------------------------------------------------
// The gateway process

interface Gateway {
  pid: number;
  /** CPU seconds (user + system) used so far by the gateway's processes (launcher and gateway). */
  cpuSeconds(): number;
  httpRecords(topic: string, outcome: string): Promise<number>;
  stop(): Promise<void>;
}

async function startGateway(work: string, specTopic: string): Promise<Gateway> {
  if (process.env.BENCH_SKIP_BUILD !== '1' || !existsSync(path.join(REPO_ROOT, 'dist', 'cli.js'))) {
    log('building the gateway (npm run build)');
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 180_000 });
  }
  const demo = readFileSync(path.join(REPO_ROOT, 'asyncapi', 'demo.yaml'), 'utf8');
  const spec = path.join(work, 'spec.yaml');
  writeFileSync(spec, demo.replace(/event-gateway-demo/g, specTopic));
  const config = path.join(work, 'gateway.yaml');
  writeFileSync(
    config,
    [
      'kafka:',
      `  bootstrapServers: ["${BOOTSTRAP}"]`,
      'listeners:',
      `  bindHost: ${HOST}`,
      `  bootstrapPort: ${GATEWAY_PORT}`,
      `  brokerPortBase: ${GATEWAY_PORT}`,
      'http:',
      `  host: ${HOST}`,
      `  port: ${HTTP_PORT}`,
      'asyncapi:',
      '  failWhenInvalid: false',
      `  specs: [{ id: "${specTopic}", file: "${spec}" }]`,
      'pipeline:',
      '  middlewares: [validation]',
      // Loopback only, so no API key is needed: the bench measures publishing, not key lookups.
      'ingest:',
      '  requireApiKeys: false',
      'logging:',
      '  level: warn',
      '',
    ].join('\n'),
  );
  const logFile = path.join(work, 'gateway.log');
  const output = openSync(logFile, 'a');
  const child: ChildProcess = spawn('node', [path.join(REPO_ROOT, 'dist', 'cli.js'), '--config', config], {
    cwd: REPO_ROOT,
    stdio: ['ignore', output, output],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://${HOST}:${HTTP_PORT}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the gateway exited during start-up:\n${readFileSync(logFile, 'utf8')}`);
    const ready = await fetch(`${base}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline)
      throw new Error(`the gateway was not ready within 30 s:\n${readFileSync(logFile, 'utf8')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  log(`gateway pid ${child.pid} on http://${HOST}:${HTTP_PORT} (broker ${BOOTSTRAP})`);
  return {
    pid: child.pid!,
    cpuSeconds: () => processTreeCpuSeconds(child.pid!),
    async httpRecords(topic, outcome) {
      const text = await (await fetch(`${base}/metrics`)).text();
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('event_gateway_records_total{') &&
            l.includes(`topic="${topic}"`) &&
            l.includes(`outcome="${outcome}"`) &&
            l.includes('door="http"'),
        );
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function clusterId(): Promise<string> {
  // The publisher connects in the background after /readyz; until then the cluster is unknown.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const response = await fetch(`http://${HOST}:${HTTP_PORT}/v3/clusters`);
    if (response.ok) {
      const body = (await response.json()) as { data: { cluster_id: string }[] };
      return body.data[0].cluster_id;
    }
    if (Date.now() > deadline)
      throw new Error(`GET /v3/clusters: ${response.status} ${await response.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// ---------------------------------------------------------------------------------------------
// Load

interface Measured {
  events: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
}

async function postEvents(url: string, body: string, seconds: number): Promise<Measured> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    timeout: 30,
  });
  return {
    events: result['2xx'],
    seconds: result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failures: result.non2xx + result.errors,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** CONNECTIONS loops, each awaiting one single-record send before the next, as each HTTP connection does. */
async function produceDirect(
  producer: import('kafkajs').Producer,
  topic: string,
  value: Buffer,
  seconds: number,
): Promise<Measured> {
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const sent = performance.now();
        try {
          await producer.send({ topic, acks: -1, messages: [{ value }] });
          latencies.push(performance.now() - sent);
        } catch {
          failures++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    events: latencies.length,
    seconds: elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    failures,
  };
}

// ---------------------------------------------------------------------------------------------

interface Run extends Measured {
  round: number;
  route: Route;
  cpuSeconds?: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};
const rate = (r: Measured) => r.events / r.seconds;

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'ingest-http-bench-'));
  try {
    await withScratchTopics(kafkaClient(BOOTSTRAP, 'ingest-http-bench').admin(), log, (topics) =>
      benchmark(work, topics),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function benchmark(work: string, scratch: ScratchTopics): Promise<void> {
  const runId = Date.now().toString(36);
  const topics: Record<Route, string> = {
    direct: `bench-ingest-${runId}-direct`,
    'http-spec': `bench-ingest-${runId}-spec`,
    'http-nospec': `bench-ingest-${runId}-nospec`,
  };
  await scratch.create(Object.values(topics).map((topic) => ({ topic, numPartitions: PARTITIONS })));
  const data = event();
  const value = Buffer.from(JSON.stringify(data));
  const body = JSON.stringify({ value: { data } });

  const gateway = await startGateway(work, topics['http-spec']);
  const producer = kafkaClient(BOOTSTRAP, 'ingest-http-bench').producer({
    idempotent: true,
    allowAutoTopicCreation: false,
  });
  const runs: Run[] = [];
  let warmedUp: WarmUp;
  try {
    await producer.connect();
    const cluster = await clusterId();
    const url = (route: Route) =>
      `http://${HOST}:${HTTP_PORT}/v3/clusters/${cluster}/topics/${topics[route]}/records`;
    const probe = await fetch(url('http-spec'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    if (probe.status !== 200)
      throw new Error(`a first event was answered ${probe.status}: ${await probe.text()}`);

    // The direct route and autocannon run in this process, so it is warmed up with the gateway.
    warmedUp = await warmUp([process.pid, gateway.pid], async (pass) => {
      log(`warming up, pass ${pass}: ${WARM_UP_SECONDS} s per route (not measured)`);
      await produceDirect(producer, topics.direct, value, WARM_UP_SECONDS);
      await postEvents(url('http-spec'), body, WARM_UP_SECONDS);
      await postEvents(url('http-nospec'), body, WARM_UP_SECONDS);
    });
    log(`warmed up: ${warmedUp.passes} passes, the gateway up ${warmedUp.seconds.toFixed(0)} s`);

    for (let round = 1; round <= ROUNDS; round++) {
      // Rotating the order spreads drift (page cache, broker GC, neighbours) over every route.
      const steps = ROUTES.map((_, i) => ROUTES[(i + round - 1) % ROUTES.length]);
      for (const route of steps) {
        log(`round ${round}: ${SECONDS} s, ${CONNECTIONS} connections, ${DESCRIBE[route]}`);
        if (route === 'direct') {
          runs.push({ round, route, ...(await produceDirect(producer, topics.direct, value, SECONDS)) });
          continue;
        }
        const outcome = route === 'http-spec' ? 'valid' : 'unvalidated';
        const countedBefore = await gateway.httpRecords(topics[route], outcome);
        const cpuBefore = gateway.cpuSeconds();
        const measured = await postEvents(url(route), body, SECONDS);
        const cpuSeconds = gateway.cpuSeconds() - cpuBefore;
        const counted = (await gateway.httpRecords(topics[route], outcome)) - countedBefore;
        // A fast door means nothing unless every answered event went through the pipeline as expected.
        if (counted < measured.events)
          throw new Error(
            `${topics[route]}: ${measured.events} events answered 2xx, ${counted} counted ${outcome}`,
          );
        runs.push({ round, route, cpuSeconds, ...measured });
      }
    }
  } finally {
    await producer.disconnect().catch(() => undefined);
    await gateway.stop();
  }
  report(runs, warmedUp);
}

function report(runs: Run[], warmedUp: WarmUp): void {
  const of = (route: Route) => runs.filter((r) => r.route === route);
  const ratios = (route: Route) =>
    Array.from({ length: ROUNDS }, (_, i) => {
      const inRound = (r: Route) => runs.find((x) => x.round === i + 1 && x.route === r)!;
      return rate(inRound(route)) / rate(inRound('direct'));
    });
  const kafkaVersion = (() => {
    try {
      return (
        /^C_VERSION=(.*)$/m.exec(
          readFileSync(path.join(REPO_ROOT, '.kafka', 'run', 'default', 'cluster.env'), 'utf8'),
        )?.[1] ?? '?'
      );
    } catch {
      return '?';
    }
  })();
  const microsPerEvent = (r: Run) =>
    r.cpuSeconds === undefined ? '' : ((r.cpuSeconds / r.events) * 1e6).toFixed(0);
  const lines = [
    `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}) · load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} · Node ${process.version} · Kafka ${kafkaVersion} at ${BOOTSTRAP}`,
    '',
    `One ~${VALUE_SIZE} B JSON event per request or send, ${CONNECTIONS} keep-alive connections (autocannon) or concurrent send loops (kafkajs, ` +
      `idempotent, acks=-1, one record per send), ${SECONDS} s per run, ${PARTITIONS} partitions, ${ROUNDS} rounds (order rotating) after an untimed warm-up of ${warmedUp.passes} ${warmedUp.passes === 1 ? 'pass' : 'passes'} of ${WARM_UP_SECONDS} s per route (until the gateway and this process had been up ${warmedUp.seconds.toFixed(0)} s). ` +
      'Gateway: `node dist/cli.js`, ingest producer defaults (idempotent, acks=all, lingerMs 2), validation in tag mode.',
    '',
    '| Route | events/s (median run) | p50 ms | p99 ms | HTTP door / direct (median of rounds) | rounds | gateway CPU µs/event |',
    '|---|---:|---:|---:|---:|---|---:|',
  ];
  for (const route of ROUTES) {
    const mine = of(route);
    const mid = mine.find((r) => rate(r) === median(mine.map(rate)))!;
    const ratio = route === 'direct' ? '' : median(ratios(route)).toFixed(2);
    const perRound =
      route === 'direct'
        ? ''
        : ratios(route)
            .map((r) => r.toFixed(2))
            .join(', ');
    const cpu =
      route === 'direct' ? '' : median(mine.map((r) => (r.cpuSeconds! / r.events) * 1e6)).toFixed(0);
    lines.push(
      `| ${DESCRIBE[route]} | ${rate(mid).toFixed(0)} | ${median(mine.map((r) => r.p50Ms)).toFixed(1)} | ${median(mine.map((r) => r.p99Ms)).toFixed(1)} | ${ratio} | ${perRound} | ${cpu} |`,
    );
  }
  // Charts of the latest run, beside the appended history.
  const colors = ['#7f8c8d', '#e67e22', '#8e44ad'];
  const note = `~${VALUE_SIZE} B JSON events, ${CONNECTIONS} connections; medians of ${ROUNDS} rounds; written by bench/ingest-http.bench.ts`;
  writeFileSync(
    path.join(path.dirname(RESULTS), 'ingest-http-throughput.svg'),
    barChartSvg({
      title: 'HTTP door: events/s per route (median run)',
      unit: 'events/s',
      categories: ['events/s'],
      series: ROUTES.map((route, i) => ({
        name: DESCRIBE[route],
        color: colors[i],
        values: [median(of(route).map(rate))],
      })),
      note,
    }),
  );
  writeFileSync(
    path.join(path.dirname(RESULTS), 'ingest-http-latency.svg'),
    barChartSvg({
      title: 'HTTP door: latency per route (median of runs)',
      unit: 'ms',
      categories: ['p50', 'p99'],
      series: ROUTES.map((route, i) => ({
        name: DESCRIBE[route],
        color: colors[i],
        values: [median(of(route).map((r) => r.p50Ms)), median(of(route).map((r) => r.p99Ms))],
      })),
      note,
    }),
  );
  lines.push(
    '',
    'p50/p99: autocannon’s per-request latency for the HTTP door, the time of each `send` for kafkajs; medians over the runs.',
    '',
    '![HTTP door: events/s per route](ingest-http-throughput.svg) ![HTTP door: latency per route](ingest-http-latency.svg)',
    '',
    '<details><summary>Every run</summary>',
    '',
    '| Round | Route | events | s | events/s | p50 ms | p99 ms | failures | gateway CPU s | gateway CPU µs/event |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of runs) {
    lines.push(
      `| ${r.round} | ${DESCRIBE[r.route]} | ${r.events} | ${r.seconds.toFixed(1)} | ${rate(r).toFixed(0)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.failures} | ${r.cpuSeconds === undefined ? '' : r.cpuSeconds.toFixed(2)} | ${microsPerEvent(r)} |`,
    );
  }
  lines.push('', '</details>', '', '');
  const table = lines.join('\n');

  mkdirSync(path.dirname(RESULTS), { recursive: true });
  if (!existsSync(RESULTS)) {
    appendFileSync(
      RESULTS,
      '# HTTP door throughput: REST v3 records vs kafkajs straight to the broker\n\nWritten by bench/ingest-http.bench.ts, newest last.\n\n',
    );
  }
  appendFileSync(RESULTS, table);
  process.stdout.write(table);
  log(`appended to ${path.relative(REPO_ROOT, RESULTS)}`);
  const failures = runs.reduce((sum, r) => sum + r.failures, 0);
  if (failures > 0) log(`${failures} events failed or were refused over all runs (see the failures column)`);
}

main().catch((error: Error) => {
  log(`failed: ${error.message}`);
  process.exit(1);
});
