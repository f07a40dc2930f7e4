/**
 * What AsyncAPI validation costs a producer: Kafka's own ProducerPerformance sends ~1 KB JSON
 * values (the demo contract: lumens, sentAt) straight to the broker, through a gateway with no
 * middlewares (pass-through) and through a gateway that validates every record, in the same run.
 * The headline is validating/pass-through within each round: what checking records costs beyond
 * proxying them. Two payload sets: all valid (every batch is checked
 * and forwarded as sent) and 10% invalid (most batches also get re-encoded with a verdict header).
 *
 *   scripts/with-kafka.sh npx tsx bench/validation.bench.ts     (or `make bench`, via bench/run.sh)
 *
 * Each run sends BENCH_RECORDS and the rate compared is ProducerPerformance's steady state, after
 * the first BENCH_WARMUP_RECORDS (--warmup-records); the whole run's rate is reported beside it.
 * Runs of 100,000 records, as this benchmark made before, were mostly the producer's JVM warming
 * up: it then sent about 50,000-75,000 records/s whatever the route, so the gateway's own cost
 * hardly showed; once warm it sends about twice that, and every microsecond the gateway spends per
 * record is taken from the broker and the producer on the same two cores (docs/benchmarks.md,
 * "Tenth round").
 *
 * Environment: KAFKA_BOOTSTRAP (127.0.0.1:9092), BENCH_RECORDS (400000 per run), BENCH_WARMUP_RECORDS
 * (100000; 0 compares whole runs), BENCH_ROUNDS (9;
 * the median run and the median of the per-round ratios are reported; single rounds range by
 * 10-15 %, so a median of five moved across the targets between runs of the same code),
 * BENCH_PARTITIONS (3), BENCH_PRODUCER_PROPS ("acks=1 linger.ms=5", as in bench/proxy-throughput.sh),
 * BENCH_VALIDATION_PORT (24060; broker N on +N), BENCH_VALIDATION_HTTP_PORT (24096; the
 * pass-through gateway listens 10 above the Kafka port and 1 above the HTTP one),
 * BENCH_WARMUP_SECONDS (90; the untimed warm-up goes on until the gateways have been up this
 * long), BENCH_SKIP_BUILD=1 to reuse dist/, BENCH_FLOORS=1 to add two routes that take validating
 * apart (a gateway whose one middleware wants every record and looks at none, 20 above the Kafka
 * port and 2 above the HTTP one; and one that parses every value as JSON and checks nothing else,
 * with a filter rule on a field every payload has, so every record passes unchanged, 30 and 3
 * above: the floor of any validator working on values parsed with JSON.parse),
 * BENCH_GATEWAY_CPUS (unset; a CPU list for taskset) to
 * give the gateways cores of their own: with the rest kept off them, e.g.
 *   taskset -c 0 scripts/with-kafka.sh env BENCH_GATEWAY_CPUS=1 npx tsx bench/validation.bench.ts
 * it shows whether a gateway with a core to itself keeps up, rather than what its CPU takes from a
 * broker and producer on the same cores. Appends the result table to
 * bench/results/validation.md and writes bench/results/validation.svg (validation-own-cores.svg when
 * the gateways were given their own).
 *
 * Each gateway is `node dist/cli.js` in processes of its own (launcher and gateway), so their CPU
 * time is the gateway's alone. Each run also reports the CPU of the broker (when it is the one
 * scripts/kafka.sh runs at KAFKA_BOOTSTRAP) and of the load generator, and how busy the machine's
 * CPUs were in its steady state. Targets:
 * validating/pass-through records/s at least 0.9 with valid payloads and 0.85 with 10% invalid
 * (tag mode).
 * Broker, load generator and gateway share the machine's cores: compare runs on one host only.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
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
import { BusySampler } from './support/machine-busy';
import { exitedChildrenCpuSeconds, processTreeCpuSeconds } from './support/process-tree';
import { ScratchTopics, withScratchTopics } from './support/scratch-topics';
import { sensorPayload } from './support/sensor-payloads';
import { barChartSvg } from './support/svg-chart';
import { warmUp, type WarmUp } from './support/warm-up';

const BOOTSTRAP = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const RECORDS = Number(process.env.BENCH_RECORDS ?? 400_000);
const WARMUP_RECORDS = Number(process.env.BENCH_WARMUP_RECORDS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
/** CPUs (taskset's list) the gateways are confined to; unset: wherever the scheduler puts them. */
const GATEWAY_CPUS = process.env.BENCH_GATEWAY_CPUS || undefined;
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 3);
const PRODUCER_PROPS = (process.env.BENCH_PRODUCER_PROPS ?? 'acks=1 linger.ms=5')
  .split(/\s+/)
  .filter(Boolean);
