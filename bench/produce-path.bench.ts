/**
 * The produce path on one core, without sockets: a Produce request of ~1 KiB JSON values goes
 * through the produce handler and a validating pipeline (asyncapi/demo.yaml, tag mode), as the
 * gateway runs them, and the request it would forward is made. Payloads: all valid (the request
 * is forwarded as it came) and 10 % invalid (most batches gain a header and are re-encoded).
 *
 *   npx tsx bench/produce-path.bench.ts [--seconds 2] [--only valid|mixed] [--pipeline validation|parsing|reading|none]
 *
 * It isolates the gateway's own work per record from what the kernel and the broker cost, which
 * the end-to-end benchmarks (validation, relay-floor) cannot tell apart on shared cores. Not a
 * test: numbers depend on the machine. Printed, and appended to bench/results/produce-path.md.
 * `--pipeline parsing` runs a filter rule that parses every value and matches none instead of
 * validation (what parsing alone costs), `--pipeline reading` a middleware that wants every record
 * and looks at none (what reading the records costs), `--pipeline none` no middleware (nothing is
 * read); these are printed only. It runs the source through tsx, whose transform names every
 * function it creates (`__name`, esbuild's keepNames): a closure made per record costs more here
 * than in the build the gateway runs (tsc's, which adds nothing).
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { SpecStore } from '../src/asyncapi/spec-store';
import { createLogger } from '../src/observability/logger';
import { RateLimitedLog } from '../src/observability/rate-limited-log';
import type { Middleware } from '../src/pipeline/middleware';
import { Pipeline } from '../src/pipeline/pipeline';
import { filterMiddleware } from '../src/pipeline/filter/filter-middleware';
import { validationMiddleware } from '../src/pipeline/validation-middleware';
import { ApiKey } from '../src/protocol/messages';
import type { ConnectionContext, RequestDecision, RequestRoute } from '../src/proxy/api-handler';
import { produceHandler } from '../src/proxy/handlers/produce';
import { produceFrame } from '../test/unit/support/produce-frames';
import { batchOfValues } from '../test/unit/support/record-batches';
import { sensorPayload } from './support/sensor-payloads';

const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 2;
const onlyArg = process.argv.indexOf('--only');
const ONLY = onlyArg > 0 ? process.argv[onlyArg + 1] : undefined;
const pipelineArg = process.argv.indexOf('--pipeline');
const PIPELINE = pipelineArg > 0 ? process.argv[pipelineArg + 1] : 'validation';
const ROOT = path.join(__dirname, '..');
const TOPIC = 'event-gateway-demo';
const VERSION = 9;
/** What ProducerPerformance sends with batch.size 16 KiB and 1 KiB values over 3 partitions. */
const PARTITIONS = 3;
const RECORDS_PER_BATCH = 15;
const VALUE_SIZE = 1024;
const DISTINCT = 1000;

/** Request frames (no size prefix) cycling through the payloads, 1 in `invalidEvery` invalid. */
function frames(invalidEvery: number | null, count: number): Buffer[] {
  const values = Array.from({ length: DISTINCT }, (_, i) =>
    Buffer.from(sensorPayload(i, invalidEvery === null || i % invalidEvery !== 0, VALUE_SIZE)),
  );
  let next = 0;
  return Array.from({ length: count }, () =>
    produceFrame(
      VERSION,
      Array.from({ length: PARTITIONS }, (_, partition) => ({
        topic: TOPIC,
        partition,
        // A stride prime to DISTINCT mixes valid and invalid values across batches as random picks would.
        records: batchOfValues(
          Array.from({ length: RECORDS_PER_BATCH }, () => values[(next = (next + 7) % DISTINCT)]),
        ),
      })),
      1,
      'producer-1',
    ),
  );
}

