/**
 * What validating Avro costs a producer: ~1 KB Avro values in Confluent's framing (byte 0, a 4-byte
 * schema id, the value) sent straight to the broker, through a gateway that only relays, through
 * one that validates them against an Avro contract without a registry (the frame read, the bytes
 * decoded with the contract's schema), and, when SCHEMA_REGISTRY_URL names a registry, through one
 * that also resolves the id against it (looked up once, then cached), all in the same run, rounds
 * alternating the order. The values are encoded once, a pool of distinct ones.
 *
 *   scripts/with-kafka.sh npx tsx bench/avro-gateway.bench.ts     (or `make bench`, via bench/run.sh)
 *
 * ProducerPerformance sends text payloads only, so the load is kafkajs on every route alike:
 * BENCH_AVRO_PRODUCERS producers at once, each sending batches of BENCH_AVRO_BATCH records with
 * acks=1 to a partition of its own, one request in flight each. The load generator runs in this
 * process, beside the gateway's own process and the broker: compare runs on one host only.
 *
 * Environment: KAFKA_BOOTSTRAP (127.0.0.1:9092), SCHEMA_REGISTRY_URL (a Confluent-compatible API
 * base; unset: no registry route), BENCH_RECORDS (100000 per run), BENCH_ROUNDS (5),
 * BENCH_AVRO_SECONDS (75: no round starts once the measured rounds have taken that long, and at
 * least 2 rounds run), BENCH_AVRO_PRODUCERS (4), BENCH_AVRO_BATCH (500), BENCH_AVRO_PORT (27240;
 * the gateways on it, +10 and +20, broker N on +N), BENCH_AVRO_HTTP_PORT (27294, +1, +2),
 * BENCH_WARMUP_SECONDS (90; the untimed warm-up goes on until the gateways and this process have
 * been up this long), BENCH_SKIP_BUILD=1 to reuse dist/. Appends its table to
 * bench/results/avro-gateway.md.
 */
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
import * as avro from 'avsc';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { REPO_ROOT, run } from '../test/integration/support/kafka-harness';
import { registerSchema } from '../test/integration/support/schema-registry';
import { itemsFor, order, orderAvroSchema } from './support/orders';
import { processTreeCpuSeconds } from './support/process-tree';
import { ScratchTopics, withScratchTopics } from './support/scratch-topics';
import { warmUp, type WarmUp } from './support/warm-up';