const GATEWAY_PORT = Number(process.env.BENCH_VALIDATION_PORT ?? 24060);
const HTTP_PORT = Number(process.env.BENCH_VALIDATION_HTTP_PORT ?? 24096);
const GATEWAY_BOOTSTRAP = `127.0.0.1:${GATEWAY_PORT}`;
const PASS_PORT = GATEWAY_PORT + 10;
const PASS_HTTP_PORT = HTTP_PORT + 1;
const PASS_BOOTSTRAP = `127.0.0.1:${PASS_PORT}`;
const KAFKA_SH = path.join(REPO_ROOT, 'scripts', 'kafka.sh');
const RESULTS = path.join(REPO_ROOT, 'bench', 'results', 'validation.md');
const CHART_NAME = GATEWAY_CPUS === undefined ? 'validation.svg' : 'validation-own-cores.svg';
const CHART = path.join(REPO_ROOT, 'bench', 'results', CHART_NAME);
const VALUE_SIZE = 1024;
const DISTINCT_PAYLOADS = 1000;
/** Validating gateway / pass-through gateway, records/s. */
const TARGET = { valid: 0.9, mixed: 0.85 } as const;

type PayloadSet = keyof typeof TARGET;
const FLOORS = process.env.BENCH_FLOORS === '1';
const READ_PORT = GATEWAY_PORT + 20;
const READ_HTTP_PORT = HTTP_PORT + 2;
const READ_BOOTSTRAP = `127.0.0.1:${READ_PORT}`;
const PARSE_PORT = GATEWAY_PORT + 30;
const PARSE_HTTP_PORT = HTTP_PORT + 3;
const PARSE_BOOTSTRAP = `127.0.0.1:${PARSE_PORT}`;

type Route = 'direct' | 'passthrough' | 'reading' | 'parsing' | 'gateway';
const ROUTES: Route[] = FLOORS
  ? ['direct', 'passthrough', 'reading', 'parsing', 'gateway']
  : ['direct', 'passthrough', 'gateway'];
const ROUTE_NAMES: Record<Route, string> = {
  direct: 'direct',
  passthrough: 'gateway, pass-through',
  reading: 'gateway, reading only',
  parsing: 'gateway, parsing only',
  gateway: 'gateway, validating',
};
const ROUTE_COLORS: Record<Route, string> = {
  direct: '#7f8c8d',
  passthrough: '#e67e22',
  reading: '#2980b9',
  parsing: '#16a085',
  gateway: '#8e44ad',
};
type GatewayKind = 'pass-through' | 'reading' | 'parsing' | 'validating';

const log = (message: string) => process.stderr.write(`validation.bench: ${message}\n`);

// ---------------------------------------------------------------------------------------------
// Payloads

