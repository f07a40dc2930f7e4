/**
 * Schema discovery against the real broker: records of a topic no contract describes, produced
 * through both doors, are sampled; the draft contract drafted from them, uploaded unchanged, finds
 * every one of them valid when they are produced again, and tags a record that breaks it.
 */
import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { kafkaClient, uniqueTopic } from './support/kafka-harness';
import {
  createTopics,
  readPartition,
  startValidatingGateway,
  verdictOf,
  type ValidatingGateway,
} from './support/validating-gateway';

jest.setTimeout(60_000);

const PORT = 26100;
const TOPIC = uniqueTopic('discovery-orders');
const UNLISTED = uniqueTopic('discovery-unlisted');

interface Produced {
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/** Varied records: optional fields, mixed number types, nested arrays, a few kinds, formats, a tombstone. */
function kafkaRecords(): Produced[] {
  const kinds = ['created', 'paid', 'shipped'];
  const records: Produced[] = Array.from({ length: 30 }, (_, i): Produced => {
    const value: Record<string, unknown> = {
      id: randomUUID(),
      kind: kinds[i % 3],
      at: new Date(Date.UTC(2026, 11, 3, 14, 0, i)).toISOString(),
      amount: i % 2 === 0 ? i : i + 0.25,
      customer: { email: `buyer${i}@example.com`, site: `https://shop.example.com/c/${i}` },
      lines: Array.from({ length: i % 4 }, (_, l) => ({ sku: `SKU-${l}`, qty: l + 1 })),
    };
    if (i % 5 === 0) value.note = null;
    if (i % 7 === 0) value.coupon = 'WINTER';
    return {
      key: i % 10 === 9 ? null : randomUUID(),
      value: JSON.stringify(value),
      headers: i % 3 === 0 ? { source: 'checkout', 'trace-id': randomUUID() } : { source: 'checkout' },
    };
  });
  records.push({ key: randomUUID(), value: null, headers: { source: 'cleanup' } });
  return records;
}

/** Records posted to the REST door: JSON values and string keys, as that door writes them. */
function restRecords(): { key: string; value: Record<string, unknown> }[] {
  return Array.from({ length: 6 }, (_, i) => ({
    key: randomUUID(),
    value: {
      id: randomUUID(),
      kind: 'created',
      at: new Date(Date.UTC(2026, 11, 3, 15, 0, i)).toISOString(),
      amount: 100 + i,
      customer: { email: `rest${i}@example.com`, site: 'https://shop.example.com/rest' },
      lines: [],
    },
  }));
}

let gateway: ValidatingGateway;
let producer: Producer;
let clusterId: string;

async function produce(records: readonly Produced[]): Promise<void> {
  await producer.send({
    topic: TOPIC,
    acks: -1,
    messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, partition: 0 })),
  });
}

async function publish(records: readonly { key: string; value: unknown }[]): Promise<void> {
  for (const record of records) {
    const answer = await fetch(
      `http://127.0.0.1:${PORT + 10}/v3/clusters/${clusterId}/topics/${TOPIC}/records`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          partition_id: 0,
          key: { type: 'STRING', data: record.key },
          value: { type: 'JSON', data: record.value },
        }),
      },
    );
    expect(answer.status).toBe(200);
  }
}

