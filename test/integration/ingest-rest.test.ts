/**
 * The REST door (Confluent REST Proxy v3's shape): records posted over HTTP are judged by the same
 * contracts as a Kafka producer's, written with acks=all, answered with their offsets, and read
 * back from the broker exactly as posted.
 */
import { kafkaClient, kcat, BOOTSTRAP, readMessages, uniqueTopic } from './support/kafka-harness';
import {
  createTopics,
  demoSpec,
  metricSample,
  readPartition,
  startValidatingGateway,
  VALIDATION_HEADER,
  type ValidatingGateway,
} from './support/validating-gateway';

jest.setTimeout(60_000);

const PORT = 24600;
const TAGGED = uniqueTopic('rest-tagged');
const STRICT = uniqueTopic('rest-strict');
const OPEN = uniqueTopic('rest-open');
const FILTERED = uniqueTopic('rest-filtered');
let tagging: ValidatingGateway;
let clusterId: string;

async function post(path: string, body: string, contentType = 'application/json') {
  const response = await fetch(`http://127.0.0.1:${PORT + 10}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    text,
    headers: response.headers,
  };
}

const records = (topic: string, cluster = clusterId) => `/v3/clusters/${cluster}/topics/${topic}/records`;

beforeAll(async () => {
  await createTopics([TAGGED, STRICT, FILTERED], 1);
  await createTopics([OPEN], 3);
  tagging = await startValidatingGateway({
    bootstrapPort: PORT,
    httpPort: PORT + 10,
    // A linger long enough that requests sent together share one produce request.
    ingest: { requireApiKeys: false, producer: { lingerMs: 50 } },
    pipeline: {
      middlewares: [
        'validation',
        {
          filter: {
            rules: [
              { name: 'no-tests', topics: [FILTERED], pattern: { value: { test: [true] } }, action: 'drop' },
            ],
          },
        },
      ],
    },
    logLevel: 'warn',
  });
  await tagging.putSpec('tagged', demoSpec('3.0', TAGGED));
  await tagging.putSpec(
    'strict',
    demoSpec('3.0', STRICT).replace(
      `address: ${STRICT}`,
      `address: ${STRICT}\n    x-eg-fail-when-invalid: true`,
    ),
  );
  const admin = kafkaClient(BOOTSTRAP).admin();
  await admin.connect();
  clusterId = (await admin.describeCluster()).clusterId;
  await admin.disconnect();
});

afterAll(() => tagging?.stop());

test('GET /v3/clusters names the real cluster; its topics are listed', async () => {
  const clusters = await fetch(`http://127.0.0.1:${PORT + 10}/v3/clusters`).then((r) => r.json());
  expect(clusters).toEqual({
    kind: 'KafkaClusterList',
    data: [{ kind: 'KafkaCluster', cluster_id: clusterId }],
  });
  const topics = (await fetch(`http://127.0.0.1:${PORT + 10}/v3/clusters/${clusterId}/topics`).then((r) =>
    r.json(),
  )) as { data: { topic_name: string }[] };
  expect(topics.data.map((t) => t.topic_name)).toEqual(expect.arrayContaining([TAGGED, STRICT, OPEN]));
  expect(topics.data.map((t) => t.topic_name).filter((t) => t.startsWith('_'))).toEqual([]);
  expect((await fetch(`http://127.0.0.1:${PORT + 10}/v3/clusters/nope/topics`)).status).toBe(404);
});