/** One value per line, for --payload-file: ProducerPerformance picks a random line per record. */
function writePayloads(file: string, invalidEvery: number | null): void {
  const lines = Array.from({ length: DISTINCT_PAYLOADS }, (_, i) =>
    sensorPayload(i, invalidEvery === null || i % invalidEvery !== 0, VALUE_SIZE),
  );
  writeFileSync(file, `${lines.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------------
// The broker process

/**
 * The JVM of the broker scripts/kafka.sh runs, when the benchmark runs against it (one node at
 * BOOTSTRAP), as `kafka.sh status` reports it: its CPU per run says whether the broker works
 * harder behind one gateway than behind another. Undefined for any other broker.
 */
function localBrokerPid(): number | undefined {
  let status: string;
  try {
    status = execFileSync(KAFKA_SH, ['status'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
  // "  node 1: running  pid 12345   broker 127.0.0.1:9092  controller 127.0.0.1:19092"
  const nodes = status.split('\n').filter((line) => /^\s*node \d+:/.test(line));
  const only = nodes.length === 1 ? /: running\s+pid (\d+)\s+broker (\S+)/.exec(nodes[0]) : null;
  return only !== null && only[2] === BOOTSTRAP ? Number(only[1]) : undefined;
}

// ---------------------------------------------------------------------------------------------
// The gateway process

/** The CPUs a process may run on, as taskset lists them ("0", "0-1"). */
function affinityOf(pid: number): string {
  try {
    const out = execFileSync('taskset', ['-cp', String(pid)], { encoding: 'utf8' });
    return out.slice(out.lastIndexOf(':') + 1).trim();
  } catch {
    return '?';
  }
}

interface Gateway {
  process: ChildProcess;
  /** CPU seconds (user + system) used so far by the gateway's processes (launcher and gateway). */
  cpuSeconds(): number;
  recordsCounted(topic: string, outcome: string): Promise<number>;
  stop(): Promise<void>;
}

/** What each kind of gateway runs besides proxying. */
function pipelineOf(work: string, kind: GatewayKind, specFiles: { id: string; file: string }[]): string[] {
  if (kind === 'validating') {
    return [
      'asyncapi:',
      '  failWhenInvalid: false',
      '  specs:',
      ...specFiles.map((spec) => `    - { id: "${spec.id}", file: "${spec.file}" }`),
      'pipeline:',
      '  middlewares: [validation]',
    ];
  }
  if (kind === 'parsing') {
    // Every payload, valid or not, has `lumens`: the rule parses each value and matches none.
    return [
      'pipeline:',
      '  middlewares:',
      '    - filter:',
      '        rules:',
      '          - { name: parse-only, pattern: { value: { lumens: [{ exists: false }] } }, action: drop }',
    ];
  }
  if (kind === 'reading') {
    const module = path.join(work, 'read-every-record.js');
    writeFileSync(
      module,
      "module.exports = () => ({ name: 'reading', wants: () => true, onRecord: () => undefined });\n",
    );
    return ['pipeline:', '  middlewares:', `    - module: "${module}"`];
  }
  return ['pipeline:', '  middlewares: []'];
}

async function startGateway(
  work: string,
  kind: GatewayKind,
  specFiles: { id: string; file: string }[],
  ports: { kafka: number; http: number },
): Promise<Gateway> {
  const name = kind === 'validating' ? 'gateway' : kind;
  const config = path.join(work, `${name}.yaml`);
  writeFileSync(
    config,
    [
      'kafka:',
      `  bootstrapServers: ["${BOOTSTRAP}"]`,
      'listeners:',
      '  bindHost: 127.0.0.1',
      `  bootstrapPort: ${ports.kafka}`,
      `  brokerPortBase: ${ports.kafka}`,
      'http:',
      '  host: 127.0.0.1',
      `  port: ${ports.http}`,
      ...pipelineOf(work, kind, specFiles),
      'logging:',
      '  level: info',
      '',
    ].join('\n'),
  );
  const logFile = path.join(work, `${name}.log`);
  const output = openSync(logFile, 'a');
  const gatewayCommand = ['node', path.join(REPO_ROOT, 'dist', 'cli.js'), '--config', config];
  // taskset execs node in its own process, so the pid below is still the gateway's launcher.
  const command =
    GATEWAY_CPUS === undefined ? gatewayCommand : ['taskset', '-c', GATEWAY_CPUS, ...gatewayCommand];
  const child = spawn(command[0], command.slice(1), {
    cwd: REPO_ROOT,
    stdio: ['ignore', output, output],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${ports.http}`;
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
  log(
    `${name} gateway pid ${child.pid} on 127.0.0.1:${ports.kafka} (broker ${BOOTSTRAP}), ${specFiles.length} specs`,
  );
  return {
    process: child,
    cpuSeconds: () => processTreeCpuSeconds(child.pid!),
    async recordsCounted(topic, outcome) {
      const text = await (await fetch(`${base}/metrics`)).text();
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('event_gateway_records_total{') &&
            l.includes(`topic="${topic}"`) &&
            l.includes(`outcome="${outcome}"`),
        );
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Load

interface ProducerResult {
  /** Steady state: after the first WARMUP_RECORDS (the whole run when there is no warm-up). */
  recordsPerSecond: number;
  /** Over the whole run, the producer's warm-up included. */
  wholeRunRecordsPerSecond: number;
  megabytesPerSecond: number;
  avgLatencyMs: number;
  p99Ms: number;
}

async function producerPerformance(
  bootstrap: string,
  topic: string,
  payloadFile: string,
  records: number,
): Promise<ProducerResult> {
  const result = await run(
    KAFKA_SH,
    [
      'producer-perf',
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--payload-file',
      payloadFile,
      '--throughput',
      '-1',
      ...(WARMUP_RECORDS > 0 ? ['--warmup-records', String(WARMUP_RECORDS)] : []),
      '--producer-props',
      `bootstrap.servers=${bootstrap}`,
      ...PRODUCER_PROPS,
    ],
    { timeoutMs: 300_000 },
  );
  // "100000 records sent, 51234.5 records/sec (50.03 MB/sec), 310.20 ms avg latency, 812.00 ms max
  // latency, 290 ms 50th, 700 ms 95th, 780 ms 99th, 805 ms 99.9th.", and with a warm-up the same
  // figures once more for the rest of the run: "300000 steady state records sent, ...".
  const line = (sent: string) =>
    new RegExp(
      `^${sent} records sent, ([\\d.]+) records/sec \\(([\\d.]+) MB/sec\\), ([\\d.]+) ms avg latency, [\\d.]+ ms max latency, \\d+ ms 50th, \\d+ ms 95th, (\\d+) ms 99th`,
      'm',
    ).exec(result.stdout);
  const whole = line(String(records));
  const summary = WARMUP_RECORDS > 0 ? line(`${records - WARMUP_RECORDS} steady state`) : whole;
  if (whole === null || summary === null)
    throw new Error(
      `no summary from ProducerPerformance against ${bootstrap}:\n${result.stdout}${result.stderr}`,
    );
  return {
    recordsPerSecond: Number(summary[1]),
    wholeRunRecordsPerSecond: Number(whole[1]),
    megabytesPerSecond: Number(summary[2]),
    avgLatencyMs: Number(summary[3]),
    p99Ms: Number(summary[4]),
  };
}

// ---------------------------------------------------------------------------------------------

interface Run {
  round: number;
  payloads: PayloadSet;
  route: Route;
  topic: string;
  result: ProducerResult;
  cpuSeconds?: number;
  /** Busy share of all the machine's CPUs from half to 85 % of the run's wall time. */
  busy: number;
  /** CPU seconds the broker used during the run (undefined when it is not the local one). */
  brokerCpuSeconds?: number;
  /** CPU seconds of the load generator (scripts/kafka.sh and ProducerPerformance's JVM). */
  producerCpuSeconds: number;
  valid?: number;
  tagged?: number;
}

const fixed = (n: number, digits = 0) => n.toFixed(digits);
const seconds = (value: number | undefined) =>
  value === undefined || Number.isNaN(value) ? '?' : fixed(value, 2);
const percent = (share: number) => (Number.isNaN(share) ? '?' : `${(100 * share).toFixed(0)} %`);

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'validation-bench-'));
  try {
    await withScratchTopics(kafkaClient(BOOTSTRAP, 'validation-bench').admin(), log, (topics) =>
      benchmark(work, topics),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function benchmark(work: string, scratch: ScratchTopics): Promise<void> {
  const runId = `${Date.now().toString(36)}`;
  const payloadFiles: Record<PayloadSet, string> = {
    valid: path.join(work, 'valid.txt'),
    mixed: path.join(work, 'mixed.txt'),
  };
  writePayloads(payloadFiles.valid, null);
  writePayloads(payloadFiles.mixed, 10);

  const order: [PayloadSet, Route][] = (['valid', 'mixed'] as const).flatMap((payloads) =>
    ROUTES.map((route): [PayloadSet, Route] => [payloads, route]),
  );
  const topicOf = (round: number, payloads: PayloadSet, route: Route) =>
    `bench-validation-${runId}-${round}-${payloads}-${route}`;
  const warmUpTopic = `bench-validation-${runId}-warm-up`;
  const gatewayTopics = [warmUpTopic];
  const directTopics = [
    `${warmUpTopic}-pass`,
    ...(FLOORS ? [`${warmUpTopic}-read`, `${warmUpTopic}-parse`] : []),
  ];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [payloads, route] of order)
      (route === 'gateway' ? gatewayTopics : directTopics).push(topicOf(round, payloads, route));
  }
  // One spec per topic, each asyncapi/demo.yaml bound to it: lookups stay exact-name lookups.
  const demo = readFileSync(path.join(REPO_ROOT, 'asyncapi', 'demo.yaml'), 'utf8');
  const specFiles = gatewayTopics.map((topic) => {
    const file = path.join(work, `${topic}.yaml`);
    writeFileSync(file, demo.replace(/event-gateway-demo/g, topic));
    return { id: topic, file };
  });
  await scratch.create(
    [...gatewayTopics, ...directTopics].map((topic) => ({ topic, numPartitions: PARTITIONS })),
  );

  if (process.env.BENCH_SKIP_BUILD !== '1' || !existsSync(path.join(REPO_ROOT, 'dist', 'cli.js'))) {
    log('building the gateway (npm run build)');
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 180_000 });
  }
  const processOf: Partial<Record<Route, Gateway>> = {};
  const stopGateways = () => Promise.all(Object.values(processOf).map((g) => g.stop()));
  try {
    processOf.gateway = await startGateway(work, 'validating', specFiles, {
      kafka: GATEWAY_PORT,
      http: HTTP_PORT,
    });
    processOf.passthrough = await startGateway(work, 'pass-through', [], {
      kafka: PASS_PORT,
      http: PASS_HTTP_PORT,
    });
    if (FLOORS) {
      processOf.reading = await startGateway(work, 'reading', [], {
        kafka: READ_PORT,
        http: READ_HTTP_PORT,
      });
      processOf.parsing = await startGateway(work, 'parsing', [], {
        kafka: PARSE_PORT,
        http: PARSE_HTTP_PORT,
      });
    }
  } catch (error) {
    await stopGateways();
    throw error;
  }
  const gateway = processOf.gateway;
  const bootstrapOf: Record<Route, string> = {
    direct: BOOTSTRAP,
    passthrough: PASS_BOOTSTRAP,
    reading: READ_BOOTSTRAP,
    parsing: PARSE_BOOTSTRAP,
    gateway: GATEWAY_BOOTSTRAP,
  };
  const runs: Run[] = [];
  const brokerPid = localBrokerPid();
  let warmedUp: WarmUp;
  try {
    // Whole runs through each, as many as ./support/warm-up's rule asks (one pass takes about
    // 10 s): V8 is still optimising the read and validation paths after less than one.
    const gatewayPids = Object.values(processOf).map((g) => g.process.pid!);
    warmedUp = await warmUp(gatewayPids, async (pass) => {
      log(`warming up, pass ${pass}: ${RECORDS} records through each gateway (not measured)`);
      await producerPerformance(GATEWAY_BOOTSTRAP, warmUpTopic, payloadFiles.mixed, RECORDS);
      await producerPerformance(PASS_BOOTSTRAP, `${warmUpTopic}-pass`, payloadFiles.mixed, RECORDS);
      if (FLOORS) {
        await producerPerformance(READ_BOOTSTRAP, `${warmUpTopic}-read`, payloadFiles.mixed, RECORDS);
        await producerPerformance(PARSE_BOOTSTRAP, `${warmUpTopic}-parse`, payloadFiles.mixed, RECORDS);
      }
    });
    log(`warmed up: ${warmedUp.passes} passes, the gateways up ${warmedUp.seconds.toFixed(0)} s`);
    for (let round = 1; round <= ROUNDS; round++) {
      // Rotating the order spreads drift (page cache, broker GC, neighbours) over the routes.
      const shift = (round - 1) % order.length;
      const steps = [...order.slice(shift), ...order.slice(0, shift)];
      for (const [payloads, route] of steps) {
        const topic = topicOf(round, payloads, route);
        log(`round ${round}: ${RECORDS} ${payloads} records, ${ROUTE_NAMES[route]}`);
        const proxy = processOf[route];
        const cpuBefore = proxy?.cpuSeconds() ?? 0;
        const brokerBefore = brokerPid === undefined ? 0 : processTreeCpuSeconds(brokerPid);
        // Nothing else this process started exits during a run: the gateways outlive the rounds.
        const producerBefore = exitedChildrenCpuSeconds();
        const sampler = new BusySampler().start();
        const result = await producerPerformance(
          bootstrapOf[route],
          topic,
          payloadFiles[payloads],
          RECORDS,
        ).finally(() => sampler.stop());
        // The JVM's start and the first WARMUP_RECORDS take a little under half of a run's wall
        // time, and its last tenth or so is the JVM closing down with little to do: the steady
        // state is measured from half to 85 % of the way.
        const entry: Run = {
          round,
          payloads,
          route,
          topic,
          result,
          busy: sampler.busyShare(0.5, 0.85),
          producerCpuSeconds: exitedChildrenCpuSeconds() - producerBefore,
        };
        if (proxy !== undefined) entry.cpuSeconds = proxy.cpuSeconds() - cpuBefore;
        if (brokerPid !== undefined) entry.brokerCpuSeconds = processTreeCpuSeconds(brokerPid) - brokerBefore;
        if (route === 'gateway') {
          entry.valid = await gateway.recordsCounted(topic, 'valid');
          entry.tagged = await gateway.recordsCounted(topic, 'invalid_tagged');
          // A ratio near 1 means nothing if the gateway did not validate: every record must be judged.
          if (entry.valid + entry.tagged !== RECORDS) {
            throw new Error(
              `the gateway judged ${entry.valid + entry.tagged} of ${RECORDS} records of ${topic}`,
            );
          }
        }
        runs.push(entry);
      }
    }
  } finally {
    await stopGateways();
  }

  /** The run whose records/s is the median (the lower middle for an even count) of its kind. */
  const medianRun = (payloads: PayloadSet, route: Route) => {
    const sorted = runs
      .filter((r) => r.payloads === payloads && r.route === route)
      .sort((a, b) => a.result.recordsPerSecond - b.result.recordsPerSecond);
    return sorted[Math.floor((sorted.length - 1) / 2)];
  };
  // Ratios within each round (runs minutes apart share the machine's mood), and their median:
  // steadier on a shared machine than the ratio of two bests.
  const roundRatios = (payloads: PayloadSet, a: Route, b: Route, wholeRuns = false): number[] => {
    const ratios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const of = (route: Route) => {
        const { result } = runs.find(
          (r) => r.round === round && r.payloads === payloads && r.route === route,
        )!;
        return wholeRuns ? result.wholeRunRecordsPerSecond : result.recordsPerSecond;
      };
      ratios.push(of(a) / of(b));
    }
    return ratios;
  };
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor((values.length - 1) / 2)];
  const ratioText = (ratios: number[]) =>
    `**${median(ratios).toFixed(2)}** (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')})`;
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
  const describe = { valid: 'all valid', mixed: '10% invalid (tagged)' };
  const lines = [
    `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}) · load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} · Node ${process.version} · Kafka ${kafkaVersion} at ${BOOTSTRAP}`,
    '',
    `${RECORDS} records per run of ~${VALUE_SIZE} B JSON values (ProducerPerformance --payload-file, ${DISTINCT_PAYLOADS} distinct values), ` +
      (WARMUP_RECORDS > 0
        ? `records/s and latencies of the steady state after the first ${WARMUP_RECORDS} (--warmup-records; the whole run's records/s beside them), `
        : 'records/s and latencies of whole runs, ') +
      `${PARTITIONS} partitions, a fresh topic per run; ${ROUNDS} rounds after an untimed warm-up of ${warmedUp.passes} ${warmedUp.passes === 1 ? 'run' : 'runs'} of 10 % invalid records through each gateway (until all had been up ${warmedUp.seconds.toFixed(0)} s), the order of the ${order.length} runs rotating. Rows show the median run of each kind.`,
    `Producer: --throughput -1, ${PRODUCER_PROPS.join(' ')}. Gateways: \`node dist/cli.js\`, each in its own process: one with no middlewares (pass-through), one validating in tag mode against demo.yaml bound to each topic${FLOORS ? ', one whose middleware wants every record and looks at none (reading only), one parsing every value as JSON and checking nothing else (a filter rule that matches no payload)' : ''}.` +
      (GATEWAY_CPUS === undefined
        ? ''
        : ` The gateways confined to CPUs ${GATEWAY_CPUS} (taskset); this benchmark and the producers it starts ran on CPUs ${affinityOf(process.pid)}.`),
    `CPUs busy: the share of all ${cpus().length} CPUs' time that was not idle from half to 85 % of each run's wall time (/proc/stat; the JVM's start and the first ${WARMUP_RECORDS} records come before, its closing down after), whoever used it; below 100 % the cores were not saturated. Broker and producer CPU: the broker's JVM and the load generator's (ProducerPerformance, with the script that starts it) over the whole run${brokerPid === undefined ? ' (not measured: the broker is not the one scripts/kafka.sh runs at this address)' : ''}.`,
    '',
    '| Payloads | Route | records/s | MB/s | avg latency ms | p99 ms | gateway CPU s | broker CPU s | producer CPU s | CPUs busy | valid / tagged |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const payloads of ['valid', 'mixed'] as const) {
    for (const route of ROUTES) {
      const r = medianRun(payloads, route);
      lines.push(
        `| ${describe[payloads]} | ${ROUTE_NAMES[route]} | ${fixed(r.result.recordsPerSecond)} | ${fixed(r.result.megabytesPerSecond, 2)} | ${fixed(r.result.avgLatencyMs, 1)} | ${r.result.p99Ms} | ${r.cpuSeconds === undefined ? '' : fixed(r.cpuSeconds, 2)} | ${seconds(r.brokerCpuSeconds)} | ${seconds(r.producerCpuSeconds)} | ${percent(r.busy)} | ${route === 'gateway' ? `${r.valid} / ${r.tagged}` : ''} |`,
      );
    }
  }
  lines.push(
    '',
    '| Payloads | validating / pass-through (median of rounds) | target | | validating / direct | pass-through / direct | whole runs: validating / pass-through |',
    '|---|---|---|---|---|---|---|',
  );
  for (const payloads of ['valid', 'mixed'] as const) {
    const ratios = roundRatios(payloads, 'gateway', 'passthrough');
    lines.push(
      `| ${describe[payloads]} | ${ratioText(ratios)} | ≥ ${TARGET[payloads]} | ${median(ratios) >= TARGET[payloads] ? 'met' : '**not met**'} | ${ratioText(roundRatios(payloads, 'gateway', 'direct'))} | ${ratioText(roundRatios(payloads, 'passthrough', 'direct'))} | ${ratioText(roundRatios(payloads, 'gateway', 'passthrough', true))} |`,
    );
  }
  if (FLOORS) {
    lines.push(
      '',
      '| Payloads | reading only / pass-through (median of rounds) | parsing only / pass-through | validating / parsing only |',
      '|---|---|---|---|',
    );
    for (const payloads of ['valid', 'mixed'] as const) {
      lines.push(
        `| ${describe[payloads]} | ${ratioText(roundRatios(payloads, 'reading', 'passthrough'))} | ${ratioText(roundRatios(payloads, 'parsing', 'passthrough'))} | ${ratioText(roundRatios(payloads, 'gateway', 'parsing'))} |`,
      );
    }
  }
  writeFileSync(
    CHART,
    barChartSvg({
      title: 'Validating produce: records/s per route (median run)',
      unit: 'records/s',
      categories: ['all valid', '10% invalid (tagged)'],
      series: ROUTES.map((route) => ({
        name: ROUTE_NAMES[route],
        color: ROUTE_COLORS[route],
        values: (['valid', 'mixed'] as const).map((p) => medianRun(p, route).result.recordsPerSecond),
      })),
      note: `ProducerPerformance, ~${VALUE_SIZE} B JSON values, ${PRODUCER_PROPS.join(' ')}; written by bench/validation.bench.ts`,
    }),
  );
  lines.push(
    '',
    `![Validating produce: records/s per route](${CHART_NAME})`,
    '',
    '<details><summary>Every run</summary>',
    '',
    '| Round | Payloads | Route | records/s | MB/s | avg latency ms | p99 ms | whole run, records/s | gateway CPU s | broker CPU s | producer CPU s | CPUs busy |',
    '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of runs) {
    lines.push(
      `| ${r.round} | ${describe[r.payloads]} | ${ROUTE_NAMES[r.route]} | ${fixed(r.result.recordsPerSecond)} | ${fixed(r.result.megabytesPerSecond, 2)} | ${fixed(r.result.avgLatencyMs, 1)} | ${r.result.p99Ms} | ${fixed(r.result.wholeRunRecordsPerSecond)} | ${r.cpuSeconds === undefined ? '' : fixed(r.cpuSeconds, 2)} | ${seconds(r.brokerCpuSeconds)} | ${seconds(r.producerCpuSeconds)} | ${percent(r.busy)} |`,
    );
  }
  lines.push('', '</details>', '', '');
  const table = lines.join('\n');

  mkdirSync(path.dirname(RESULTS), { recursive: true });
  if (!existsSync(RESULTS)) {
    appendFileSync(
      RESULTS,
      '# Validation throughput: direct vs through a validating gateway\n\nWritten by bench/validation.bench.ts, newest last.\n\n',
    );
  }
  appendFileSync(RESULTS, table);
  // The file is committed with the repository, so it gets the formatting format:check expects.
  try {
    execFileSync('npx', ['--no-install', 'prettier', '--write', RESULTS], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
    });
  } catch {
    log('prettier unavailable; table left unformatted');
  }
  process.stdout.write(table);
  log(`appended to ${path.relative(REPO_ROOT, RESULTS)}`);
}

main().catch((error: Error) => {
  log(`failed: ${error.message}`);
  process.exit(1);
});
