/**
 * Start-up time with a large state: N specs are stored through the state store (the same records
 * PUT /specs writes), then a gateway starts on that topic and the time until it is ready (every
 * spec parsed, compiled and in force) is measured, with the propagation delay of one more upload
 * between two running instances. Writes its report to bench/results/state-startup.md.
 *
 *   npx tsx bench/state-startup.bench.ts [specs=1000]      (BENCH_STATE_PORT: 25000)
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { resolveConfig } from '../src/config/load-config';
import { createKafkaClient } from '../src/kafka/kafka-client';
import { startGateway, type RunningGateway } from '../src/main';
import { createLogger } from '../src/observability/logger';
import { KafkaStateLog } from '../src/state/kafka-state-log';
import { StateStore } from '../src/state/state-store';

const ROOT = path.resolve(__dirname, '..');
const BOOTSTRAP = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';
const SPECS = Number(process.argv[2] ?? 1000);
/** The writer, the first and the second instance listen at PORT, +10 and +20 (HTTP 5 above each). */
const PORT = Number(process.env.BENCH_STATE_PORT ?? 25000);
const TOPIC = `eg-state-bench-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const demo = readFileSync(path.join(ROOT, 'asyncapi/demo.yaml'), 'utf8');

function config(port: number) {
  return resolveConfig({
    kafka: { bootstrapServers: [BOOTSTRAP] },
    listeners: { bindHost: '127.0.0.1', bootstrapPort: port, brokerPortBase: port },
    http: { host: '127.0.0.1', port: port + 5 },
    state: { topic: TOPIC, writeTimeoutMs: 30_000 },
    logging: { level: 'warn' },
  });
}

async function main(): Promise<void> {
  const logger = createLogger('warn');
  const writerConfig = config(PORT);
  const store = new StateStore(
    new KafkaStateLog(
      createKafkaClient(writerConfig, 'state-bench'),
      { topic: TOPIC, groupIdPrefix: 'state-bench-', writeTimeoutMs: 30_000 },
      logger,
    ),
    { writeTimeoutMs: 30_000, history: { spec: 10 } },
    logger,
  );
  await store.start();
  const writing = Date.now();
  for (let i = 0; i < SPECS; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, SPECS - i) }, (_, j) =>
        store.put('spec', `bench-${i + j}`, {
          text: demo.replace(/event-gateway-demo/g, `bench-topic-${i + j}`),
        }),
      ),
    );
  }
  const writeMs = Date.now() - writing;
  await store.stop();

  const starting = Date.now();
  const first: RunningGateway = await startGateway(config(PORT + 10), logger);
  const startMs = Date.now() - starting;
  const loaded = first.specs.size();

  const second = await startGateway(config(PORT + 20), logger);
  const uploaded = Date.now();
  const response = await fetch(`http://127.0.0.1:${PORT + 10 + 5}/specs/one-more`, {
    method: 'PUT',
    body: demo.replace(/event-gateway-demo/g, 'one-more-topic'),
  });
  const answeredMs = Date.now() - uploaded;
  const answered = Date.now();
  while (second.specs.get('one-more') === undefined) await new Promise((resolve) => setTimeout(resolve, 1));
  const propagationMs = Date.now() - answered;
  await Promise.all([first.stop(), second.stop()]);

  const report = [
    '# State start-up',
    '',
    `Measured ${new Date().toISOString()} against one local broker (KRaft), Node ${process.version}.`,
    '',
    '| what | figure |',
    '| --- | --- |',
    `| specs stored (asyncapi/demo.yaml, one topic each), written 50 at a time | ${SPECS} in ${writeMs} ms |`,
    `| gateway start until ready (state read, ${loaded} specs parsed and compiled) | ${startMs} ms |`,
    `| PUT /specs on instance A: answered (${response.status}) | ${answeredMs} ms |`,
    `| from A's answer until instance B has it in force | ${propagationMs} ms |`,
    '',
  ].join('\n');
  writeFileSync(path.join(ROOT, 'bench/results/state-startup.md'), report);
  console.log(report);
  process.exit(0);
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