test('a record is written as posted: key, value, headers, partition, timestamp; the answer has its offset', async () => {
  const timestamp = '2026-01-02T03:04:05.678Z';
  const answer = await post(
    records(OPEN),
    JSON.stringify({
      partition_id: 2,
      headers: [
        { name: 'trace', value: Buffer.from('abc').toString('base64') },
        { name: 'empty', value: null },
      ],
      key: { type: 'STRING', data: 'order-7' },
      value: { type: 'BINARY', data: Buffer.from([0, 1, 2, 255]).toString('base64') },
      timestamp,
    }),
  );
  expect(answer.status).toBe(200);
  const body = JSON.parse(answer.text);
  expect(body).toEqual({
    error_code: 200,
    cluster_id: clusterId,
    topic_name: OPEN,
    partition_id: 2,
    offset: expect.any(Number),
    timestamp,
    key: { type: 'STRING', size: 7 },
    value: { type: 'BINARY', size: 4 },
  });
  const stored = (await readPartition(OPEN, 2)).records.find((r) => r.offset === BigInt(body.offset))!;
  expect(stored.key?.toString()).toBe('order-7');
  expect([...stored.value!]).toEqual([0, 1, 2, 255]);
  expect(stored.headers.map((h) => [h.key, h.value?.toString() ?? null])).toEqual([
    ['trace', 'abc'],
    ['empty', ''],
  ]);
  expect(stored.batch.baseTimestamp + 0n).toBe(BigInt(Date.parse(timestamp)));

  // kafkajs and kcat read the same record back.
  const [consumed] = await readMessages(kafkaClient(BOOTSTRAP), OPEN, 1);
  expect(consumed.key?.toString()).toBe('order-7');
  expect([...consumed.value!]).toEqual([0, 1, 2, 255]);
  expect(consumed.timestamp).toBe(String(Date.parse(timestamp)));
  expect(Object.fromEntries(Object.entries(consumed.headers ?? {}).map(([k, v]) => [k, String(v)]))).toEqual({
    trace: 'abc',
    empty: '',
  });
  const read = await kcat([
    '-C',
    '-b',
    BOOTSTRAP,
    '-t',
    OPEN,
    '-p',
    '2',
    '-o',
    String(body.offset),
    '-c',
    '1',
    '-e',
    '-f',
    '%k|%T|%h',
  ]);
  expect(read.stdout.trim()).toBe(`order-7|${Date.parse(timestamp)}|trace=abc,empty=`);
});

test('a keyed record goes where a Kafka client would put it; JSON is the default type', async () => {
  const answers = await Promise.all(
    [1, 2, 3].map(() =>
      post(
        records(OPEN),
        JSON.stringify({ key: { type: 'STRING', data: 'same-key' }, value: { data: { a: 1 } } }),
      ),
    ),
  );
  const partitions = answers.map((a) => JSON.parse(a.text).partition_id as number);
  expect(new Set(partitions).size).toBe(1);
  const offsets = answers.map((a) => JSON.parse(a.text).offset as number).sort((x, y) => x - y);
  expect(new Set(offsets).size).toBe(3);
  const stored = (await readPartition(OPEN, partitions[0])).records.filter(
    (r) => r.key?.toString() === 'same-key',
  );
  expect(stored.map((r) => r.value?.toString())).toEqual(['{"a":1}', '{"a":1}', '{"a":1}']);
  expect(stored.map((r) => Number(r.offset))).toEqual(offsets);
});

test('contracts: a valid record passes, an invalid one is tagged, or refused with 422 and reasons', async () => {
  expect((await post(records(TAGGED), JSON.stringify({ value: { data: { lumens: 5 } } }))).status).toBe(200);
  const tagged = await post(records(TAGGED), JSON.stringify({ value: { data: { lumens: -5 } } }));
  expect(tagged.status).toBe(200);
  const offset = BigInt(JSON.parse(tagged.text).offset);
  const stored = (await readPartition(TAGGED)).records.find((r) => r.offset === offset)!;
  expect(stored.headers.map((h) => h.key)).toContain(VALIDATION_HEADER);

  const refused = await post(records(STRICT), JSON.stringify({ value: { data: { lumens: 'x' } } }));
  expect(refused.status).toBe(422);
  expect(JSON.parse(refused.text)).toMatchObject({
    status: 422,
    error_code: 422,
    errors: [expect.stringContaining('lumens')],
  });
  expect((await readPartition(STRICT)).records).toHaveLength(0);

  const metrics = await (await fetch(`http://127.0.0.1:${PORT + 10}/metrics`)).text();
  expect(
    metricSample(metrics, 'event_gateway_records_total', {
      topic: TAGGED,
      outcome: 'invalid_tagged',
      door: 'http',
    }),
  ).toBe(1);
  expect(
    metricSample(metrics, 'event_gateway_records_total', {
      topic: STRICT,
      outcome: 'invalid_rejected',
      door: 'http',
    }),
  ).toBe(1);
});

test('streaming mode: one result per record, in order, each with its own code', async () => {
  const body = [
    JSON.stringify({ value: { data: { lumens: 1 } } }),
    '{"value": nope}',
    JSON.stringify({ value: { data: { lumens: 'bad' } } }),
    JSON.stringify({ value: { type: 'BINARY', data: '***' } }),
    JSON.stringify({ value: { data: { lumens: 2 } } }),
  ].join('\n');
  const answer = await post(records(STRICT), body);
  expect(answer.status).toBe(200);
  expect(answer.type).toMatch(/^application\/x-ndjson/);
  const results = answer.text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { error_code: number });
  expect(results.map((r) => r.error_code)).toEqual([200, 400, 422, 400, 200]);
});