const BOOTSTRAP = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL || undefined;
const RECORDS = Number(process.env.BENCH_RECORDS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BUDGET_MS = Number(process.env.BENCH_AVRO_SECONDS ?? 75) * 1000;
const PRODUCERS = Number(process.env.BENCH_AVRO_PRODUCERS ?? 4);
const BATCH = Number(process.env.BENCH_AVRO_BATCH ?? 500);
const PORT = Number(process.env.BENCH_AVRO_PORT ?? 27240);
const HTTP_PORT = Number(process.env.BENCH_AVRO_HTTP_PORT ?? 27294);
const RESULTS = path.join(REPO_ROOT, 'bench', 'results', 'avro-gateway.md');
const DISTINCT = 1000;
const MIN_ROUNDS = 2;

const log = (message: string) => process.stderr.write(`avro-gateway.bench: ${message}\n`);

// ---------------------------------------------------------------------------------------------
// Values

const SCHEMA = orderAvroSchema('bench.avro');
const orderType = avro.Type.forSchema(SCHEMA as avro.Schema);

/** Items enough for an order of about 1 KB once encoded. */
const ITEMS = itemsFor((n) => orderType.toBuffer(order(0, n)).length, 1024);

function framedValues(id: number): Buffer[] {
  return Array.from({ length: DISTINCT }, (_, i) => {
    const head = Buffer.alloc(5);
    head.writeUInt32BE(id, 1);
    return Buffer.concat([head, orderType.toBuffer(order(i, ITEMS))]);
  });
}

function spec(topic: string): string {
  return `asyncapi: 3.0.0
info: {title: ${topic}, version: '1'}
channels:
  orders:
    address: ${topic}
    messages:
      order:
        bindings:
          kafka:
            schemaIdLocation: payload
            schemaIdPayloadEncoding: confluent
        payload:
          schemaFormat: application/vnd.apache.avro+json;version=1.9.0
          schema: ${JSON.stringify(SCHEMA)}
`;
}

// ---------------------------------------------------------------------------------------------
// Gateways, each `node dist/cli.js` in processes of its own (launcher and gateway) so that their
// CPU time is the gateway's alone

type Route = 'direct' | 'relay' | 'validating' | 'registry';
const DESCRIBE: Record<Route, string> = {
  direct: 'direct',
  relay: 'gateway, pass-through',
  validating: 'gateway, Avro contract, no registry',
  registry: 'gateway, Avro contract, registry (ids cached)',
};

interface Gateway {
  bootstrap: string;
  pid: number;
  cpuSeconds(): number;
  metric(name: string, labels: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

async function startGateway(
  work: string,
  name: string,
  index: number,
  settings: { specs: string[]; registry?: string },
): Promise<Gateway> {
  const port = PORT + index * 10;
  const httpPort = HTTP_PORT + index;
  const specFiles = settings.specs.map((topic) => {
    const file = path.join(work, `${name}-${topic}.yaml`);
    writeFileSync(file, spec(topic));
    return { id: topic, file };
  });
  const config = path.join(work, `${name}.yaml`);
  writeFileSync(
    config,
    [
      'kafka:',
      `  bootstrapServers: ["${BOOTSTRAP}"]`,
      'listeners:',
      '  bindHost: 127.0.0.1',
      `  bootstrapPort: ${port}`,
      `  brokerPortBase: ${port}`,
      'http:',
      '  host: 127.0.0.1',
      `  port: ${httpPort}`,
      // Specs come from files; no state topic shared with other gateways of the run.
      'state:',
      '  enabled: false',
      ...(specFiles.length === 0
        ? ['pipeline:', '  middlewares: []']
        : [
            'asyncapi:',
            '  failWhenInvalid: false',
            '  specs:',
            ...specFiles.map((s) => `    - { id: "${s.id}", file: "${s.file}" }`),
            'pipeline:',
            '  middlewares: [validation]',
          ]),
      ...(settings.registry === undefined ? [] : ['schemaRegistry:', `  url: "${settings.registry}"`]),
      'logging:',
      '  level: info',
      '',
    ].join('\n'),
  );
  const logFile = path.join(work, `${name}.log`);
  const output = openSync(logFile, 'a');
  const child: ChildProcess = spawn('node', [path.join(REPO_ROOT, 'dist', 'cli.js'), '--config', config], {
    cwd: REPO_ROOT,
    stdio: ['ignore', output, output],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`gateway ${name} exited during start-up:\n${readFileSync(logFile, 'utf8')}`);
    const ready = await fetch(`${base}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline)
      throw new Error(`gateway ${name} was not ready within 60 s:\n${readFileSync(logFile, 'utf8')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  log(`gateway ${name}: pid ${child.pid} on 127.0.0.1:${port}`);
  return {
    bootstrap: `127.0.0.1:${port}`,
    pid: child.pid!,
    cpuSeconds: () => processTreeCpuSeconds(child.pid!),
    async metric(metric, labels) {
      const text = await (await fetch(`${base}/metrics`)).text();
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`${metric}{`) && wanted.every((w) => l.includes(w)));
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

const kafka = (brokers: string) =>
  new Kafka({ clientId: 'avro-gateway-bench', brokers: [brokers], logLevel: logLevel.NOTHING });

/** Batches per partition, built once: the load generator allocates nothing per record either. */
function batches(values: Buffer[]): Message[][][] {
  return Array.from({ length: PRODUCERS }, (_, p) =>
    Array.from({ length: Math.ceil(DISTINCT / BATCH) }, (_, b) =>
      Array.from({ length: BATCH }, (_, i) => ({
        value: values[(b * BATCH + i + p * 7) % DISTINCT],
        partition: p,
      })),
    ),
  );
}

async function produce(bootstrap: string, topic: string, load: Message[][][], records: number) {
  const producers = Array.from({ length: PRODUCERS }, () =>
    kafka(bootstrap).producer({ allowAutoTopicCreation: false }),
  );
  await Promise.all(producers.map((p) => p.connect()));
  try {
    const share = Math.ceil(records / PRODUCERS / BATCH);
    const started = process.hrtime.bigint();
    await Promise.all(
      producers.map(async (producer, p) => {
        for (let n = 0; n < share; n++)
          await producer.send({ topic, acks: 1, messages: load[p][n % load[p].length] });
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { records: share * BATCH * PRODUCERS, seconds };
  } finally {
    await Promise.all(producers.map((p) => p.disconnect()));
  }
}

// ---------------------------------------------------------------------------------------------

interface Run {
  round: number;
  route: Route;
  records: number;
  seconds: number;
  bytes: number;
  cpuSeconds?: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(tmpdir(), 'avro-gateway-bench-'));
  try {
    await withScratchTopics(kafka(BOOTSTRAP).admin(), log, (topics) => benchmark(work, topics));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function benchmark(work: string, scratch: ScratchTopics): Promise<void> {
  if (process.env.BENCH_SKIP_BUILD !== '1' || !existsSync(path.join(REPO_ROOT, 'dist', 'cli.js'))) {
    log('building the gateway (npm run build)');
    await run('npm', ['run', '--silent', 'build'], { timeoutMs: 300_000 });
  }
  const runId = Date.now().toString(36);
  const routes: Route[] = ['direct', 'relay', 'validating', ...(REGISTRY_URL ? ['registry' as const] : [])];
  const topicOf = (round: number | 'warm-up', route: Route) => `bench-avro-${runId}-${round}-${route}`;
  const topics = (route: Route) => [
    topicOf('warm-up', route),
    ...Array.from({ length: ROUNDS }, (_, r) => topicOf(r + 1, route)),
  ];
  await scratch.create(routes.flatMap(topics).map((topic) => ({ topic, numPartitions: PRODUCERS })));

  // The registry route's records carry the id the registry gave; the others the same bytes.
  const id = REGISTRY_URL
    ? await registerSchema({ root: '', url: REGISTRY_URL }, `bench-avro-${runId}-value`, SCHEMA)
    : 1;
  const values = framedValues(id);
  const valueBytes = values.reduce((n, v) => n + v.length, 0) / values.length;
  const load = batches(values);

  const gateways = new Map<Route, Gateway>();
  const runs: Run[] = [];
  const started = Date.now();
  let warmedUp: WarmUp;
  try {
    gateways.set('relay', await startGateway(work, 'relay', 0, { specs: [] }));
    gateways.set('validating', await startGateway(work, 'validating', 1, { specs: topics('validating') }));
    if (REGISTRY_URL)
      gateways.set(
        'registry',
        await startGateway(work, 'registry', 2, { specs: topics('registry'), registry: REGISTRY_URL }),
      );
    const bootstrapOf = (route: Route) => (route === 'direct' ? BOOTSTRAP : gateways.get(route)!.bootstrap);

    // The load is made in this process, so it is warmed up as well as the gateways.
    const passRecords = Math.min(RECORDS, 10_000);
    warmedUp = await warmUp([process.pid, ...[...gateways.values()].map((g) => g.pid)], async (pass) => {
      log(`warming up, pass ${pass}: ${passRecords} records per route (not measured)`);
      for (const route of routes)
        await produce(bootstrapOf(route), topicOf('warm-up', route), load, passRecords);
    });
    log(`warmed up: ${warmedUp.passes} passes, everything up ${warmedUp.seconds.toFixed(0)} s`);

    const measuring = Date.now();
    let round = 0;
    while (round < ROUNDS) {
      const elapsed = Date.now() - measuring;
      // A round takes about as long as the last one: stop before the budget would be overrun.
      if (round >= MIN_ROUNDS && elapsed + elapsed / round > BUDGET_MS) break;
      round++;
      // Alternating the order spreads drift (page cache, broker GC, neighbours) over every route.
      const steps = round % 2 === 1 ? routes : [...routes].reverse();
      for (const route of steps) {
        const topic = topicOf(round, route);
        const gateway = gateways.get(route);
        const cpuBefore = gateway?.cpuSeconds() ?? 0;
        const result = await produce(bootstrapOf(route), topic, load, RECORDS);
        const entry: Run = { round, route, ...result, bytes: result.records * valueBytes };
        if (gateway !== undefined) entry.cpuSeconds = gateway.cpuSeconds() - cpuBefore;
        if (route === 'validating' || route === 'registry') {
          // A ratio means nothing unless the gateway judged every record, and found each valid.
          const valid = await gateway!.metric('event_gateway_records_total', { topic, outcome: 'valid' });
          if (valid !== result.records)
            throw new Error(`${route}: ${valid} of ${result.records} records of ${topic} judged valid`);
        }
        log(`round ${round}: ${DESCRIBE[route]}: ${(result.records / result.seconds).toFixed(0)} records/s`);
        runs.push(entry);
      }
    }
    if (REGISTRY_URL) {
      const found = await gateways.get('registry')!.metric('event_gateway_schema_registry_lookups_total', {
        result: 'found',
      });
      if (found < 1) throw new Error('the registry route never looked the schema id up');
    }
  } finally {
    await Promise.all([...gateways.values()].map((g) => g.stop()));
  }
  report(runs, routes, valueBytes, warmedUp, (Date.now() - started) / 1000);
}

function report(runs: Run[], routes: Route[], valueBytes: number, warmedUp: WarmUp, seconds: number): void {
  const rounds = Math.max(...runs.map((r) => r.round));
  const rate = (r: Run) => r.records / r.seconds;
  const of = (round: number, route: Route) => runs.find((r) => r.round === round && r.route === route)!;
  const ratios = (route: Route, base: Route) =>
    Array.from({ length: rounds }, (_, i) => rate(of(i + 1, route)) / rate(of(i + 1, base)));
  const medianRate = (route: Route) => median(runs.filter((r) => r.route === route).map(rate));
  const medianCpu = (route: Route) =>
    median(runs.filter((r) => r.route === route).map((r) => r.records / r.cpuSeconds!));
  const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');

  const lines = [
    `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}) · load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end · Node ${process.version} · broker ${BOOTSTRAP}` +
      (REGISTRY_URL ? ` · registry ${REGISTRY_URL}` : ' · no registry (SCHEMA_REGISTRY_URL unset)'),
    '',
    `${runs[0].records} records per run of ${valueBytes.toFixed(0)} B Confluent-framed Avro values (${DISTINCT} distinct, encoded once), ` +
      `${rounds} rounds (order alternating) after an untimed warm-up of ${warmedUp.passes} ${warmedUp.passes === 1 ? 'pass' : 'passes'} over every route (until the gateways and this process had been up ${warmedUp.seconds.toFixed(0)} s), ${seconds.toFixed(0)} s for gateways, warm-up and rounds. ` +
      `Load: kafkajs in the bench's process, ${PRODUCERS} producers at once, ${BATCH} records per request, acks=1, a partition each. ` +
      'Gateways: `node dist/cli.js`, one process each; validation in tag mode.',
    '',
    '| Route | median records/s | median MB/s | median / direct (per round) | records per gateway CPU s |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const route of routes) {
    const r = medianRate(route);
    lines.push(
      `| ${DESCRIBE[route]} | ${r.toFixed(0)} | ${((r * valueBytes) / 1e6).toFixed(2)} | ${
        route === 'direct' ? '' : median(ratios(route, 'direct')).toFixed(2)
      } | ${route === 'direct' ? '' : medianCpu(route).toFixed(0)} |`,
    );
  }
  lines.push('', 'Per-round ratios (medians of these are the headline):', '');
  for (const route of routes.filter((r) => r !== 'direct'))
    lines.push(
      `- ${DESCRIBE[route]} / direct: median ${median(ratios(route, 'direct')).toFixed(2)} (${list(ratios(route, 'direct'))})`,
    );
  for (const route of routes.filter((r) => r === 'validating' || r === 'registry'))
    lines.push(
      `- ${DESCRIBE[route]} / pass-through: median ${median(ratios(route, 'relay')).toFixed(2)} (${list(ratios(route, 'relay'))})`,
    );
  lines.push(
    '',
    '<details><summary>Every run</summary>',
    '',
    '| Round | Route | records/s | MB/s | seconds | gateway CPU s |',
    '|---:|---|---:|---:|---:|---:|',
  );
  for (const r of runs)
    lines.push(
      `| ${r.round} | ${DESCRIBE[r.route]} | ${rate(r).toFixed(0)} | ${(r.bytes / r.seconds / 1e6).toFixed(2)} | ${r.seconds.toFixed(2)} | ${
        r.cpuSeconds === undefined ? '' : r.cpuSeconds.toFixed(2)
      } |`,
    );
  lines.push('', '</details>', '', '');
  const table = lines.join('\n');

  mkdirSync(path.dirname(RESULTS), { recursive: true });
  if (!existsSync(RESULTS))
    appendFileSync(
      RESULTS,
      '# Avro validation throughput: direct vs through gateways\n\nWritten by bench/avro-gateway.bench.ts, newest last.\n\n',
    );
  appendFileSync(RESULTS, table);
  process.stdout.write(table);
  log(`appended to ${path.relative(REPO_ROOT, RESULTS)}`);
}

main().catch((error: Error) => {
  log(`failed: ${error.message}`);
  process.exit(1);
});
