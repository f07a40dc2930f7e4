/**
 * CloudEvents at POST /events, in binary, structured and batched mode: routed by type (the
 * configured table, then the contracts), checked by the same contracts as the Kafka door
 * (attributes as ce_* headers, data as the value) and written with the Kafka binding's binary
 * content mode.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, uniqueTopic } from './support/kafka-harness';
import {
  createTopics,
  readPartition,
  startValidatingGateway,
  type StoredRecord,
  type ValidatingGateway,
} from './support/validating-gateway';

jest.setTimeout(60_000);

const PORT = 24700;
const ORDERS = uniqueTopic('ce-orders');
const ROUTED = uniqueTopic('ce-routed');
const TYPE = 'com.external.orders.OrderCancelled';
let gateway: ValidatingGateway;

async function postEvents(body: string, headers: Record<string, string>) {
  const response = await fetch(`http://127.0.0.1:${PORT + 10}/events`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, json: () => JSON.parse(text) as Record<string, unknown>, text };
}

function headersOf(record: StoredRecord): Record<string, string> {
  return Object.fromEntries(record.headers.map((h) => [h.key, h.value?.toString() ?? '']));
}

async function stored(topic: string, offset: unknown): Promise<StoredRecord> {
  const found = (await readPartition(topic)).records.find((r) => r.offset === BigInt(String(offset)));
  if (found === undefined) throw new Error(`no record at ${String(offset)} in ${topic}`);
  return found;
}

beforeAll(async () => {
  await createTopics([ORDERS, ROUTED], 1);
  gateway = await startValidatingGateway({
    bootstrapPort: PORT,
    httpPort: PORT + 10,
    ingest: {
      requireApiKeys: false,
      cloudEvents: { routes: [{ type: 'com.example.routed.*', topic: ROUTED }] },
      cors: { origins: ['https://shop.example'] },
    },
    logLevel: 'warn',
  });
  const spec = readFileSync(path.join(REPO_ROOT, 'asyncapi', 'orders.yaml'), 'utf8').replace(
    'address: external-orders',
    `address: ${ORDERS}`,
  );
  await gateway.putSpec('orders', spec);
});

afterAll(() => gateway?.stop());

const data = { orderId: 'ORD-42', reason: 'customer-request' };

test('binary mode: ce-* headers become ce_* record headers, the body the value', async () => {
  const answer = await postEvents(JSON.stringify(data), {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': 'evt-1',
    'ce-source': 'com.external.orders',
    'ce-type': TYPE,
    'ce-time': '2026-12-03T10:00:00Z',
    'ce-partitionkey': 'ORD-42',
  });
  expect(answer.status).toBe(200);
  const body = answer.json();
  expect(body).toMatchObject({ id: 'evt-1', type: TYPE, topic: ORDERS, partition: 0 });
  const record = await stored(ORDERS, body.offset);
  expect(record.value?.toString()).toBe(JSON.stringify(data));
  expect(record.key?.toString()).toBe('ORD-42');
  expect(headersOf(record)).toMatchObject({
    ce_specversion: '1.0',
    ce_id: 'evt-1',
    ce_source: 'com.external.orders',
    ce_type: TYPE,
    ce_time: '2026-12-03T10:00:00Z',
    'content-type': 'application/json',
  });
  expect(record.batch.baseTimestamp).toBe(BigInt(Date.parse('2026-12-03T10:00:00Z')));
});

test('structured mode: the same record; time defaults to now', async () => {
  const before = Date.now();
  const answer = await postEvents(
    JSON.stringify({ specversion: '1.0', id: 'evt-2', source: 'com.external.orders', type: TYPE, data }),
    { 'content-type': 'application/cloudevents+json' },
  );
  expect(answer.status).toBe(200);
  const record = await stored(ORDERS, answer.json().offset);
  expect(record.value?.toString()).toBe(JSON.stringify(data));
  const headers = headersOf(record);
  expect(headers.ce_id).toBe('evt-2');
  expect(Date.parse(headers.ce_time)).toBeGreaterThanOrEqual(before - 1000);
});

test('the configured table routes types no contract declares', async () => {
  const answer = await postEvents('plain text', {
    'content-type': 'text/plain',
    'ce-specversion': '1.0',
    'ce-id': 'r-1',
    'ce-source': '/sensors/1',
    'ce-type': 'com.example.routed.reading',
  });
  expect(answer.status).toBe(200);
  expect((await stored(ROUTED, answer.json().offset)).value?.toString()).toBe('plain text');
});

test('a batch is written whole, or refused whole when one event breaks its contract', async () => {
  const event = (id: string, payload: unknown) => ({
    specversion: '1.0',
    id,
    source: 'com.external.orders',
    type: TYPE,
    datacontenttype: 'application/json',
    data: payload,
  });
  const before = (await readPartition(ORDERS)).records.length;
  const good = await postEvents(
    JSON.stringify([event('b-1', data), event('b-2', { ...data, orderId: 'ORD-7' })]),
    {
      'content-type': 'application/cloudevents-batch+json',
    },
  );
  expect(good.status).toBe(200);
  expect((good.json().results as unknown[]).length).toBe(2);
  expect((await readPartition(ORDERS)).records.length).toBe(before + 2);

  const mixed = await postEvents(
    JSON.stringify([event('b-3', data), event('b-4', { orderId: 'nope', reason: 'x' })]),
    {
      'content-type': 'application/cloudevents-batch+json',
    },
  );
  expect(mixed.status).toBe(422);
  expect(mixed.json()).toMatchObject({
    status: 422,
    errors: expect.arrayContaining([expect.stringMatching(/^event 1: .*orderId/)]),
  });
  expect((await readPartition(ORDERS)).records.length).toBe(before + 2);
});

test('the contract checks attributes too: a wrong source is refused with 422', async () => {
  const answer = await postEvents(JSON.stringify(data), {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': 'evt-x',
    'ce-source': 'somewhere-else',
    'ce-type': TYPE,
  });
  expect(answer.status).toBe(422);
  expect(answer.json().errors).toEqual([expect.stringContaining('ce_source')]);
});

test('refusals name what is wrong', async () => {
  const binary = (extra: Record<string, string>) => ({
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': 'x',
    'ce-source': 'com.external.orders',
    'ce-type': TYPE,
    ...extra,
  });
  const unknownType = await postEvents('{}', binary({ 'ce-type': 'com.nobody.knows' }));
  expect(unknownType.status).toBe(422);
  expect(unknownType.json().error).toContain('com.nobody.knows');
  const noId = await postEvents('{}', { 'content-type': 'application/cloudevents+json' });
  expect(noId.status).toBe(400);
  expect(noId.json().path).toBeDefined();
  expect((await postEvents('{}', binary({ 'ce-specversion': '0.3' }))).status).toBe(400);
  expect((await postEvents('hello', { 'content-type': 'text/plain' })).status).toBe(415);
  expect((await postEvents('{', { 'content-type': 'application/cloudevents+json' })).status).toBe(400);
  expect(
    (await postEvents('['.repeat(10_000), { 'content-type': 'application/cloudevents-batch+json' })).status,
  ).toBe(400);
  expect((await postEvents('x'.repeat(2 * 1024 * 1024), binary({}))).status).toBe(413);
  const tooMany = JSON.stringify(
    Array.from({ length: 1001 }, (_, i) => ({ specversion: '1.0', id: `${i}`, source: 's', type: TYPE })),
  );
  const many = await postEvents(tooMany, { 'content-type': 'application/cloudevents-batch+json' });
  expect(many.status).toBe(413);
});

test('CORS: a browser on an allowed origin may publish; others are refused at preflight', async () => {
  const preflight = (origin: string) =>
    fetch(`http://127.0.0.1:${PORT + 10}/events`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    });
  const allowed = await preflight('https://shop.example');
  expect(allowed.status).toBe(204);
  expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example');
  expect(allowed.headers.get('access-control-allow-headers')).toContain('content-type');
  expect((await preflight('https://evil.example')).status).toBe(403);
  const posted = await fetch(`http://127.0.0.1:${PORT + 10}/events`, {
    method: 'POST',
    headers: {
      origin: 'https://shop.example',
      'content-type': 'application/cloudevents+json',
    },
    body: JSON.stringify({ specversion: '1.0', id: 'c-1', source: 'com.external.orders', type: TYPE, data }),
  });
  expect(posted.status).toBe(200);
  expect(posted.headers.get('access-control-allow-origin')).toBe('https://shop.example');
});
