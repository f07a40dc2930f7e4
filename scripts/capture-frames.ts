/**
 * Captures golden vectors for the codec: Kafka frames exactly as real clients sent them and as the
 * real broker answered, recorded by the gateway's frame tap while kcat, kafkajs and the Java
 * console tools run through it. test/unit/protocol/messages/golden-frames.test.ts decodes every
 * frame, re-encodes it and expects the same bytes, and checks the values listed in each client's
 * manifest.json. Needs a broker (127.0.0.1:9092 unless KAFKA_BOOTSTRAP says otherwise):
 *
 *   scripts/with-kafka.sh npm run capture-frames
 *
 * Output: test/fixtures/frames/<client>/<seq>-<ApiName>-v<version>-<request|response>.bin (frame
 * payloads without the size prefix) plus <client>/manifest.json. Each client's folder is replaced
 * as a whole, so files of an earlier run never linger.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { resolveConfig } from '../src/config/load-config';
import { startGateway } from '../src/main';
import { decodeResponseHeader, type RequestRoute } from '../src/protocol/headers';
import { apiKeyInfo, decodeMetadataResponse, ZERO_UUID } from '../src/protocol/messages';
import { Reader } from '../src/protocol/primitives';
import { run } from '../test/integration/support/kafka-harness';
import type { FrameEntry, FrameManifest, ProducedRecord } from '../test/support/frame-manifest';

const ROOT = path.resolve(__dirname, '..');
const OUT_DIR = path.join(ROOT, 'test', 'fixtures', 'frames');
const KAFKA_SH = path.join(ROOT, 'scripts', 'kafka.sh');

const UPSTREAM = process.env.KAFKA_BOOTSTRAP?.split(',')[0]?.trim() ?? '127.0.0.1:9092';
const HOST = '127.0.0.1';
/** Clear of the ranges the integration tests use, so a capture can run beside them. */
const BOOTSTRAP_PORT = 26000;
const HTTP_PORT = 26090;
const GATEWAY = `${HOST}:${BOOTSTRAP_PORT}`;

/** Enough to see how a client uses each API more than once, few enough to keep the fixtures small. */
const MAX_FRAMES_PER_KIND = 2;
const MAX_FRAME_BYTES = 64 * 1024;
const METADATA = 3;

/** The kafkajs client id; the other clients keep their defaults, which are part of what is captured. */
const KAFKAJS_CLIENT_ID = 'event-gateway-golden';
const KCAT_CLIENT_ID = 'rdkafka';
const JAVA_PRODUCER_CLIENT_ID = 'console-producer';
const JAVA_CONSUMER_CLIENT_ID = 'console-consumer';

interface CapturedFrame {
  route: RequestRoute;
  direction: 'request' | 'response';
  apiName: string;
  data: Buffer;
}

/**
 * Keeps the first frames of each (api, version, direction) seen while one client runs. A response
 * is kept exactly when its request was, so every kept exchange is complete; the gateway hands the
 * response the same route object as its request, which pairs them even across connections whose
 * correlation ids collide. A response too large to keep takes its request out again, so that a
 * later exchange of the same kind can have the slot.
 */
class FrameRecorder {
  private client: string | null = null;
  private frames: CapturedFrame[] = [];
  private counts = new Map<string, number>();
  private keptRequests = new WeakMap<RequestRoute, CapturedFrame>();
  private strays = 0;
  private oversized = 0;
  readonly topicIds = new Map<string, string>();

  begin(client: string): void {
    this.client = client;
    this.frames = [];
    this.counts.clear();
    this.keptRequests = new WeakMap();
    this.oversized = 0;
  }

  /** The client's frames in arrival order, named by that order. */
  end(): { frames: { entry: FrameEntry; data: Buffer }[]; oversized: number } {
    const frames = this.frames.map((frame, index) => {
      const seq = String(index + 1).padStart(3, '0');
      const { route, direction, apiName, data } = frame;
      const entry: FrameEntry = {
        file: `${seq}-${apiName}-v${route.apiVersion}-${direction}.bin`,
        direction,
        apiKey: route.apiKey,
        apiName,
        apiVersion: route.apiVersion,
        correlationId: route.correlationId,
        bytes: data.length,
      };
      return { entry, data };
    });
    const result = { frames, oversized: this.oversized };
    this.client = null;
    this.frames = [];
    return result;
  }