beforeAll(async () => {
  await createTopics([TOPIC, UNLISTED], 1);
  gateway = await startValidatingGateway({
    bootstrapPort: PORT,
    httpPort: PORT + 10,
    ingest: { requireApiKeys: false },
    discovery: { enabled: true, topics: ['/^discovery-orders-/'], samplesPerTopic: 1000 },
    logLevel: 'warn',
  });
  const admin = kafkaClient(gateway.bootstrap).admin();
  await admin.connect();
  clusterId = (await admin.describeCluster()).clusterId;
  await admin.disconnect();
  producer = kafkaClient(gateway.bootstrap).producer({ allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await gateway?.stop();
});

test('a draft drafted from both doors, uploaded unchanged, accepts every sampled record and tags a wrong one', async () => {
  const fromKafka = kafkaRecords();
  const fromRest = restRecords();
  await produce(fromKafka);
  await publish(fromRest);
  await producer.send({ topic: UNLISTED, acks: -1, messages: [{ value: '{"x": 1}' }] });

  const listing = (await gateway.http('GET', '/discovery/topics')).json<{
    enabled: boolean;
    topics: { topic: string; seen: number; sampled: number; described: boolean; headers: string[] }[];
  }>();
  expect(listing.enabled).toBe(true);
  expect(listing.topics.map((t) => t.topic)).toEqual([TOPIC]);
  expect(listing.topics[0]).toMatchObject({
    seen: fromKafka.length + fromRest.length,
    sampled: fromKafka.length + fromRest.length,
    described: false,
  });
  expect(listing.topics[0].headers.sort()).toEqual(['source', 'trace-id']);
  expect((await gateway.http('GET', `/discovery/topics/${UNLISTED}/asyncapi`)).status).toBe(404);

  const answer = await gateway.http('GET', `/discovery/topics/${TOPIC}/asyncapi`);
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  const draft = answer.json<{
    asyncapi: string;
    channels: Record<string, { address: string }>;
    components: {
      messages: Record<string, { payload: unknown; headers: unknown; bindings: { kafka: { key: unknown } } }>;
    };
  }>();
  expect(draft.asyncapi).toBe('3.0.0');
  expect(Object.values(draft.channels).map((c) => c.address)).toEqual([TOPIC]);
  const [message] = Object.values(draft.components.messages);
  expect(message.payload).toMatchObject({
    type: ['object', 'null'],
    required: ['id', 'kind', 'at', 'amount', 'customer', 'lines'],
    properties: {
      id: { type: 'string', format: 'uuid' },
      kind: { type: 'string', enum: ['created', 'paid', 'shipped'] },
      at: { type: 'string', format: 'date-time' },
      amount: { type: 'number' },
      customer: {
        type: 'object',
        properties: { email: { format: 'email' }, site: { format: 'uri' } },
      },
      lines: { type: 'array', items: { required: ['sku', 'qty'] } },
      note: { type: 'null' },
      coupon: { type: 'string' },
    },
  });
  expect(message.bindings.kafka.key).toEqual({ type: ['string', 'null'], format: 'uuid' });
  // The REST door's records came without headers: no header is on every record.
  expect(message.headers).toEqual({
    type: 'object',
    properties: {
      source: { type: 'string', enum: ['checkout', 'cleanup'] },
      'trace-id': { type: 'string', format: 'uuid' },
    },
  });

  await gateway.putSpec('discovered-orders', answer.text);
  const after = (await gateway.http('GET', '/discovery/topics')).json<{ topics: { described: boolean }[] }>();
  expect(after.topics[0].described).toBe(true);

  // The same records again: now validated against the draft, none is tagged.
  const before = (await readPartition(TOPIC)).highWatermark;
  await produce(fromKafka);
  await publish(fromRest);
  await produce([{ key: 'not-a-uuid', value: '{"id": 42, "kind": "refunded"}', headers: {} }]);
  const stored = (await readPartition(TOPIC)).records.filter((r) => r.offset >= before);
  expect(stored).toHaveLength(fromKafka.length + fromRest.length + 1);
  const verdicts = stored.map((record) => verdictOf(record));
  expect(verdicts.slice(0, -1)).toEqual(verdicts.slice(0, -1).map(() => null));
  const wrong = verdicts[verdicts.length - 1];
  expect(wrong?.errors.join('\n')).toMatch(/id/);
  expect(wrong?.errors.join('\n')).toMatch(/key/);
  expect(await gateway.recordsCounted(TOPIC, 'invalid_tagged')).toBe(1);
});

test('sampling refuses a topic name that cannot be one, and names what discovery holds in metrics', async () => {
  expect((await gateway.http('GET', '/discovery/topics/bad%20name/asyncapi')).status).toBe(400);
  const metrics = (await gateway.http('GET', '/metrics')).text;
  expect(metrics).toMatch(/^event_gateway_discovery_topics 1$/m);
});