test('refusals: unknown topic or cluster 404, bad records 400, too large 413', async () => {
  expect((await post(records(uniqueTopic('missing')), '{"value": {"data": 1}}')).status).toBe(404);
  expect(
    (await post(records(OPEN), '{"value": {"data": 1}}', 'application/x-www-form-urlencoded')).status,
  ).toBe(415);
  expect(
    (await post(records(OPEN), '{"value": {"data": 1}}', 'application/json; charset=utf-8')).status,
  ).toBe(200);
  expect((await post(records(OPEN, 'wrong-cluster'), '{"value": {"data": 1}}')).status).toBe(404);
  expect((await post(records('bad name!'), '{}')).status).toBe(400);
  for (const bad of [
    '',
    '{',
    '[1]',
    '{"value": {"type": "AVRO", "data": 1}}',
    '{"partition_id": -1}',
    '{"timestamp": "never"}',
    '{"extra": 1}',
  ])
    expect([bad, (await post(records(OPEN), bad)).status]).toEqual([bad, 400]);
  expect((await post(records(OPEN), '{"partition_id": 99, "value": {"data": 1}}')).status).toBe(404);
  expect(
    (await post(records(OPEN), JSON.stringify({ value: { data: 'x'.repeat(2 * 1024 * 1024) } }))).status,
  ).toBe(413);
  expect((await post(records(OPEN), '['.repeat(10_000))).status).toBe(400);
  const many = Array.from({ length: 1001 }, () => '{"value": {"data": 1}}').join('\n');
  expect((await post(records(OPEN), many)).status).toBe(413);
});

test('a record the filter drops is answered 202 with dropped: true and not written', async () => {
  const dropped = await post(records(FILTERED), JSON.stringify({ value: { data: { test: true } } }));
  expect(dropped.status).toBe(202);
  expect(JSON.parse(dropped.text)).toMatchObject({ dropped: true });
  const kept = await post(records(FILTERED), JSON.stringify({ value: { data: { test: false } } }));
  expect(kept.status).toBe(200);
  expect((await readPartition(FILTERED)).records.map((r) => r.value?.toString())).toEqual(['{"test":false}']);
});

test('internal topics cannot be published to, whatever the grants', async () => {
  for (const topic of [tagging.config.state.topic, '__consumer_offsets']) {
    const answer = await post(
      records(topic),
      '{"key": {"type": "STRING", "data": "apikey/evil"}, "value": {"data": 1}}',
    );
    expect([topic, answer.status]).toEqual([topic, 403]);
    expect(JSON.parse(answer.text).error).toContain('internal');
  }
});

test('a record Kafka refuses in a batch shared with others refuses only itself; later records get their own offsets', async () => {
  const topic = uniqueTopic('rest-mixed');
  const admin = kafkaClient(BOOTSTRAP).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: 2,
        configEntries: [{ name: 'message.timestamp.after.max.ms', value: '3600000' }],
      },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const future = Date.parse('2100-01-01T00:00:00Z');
  const send = (partition: number, n: number, timestamp?: number) =>
    post(
      records(topic),
      JSON.stringify({ partition_id: partition, value: { data: { n } }, ...(timestamp && { timestamp }) }),
    );
  // Same partition and different partitions, each within one linger.
  const [good0, bad0, good1] = await Promise.all([send(0, 1), send(0, 2, future), send(1, 3)]);
  expect([good0.status, bad0.status, good1.status]).toEqual([200, 400, 200]);
  expect(JSON.parse(bad0.text)).toMatchObject({ kafka_error: 'INVALID_TIMESTAMP' });
  const [later0, later1] = await Promise.all([send(0, 4), send(1, 5)]);
  expect([later0.status, later1.status]).toEqual([200, 200]);
  for (const [partition, answers] of [
    [0, [good0, later0]],
    [1, [good1, later1]],
  ] as const) {
    const stored = (await readPartition(topic, partition)).records;
    const written = answers.map((a) => JSON.parse(a.text) as { offset: number });
    expect(stored.map((r) => [Number(r.offset), r.value?.toString()])).toEqual(
      written.map((w, i) => [w.offset, JSON.stringify({ n: partition === 0 ? [1, 4][i] : [3, 5][i] })]),
    );
  }
});