  get strayFrames(): number {
    return this.strays;
  }

  readonly tap = (direction: 'request' | 'response', route: RequestRoute, frame: Buffer): void => {
    if (direction === 'response' && route.apiKey === METADATA) this.learnTopicIds(route, frame);
    if (this.client === null) {
      this.strays++;
      return;
    }
    const request = this.keptRequests.get(route);
    if (direction === 'response' && request === undefined) return;
    const kind = `${route.apiKey}/${route.apiVersion}/${direction}`;
    const count = this.counts.get(kind) ?? 0;
    if (count >= MAX_FRAMES_PER_KIND) return;
    if (frame.length > MAX_FRAME_BYTES) {
      this.oversized++;
      if (request !== undefined) this.forget(request);
      return;
    }
    this.counts.set(kind, count + 1);
    const captured: CapturedFrame = {
      route,
      direction,
      apiName: apiKeyInfo(route.apiKey)?.name ?? `Api${route.apiKey}`,
      // The tap's buffer is only lent for the call.
      data: Buffer.from(frame),
    };
    this.frames.push(captured);
    if (direction === 'request') this.keptRequests.set(route, captured);
  };

  private forget(request: CapturedFrame): void {
    this.frames = this.frames.filter((frame) => frame !== request);
    const kind = `${request.route.apiKey}/${request.route.apiVersion}/request`;
    this.counts.set(kind, (this.counts.get(kind) ?? 1) - 1);
    this.keptRequests.delete(request.route);
  }

  /** Produce v13 names topics by id only; the manifest records the id so the test can match it. */
  private learnTopicIds(route: RequestRoute, frame: Buffer): void {
    try {
      const reader = new Reader(frame);
      decodeResponseHeader(reader, route.apiKey, route.apiVersion);
      for (const topic of decodeMetadataResponse(reader, route.apiVersion).topics) {
        if (topic.name !== null && topic.topicId !== ZERO_UUID) {
          this.topicIds.set(topic.name, topic.topicId);
        }
      }
    } catch {
      // A frame the codec cannot decode is the test's finding to report, not the capture's.
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freshName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Created straight at the broker, so that only the client under capture shows up in its frames. */
async function createTopicDirectly(topic: string): Promise<void> {
  const admin = new Kafka({
    clientId: 'capture-frames-setup',
    brokers: [UPSTREAM],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

function expectConsumed(client: string, output: string, produced: ProducedRecord[]): void {
  for (const record of produced) {
    if (record.value !== null && !output.includes(record.value)) {
      throw new Error(`${client} did not consume ${JSON.stringify(record.value)}; it printed:\n${output}`);
    }
  }
}

interface ClientRun {
  software: string;
  clientIds: string[];
  producerClientId: string;
  topic: string;
  groupId: string | null;
  produced: ProducedRecord[];
  consumed: number;
}

/** librdkafka: produce with a key and a header per record, list metadata, consume (no group). */
async function runKcat(): Promise<ClientRun> {
  const topic = freshName('golden-kcat');
  await createTopicDirectly(topic);
  const header = { key: 'trace', value: 'golden-kcat' };
  const produced: ProducedRecord[] = [1, 2, 3].map((i) => ({
    key: `kcat-key-${i}`,
    value: JSON.stringify({ client: 'kcat', seq: i, text: i === 3 ? 'grüße ✓' : 'plain' }),
    headers: [header],
  }));
  const lines = produced.map((r) => `${r.key}\t${r.value}\n`).join('');
  // A long linger puts all three records in one batch, so one Produce request carries them.
  await run(
    'kcat',
    [
      '-b',
      GATEWAY,
      '-t',
      topic,
      '-P',
      '-K',
      '\t',
      '-H',
      `${header.key}=${header.value}`,
      '-X',
      'linger.ms=300',
    ],
    { input: lines, timeoutMs: 60_000 },
  );
  await run('kcat', ['-b', GATEWAY, '-L', '-t', topic]);
  const consumed = await run('kcat', [
    '-b',
    GATEWAY,
    '-C',
    '-t',
    topic,
    '-o',
    'beginning',
    '-c',
    '3',
    '-e',
    '-q',
  ]);
  expectConsumed('kcat', consumed.stdout, produced);
  const version = (await run('kcat', ['-V'])).stdout.match(/Version (\S+).*librdkafka (\S+)/);
  return {
    software: version ? `kcat ${version[1]} (librdkafka ${version[2]})` : 'kcat',
    clientIds: [KCAT_CLIENT_ID],
    producerClientId: KCAT_CLIENT_ID,
    topic,
    groupId: null,
    produced,
    consumed: 3,
  };
}

/** kafkajs: admin, an idempotent producer, and a consumer group that commits. */
async function runKafkajs(): Promise<ClientRun> {
  const topic = freshName('golden-kafkajs');
  const groupId = freshName('golden-kafkajs-group');
  const kafka = new Kafka({ clientId: KAFKAJS_CLIENT_ID, brokers: [GATEWAY], logLevel: logLevel.NOTHING });

  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.describeCluster();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }

  const produced: ProducedRecord[] = [1, 2, 3].map((i) => ({
    key: `kafkajs-key-${i}`,
    value: JSON.stringify({ client: 'kafkajs', seq: i }),
    headers: [
      { key: 'trace', value: `golden-kafkajs-${i}` },
      { key: 'origin', value: 'capture-frames' },
    ],
  }));
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({
      topic,
      messages: produced.map((r) => ({
        key: r.key,
        value: r.value,
        headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value ?? ''])),
      })),
    });
  } finally {
    await producer.disconnect();
  }

  // A short heartbeat interval and a pause after the last record make Heartbeat frames appear on
  // every run instead of depending on how long the join took.
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, heartbeatInterval: 300 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`kafkajs consumed ${seen.length} of 3 records`)),
        30_000,
      );
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message.value?.toString('utf8') ?? '');
            if (seen.length === produced.length) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    expectConsumed('kafkajs', seen.join('\n'), produced);
    await sleep(1_500);
  } finally {
    await consumer.disconnect();
  }
  return {
    software: `kafkajs ${kafkajsVersion()}`,
    clientIds: [KAFKAJS_CLIENT_ID],
    producerClientId: KAFKAJS_CLIENT_ID,
    topic,
    groupId,
    produced,
    consumed: 3,
  };
}

