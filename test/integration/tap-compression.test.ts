/**
 * The tap reads back batches in every codec Kafka has, from the three kinds of producer people
 * use (librdkafka through kcat, kafkajs, the Java client), and keeps reading after each one: a
 * batch its consumer could not decompress used to stop the tap for good.
 *
 * The kafkajs producer runs in a process of its own (kafkajs has one codec table per process), so
 * nothing a test client registers can stand in for what the gateway registers itself. Ports: bootstrap
 * 31000, HTTP 31090.
 */
import * as path from 'node:path';
import type { CompressionName } from '../../src/protocol/records';
import { kcat, REPO_ROOT, run, uniqueTopic } from './support/kafka-harness';
import { CODECS, produceWithJava, type ExpectedRecord } from './support/record-batches';
import { startTapGateway, type TapGateway } from './support/tap-gateway';
import { createTopics } from './support/validating-gateway';
import type { TapClient } from './support/ws-client';

jest.setTimeout(60_000);

const BOOTSTRAP_PORT = 31000;
const RECORDS_PER_BATCH = 50;
/** How long a record may take to reach the client before the tap counts as dark. */
const ARRIVAL_MS = 10_000;

const TSX = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const KAFKAJS_PRODUCE = path.join(__dirname, 'support', 'kafkajs-produce.ts');

const topics = {
  kcat: uniqueTopic('tap-codec-kcat'),
  kafkajs: uniqueTopic('tap-codec-kafkajs'),
  java: uniqueTopic('tap-codec-java'),
};

let gateway: TapGateway;
let client: TapClient;

beforeAll(async () => {
  await createTopics(Object.values(topics));
  gateway = await startTapGateway({
    bootstrapPort: BOOTSTRAP_PORT,
    tap: { topics: Object.values(topics), topicRefreshMs: 1_000 },
  });
  await gateway.running.tap!.ready();
  client = await gateway.connect();
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
});

function batch(tool: string, codec: CompressionName): ExpectedRecord[] {
  return Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
    key: `${tool}-${codec}-${i}`,
    value: JSON.stringify({ tool, codec, i, pad: 'x'.repeat(200) }),
    headers: [],
  }));
}

async function kcatProduce(topic: string, codec: CompressionName, records: ExpectedRecord[]): Promise<void> {
  const args = ['-b', gateway.bootstrap, '-t', topic, '-P', '-K', '\t', '-X', 'linger.ms=200'];
  args.push('-X', 'batch.size=1000000');
  if (codec !== 'none') args.push('-z', codec);
  await kcat(args, records.map((r) => `${r.key}\t${r.value}\n`).join(''));
}

const PRODUCERS: Record<
  keyof typeof topics,
  (topic: string, codec: CompressionName, records: ExpectedRecord[]) => Promise<void>
> = {
  kcat: kcatProduce,
  kafkajs: async (topic, codec, records) => {
    const request = {
      brokers: [gateway.bootstrap],
      topic,
      codec,
      records: records.map(({ key, value }) => ({ key, value })),
    };
    await run(TSX, [KAFKAJS_PRODUCE], { input: JSON.stringify(request) });
  },
  // The Java console producer talks to the broker directly (BOOTSTRAP); what the tap reads back is the same.
  java: (topic, codec, records) => produceWithJava(topic, codec, records),
};

/** Waits until the client holds every key; the error names the ones that never came. */
async function arrives(watcher: TapClient, keys: readonly string[]): Promise<void> {
  const wanted = new Set(keys);
  try {
    await watcher.waitForRecords(wanted.size, (r) => r.key !== null && wanted.has(r.key), ARRIVAL_MS);
  } catch (error) {
    const seen = new Set(watcher.records().map((r) => r.record.key));
    const missing = keys.filter((k) => !seen.has(k));
    throw new Error(
      `${(error as Error).message}; missing ${missing.length}: ${missing.slice(0, 5).join(', ')}…`,
      {
        cause: error,
      },
    );
  }
}

describe.each(Object.keys(topics) as (keyof typeof topics)[])('records produced by %s', (tool) => {
  it.each(CODECS)('arrive from a %s batch, and so does the next record', async (codec) => {
    const topic = topics[tool];
    const records = batch(tool, codec);
    await PRODUCERS[tool](topic, codec, records);
    const after: ExpectedRecord = { key: `${tool}-${codec}-after`, value: '{"after":true}', headers: [] };
    await kcatProduce(topic, 'none', [after]);
    await arrives(client, [...records.map((r) => r.key!), after.key!]);
    // Per partition, in the order produced, each exactly once.
    const seen = client.records((r) => r.topic === topic && r.key!.startsWith(`${tool}-${codec}-`));
    expect(seen.map((r) => r.record.key)).toEqual([...records.map((r) => r.key), after.key]);
    expect(seen.every((r) => r.record.value !== null && r.record.valueEncoding === undefined)).toBe(true);
  });
});

it('reports the tap consumer running after every codec', () => {
  expect(gateway.running.tap!.health()).toEqual({ running: true, detail: expect.any(String) });
});