async function main(): Promise<void> {
  const specs = new SpecStore();
  await specs.put('demo', readFileSync(path.join(ROOT, 'asyncapi', 'demo.yaml'), 'utf8'), 'file');
  // As the gateway wires them: tagged records are reported to a rate-limited log.
  const invalidLog = new RateLimitedLog(createLogger('silent'));
  const validating = validationMiddleware(
    specs,
    { failWhenInvalid: false, topicsWithoutSpec: 'pass' },
    (record, context, errors) =>
      invalidLog.warn(
        `tagged:${context.clientId}:${record.topic}`,
        { clientId: context.clientId, topic: record.topic, partition: record.partition, errors },
        'invalid record forwarded with a validation error header',
      ),
  );
  // Every payload, valid or not, has `lumens`: the rule parses each value and matches none.
  const parsing = filterMiddleware({
    rules: [{ name: 'parse-only', pattern: { value: { lumens: [{ exists: false }] } }, action: 'drop' }],
  });
  const reading: Middleware = { name: 'reading', wants: () => true, onRecord: () => undefined };
  const middlewares = new Map<string, Middleware[]>([
    ['validation', [validating]],
    ['parsing', [parsing]],
    ['reading', [reading]],
    ['none', []],
  ]).get(PIPELINE);
  if (middlewares === undefined)
    throw new Error(`--pipeline takes validation, parsing, reading or none, not ${PIPELINE}`);
  const pipeline = new Pipeline(middlewares, {
    contractFor: (topic) => specs.contracts().lookup(topic),
    tallyRecords: true,
  });
  const handler = produceHandler({
    book: {
      advertisedHost: '127.0.0.1',
      gatewayPortFor: (nodeId) => 30000 + nodeId,
      registerBrokers: () => undefined,
      rememberTopic: () => undefined,
      topicName: () => undefined,
    },
    pipeline: () => pipeline,
  });
  const connection: ConnectionContext = {
    id: 1,
    clientAddress: '127.0.0.1:40000',
    listener: 'bootstrap',
    logger: createLogger('silent'),
    clientId: 'producer-1',
  };
  const route: RequestRoute = { apiKey: ApiKey.Produce, apiVersion: VERSION, correlationId: 0 };
  const recordsPerRequest = PARTITIONS * RECORDS_PER_BATCH;

  const measure = (requests: Buffer[]) => {
    let done = 0;
    let rewritten = 0;
    const start = process.hrtime.bigint();
    const until = start + BigInt(Math.round(SECONDS * 1e9));
    let now = start;
    while (now < until) {
      for (let i = 0; i < 50; i++) {
        const decision = handler.onRequest!(
          requests[done % requests.length],
          route,
          connection,
        ) as RequestDecision;
        if (decision.action === 'forward' && decision.frame !== undefined) rewritten++;
        done++;
      }
      now = process.hrtime.bigint();
    }
    const seconds = Number(now - start) / 1e9;
    return { usPerRecord: (seconds * 1e6) / (done * recordsPerRequest), rewritten: rewritten / done };
  };

  const sets = [
    { key: 'valid', name: 'all valid', requests: frames(null, 200) },
    { key: 'mixed', name: '10% invalid (tagged)', requests: frames(10, 200) },
  ].filter((set) => ONLY === undefined || set.key === ONLY);
  for (const set of sets) measure(set.requests); // warm-up
  const rows: string[] = [];
  for (const set of sets) {
    const rounds = [measure(set.requests), measure(set.requests), measure(set.requests)];
    const best = rounds.reduce((a, b) => (b.usPerRecord < a.usPerRecord ? b : a));
    const row = `| ${set.name} | ${best.usPerRecord.toFixed(2)} | ${rounds.map((r) => r.usPerRecord.toFixed(2)).join(', ')} | ${(100 * best.rewritten).toFixed(0)} % |`;
    rows.push(row);
    process.stdout.write(`${set.name}: ${best.usPerRecord.toFixed(2)} µs per record\n`);
  }
  if (PIPELINE !== 'validation') return;
  const report = [
    `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `${cpus().length} CPUs (${cpus()[0]?.model.trim()}) · load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} · Node ${process.version}`,
    '',
    `Produce v${VERSION} requests of ${PARTITIONS} batches × ${RECORDS_PER_BATCH} records of ~${VALUE_SIZE} B JSON, validating in tag mode; ${SECONDS} s per round, 3 rounds after a warm-up, best shown.`,
    '',
    '| Payloads | µs per record (best) | rounds | requests re-encoded |',
    '|---|---:|---|---:|',
    ...rows,
    '',
  ].join('\n');
  const file = path.join(ROOT, 'bench', 'results', 'produce-path.md');
  if (!existsSync(file))
    appendFileSync(
      file,
      '# Produce path in process: handler and validating pipeline\n\nWritten by bench/produce-path.bench.ts, newest last.\n\n',
    );
  appendFileSync(file, `${report}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