function kafkajsVersion(): string {
  const file = require.resolve('kafkajs/package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** The Java client, through the console producer (idempotent by default) and console consumer. */
async function runJava(kafkaVersion: string): Promise<ClientRun> {
  const topic = freshName('golden-java');
  const groupId = freshName('golden-java-group');
  await createTopicDirectly(topic);
  const produced: ProducedRecord[] = [1, 2, 3].map((i) => ({
    key: `java-key-${i}`,
    value: JSON.stringify({ client: 'java', seq: i }),
    headers: [
      { key: 'trace', value: `golden-java-${i}` },
      { key: 'origin', value: 'console-producer' },
    ],
  }));
  // parse.headers format: `k1:v1,k2:v2<TAB>key<TAB>value`.
  const lines = produced
    .map((r) => `${r.headers.map((h) => `${h.key}:${h.value}`).join(',')}\t${r.key}\t${r.value}\n`)
    .join('');
  await run(
    KAFKA_SH,
    [
      'console-producer',
      '--bootstrap-server',
      GATEWAY,
      '--topic',
      topic,
      '--timeout',
      '500',
      '--reader-property',
      'parse.key=true',
      '--reader-property',
      'parse.headers=true',
    ],
    { input: lines, timeoutMs: 120_000 },
  );
  const consumed = await run(
    KAFKA_SH,
    [
      'console-consumer',
      '--bootstrap-server',
      GATEWAY,
      '--topic',
      topic,
      '--group',
      groupId,
      '--from-beginning',
      // Exiting on an idle timeout rather than after the third record keeps the consumer in the
      // group long enough for Heartbeat frames to appear on every run.
      '--timeout-ms',
      '3000',
      '--consumer-property',
      'heartbeat.interval.ms=300',
    ],
    { timeoutMs: 120_000 },
  );
  expectConsumed('the console consumer', consumed.stdout, produced);
  return {
    software: `kafka-clients ${kafkaVersion} (console-producer, console-consumer)`,
    clientIds: [JAVA_PRODUCER_CLIENT_ID, JAVA_CONSUMER_CLIENT_ID],
    producerClientId: JAVA_PRODUCER_CLIENT_ID,
    topic,
    groupId,
    produced,
    consumed: 3,
  };
}

async function brokerKafkaVersion(): Promise<string> {
  try {
    const status = await run(KAFKA_SH, ['status']);
    return status.stdout.match(/Kafka (\S+?),/)?.[1] ?? 'unknown';
  } catch {
    return process.env.KAFKA_VERSION ?? 'unknown';
  }
}

function writeClient(
  client: string,
  result: ClientRun,
  captured: ReturnType<FrameRecorder['end']>,
  recorder: FrameRecorder,
  kafkaVersion: string,
): FrameManifest {
  const dir = path.join(OUT_DIR, client);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const frame of captured.frames) writeFileSync(path.join(dir, frame.entry.file), frame.data);
  const [host, port] = UPSTREAM.split(':');
  // scripts/kafka.sh numbers its first node 1; the test holds the Metadata responses to this.
  const manifest: FrameManifest = {
    client,
    software: result.software,
    capturedAt: new Date().toISOString(),
    broker: { nodeId: 1, host, port: Number(port), kafkaVersion },
    clientIds: result.clientIds,
    producerClientId: result.producerClientId,
    topic: { name: result.topic, topicId: recorder.topicIds.get(result.topic) ?? null, partitions: 1 },
    groupId: result.groupId,
    produced: result.produced,
    consumed: result.consumed,
    frames: captured.frames.map((f) => f.entry),
  };
  writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function summarize(manifest: FrameManifest, oversized: number): string {
  const kinds = new Map<string, Set<number>>();
  for (const frame of manifest.frames) {
    const versions = kinds.get(frame.apiName) ?? new Set<number>();
    versions.add(frame.apiVersion);
    kinds.set(frame.apiName, versions);
  }
  const apis = [...kinds].map(
    ([name, versions]) => `${name} v${[...versions].sort((a, b) => a - b).join('/')}`,
  );
  const bytes = manifest.frames.reduce((sum, f) => sum + f.bytes, 0);
  const skipped = oversized > 0 ? `, ${oversized} frames over ${MAX_FRAME_BYTES} bytes skipped` : '';
  return `${manifest.client}: ${manifest.frames.length} frames, ${bytes} bytes${skipped}\n  ${apis.join(', ')}`;
}

async function main(): Promise<void> {
  const kafkaVersion = await brokerKafkaVersion();
  const config = resolveConfig(
    {
      kafka: { bootstrapServers: [UPSTREAM] },
      listeners: { bindHost: HOST, bootstrapPort: BOOTSTRAP_PORT, brokerPortBase: BOOTSTRAP_PORT },
      http: { host: HOST, port: HTTP_PORT },
      logging: { level: 'silent' },
      asyncapi: { specs: [] },
      pipeline: { middlewares: [] },
    },
    'capture-frames',
  );
  const recorder = new FrameRecorder();
  const gateway = await startGateway(config, undefined, { frameTap: recorder.tap });
  const clients: [string, () => Promise<ClientRun>][] = [
    ['kcat', runKcat],
    ['kafkajs', runKafkajs],
    ['java', () => runJava(kafkaVersion)],
  ];
  try {
    for (const [client, runClient] of clients) {
      recorder.begin(client);
      const result = await runClient();
      // Lets the last responses of closing connections through before the next client starts.
      await sleep(300);
      const captured = recorder.end();
      if (!captured.frames.some((f) => f.entry.direction === 'response')) {
        throw new Error(`${client}: no response frames were paired with their requests`);
      }
      const manifest = writeClient(client, result, captured, recorder, kafkaVersion);
      console.log(summarize(manifest, captured.oversized));
    }
  } finally {
    await gateway.stop();
  }
  if (recorder.strayFrames > 0) {
    console.warn(`${recorder.strayFrames} frames arrived between clients and were not recorded`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
