/**
 * Avro and Protobuf contracts end to end: kafkajs produces through the gateway to the real broker,
 * records framed as Confluent's serializers frame them (@kafkajs/confluent-schema-registry's wire
 * encoder), and what landed is read straight from the broker. Without a registry the bytes are
 * checked by decoding them with the contract's schema; with one (SCHEMA_REGISTRY_URL, a
 * Confluent-compatible API such as Apicurio's /apis/ccompat/v7) the ids are resolved against it.
 * A registry that does not answer is a closed port on loopback.
 *
 * Ports: tag gateway 27100 (HTTP 27190), reject gateway 27110 (27191), gateway with a registry
 * that does not answer 27120 (27192), gateway with SCHEMA_REGISTRY_URL 27130 (27193); 27199 is
 * kept closed.
 */
import * as avro from 'avsc';
import * as protobuf from 'protobufjs';
import { KafkaJSProtocolError, type Producer } from 'kafkajs';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { encode as confluentFrame } from '@kafkajs/confluent-schema-registry/dist/wireEncoder';
import { ErrorCode } from '../../src/protocol/error-codes';
import { kafkaClient, uniqueTopic } from './support/kafka-harness';
import {
  ADMIN_TOKEN,
  createTopics,
  metricSample,
  readPartitionUntil,
  startValidatingGateway,
  verdictOf,
  type ValidatingGateway,
} from './support/validating-gateway';

jest.setTimeout(60_000);

const REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL;
const CLOSED_REGISTRY = 'http://127.0.0.1:27199';

const USER_V1 = {
  type: 'record',
  name: 'User',
  namespace: 'test.avro',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'email', type: 'string' },
    { name: 'plan', type: ['null', { type: 'enum', name: 'Plan', symbols: ['FREE', 'PRO'] }], default: null },
  ],
};
const USER_V2 = { ...USER_V1, fields: [...USER_V1.fields, { name: 'team', type: 'string', default: '' }] };
const USER_BROKEN = { ...USER_V1, fields: [{ name: 'id', type: 'string' }, ...USER_V1.fields.slice(1)] };
const KEY_SCHEMA = {
  type: 'record',
  name: 'UserKey',
  namespace: 'test.avro',
  fields: [{ name: 'id', type: 'long' }],
};
const user = avro.Type.forSchema(USER_V1 as avro.Schema);
const userKey = avro.Type.forSchema(KEY_SCHEMA as avro.Schema);

const PROTO = `syntax = "proto3";
package test.proto;
message Order {
  string id = 1;
  int64 cents = 2;
  repeated string tags = 3;
}
`;
const Order = protobuf.parse(PROTO).root.lookupType('test.proto.Order');

function avroSpec(topic: string, reject = false): string {
  return `asyncapi: 3.0.0
info: {title: ${topic}, version: '1'}
channels:
  users:
    address: ${topic}
    ${reject ? 'x-eg-fail-when-invalid: true' : ''}
    messages:
      user:
        bindings:
          kafka:
            schemaIdLocation: payload
            schemaIdPayloadEncoding: confluent
            key:
              schemaFormat: application/vnd.apache.avro+json;version=1.9.0
              schema: ${JSON.stringify(KEY_SCHEMA)}
        payload:
          schemaFormat: application/vnd.apache.avro+json;version=1.9.0
          schema: ${JSON.stringify(USER_V1)}
`;
}

function protoSpec(topic: string): string {
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
          schemaFormat: application/vnd.google.protobuf;version=3
          schema: |
${PROTO.split('\n')
  .map((line) => `            ${line}`)
  .join('\n')}
`;
}

let tagging: ValidatingGateway;
let rejecting: ValidatingGateway;
let unanswered: ValidatingGateway;

beforeAll(async () => {
  [tagging, rejecting, unanswered] = await Promise.all([
    startValidatingGateway({ bootstrapPort: 27100, httpPort: 27190, adminToken: ADMIN_TOKEN }),
    startValidatingGateway({ bootstrapPort: 27110, httpPort: 27191, adminToken: ADMIN_TOKEN }),
    startValidatingGateway({
      bootstrapPort: 27120,
      httpPort: 27192,
      adminToken: ADMIN_TOKEN,
      schemaRegistry: { url: CLOSED_REGISTRY, unavailable: 'reject', timeoutMs: 1_000 },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([tagging?.stop(), rejecting?.stop(), unanswered?.stop()]);
});

async function topicWith(gateway: ValidatingGateway, prefix: string, spec: (topic: string) => string) {
  const topic = uniqueTopic(prefix);
  await createTopics([topic]);
  const answer = await gateway.http('PUT', `/specs/${topic}`, { body: spec(topic) });
  expect(answer.status).toBe(201);
  return topic;
}

async function withProducer<T>(
  gateway: ValidatingGateway,
  use: (producer: Producer) => Promise<T>,
): Promise<T> {
  const producer = kafkaClient(gateway.bootstrap, 'avro-protobuf-test').producer({
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  try {
    return await use(producer);
  } finally {
    await producer.disconnect();
  }
}

const good = { id: 7, email: 'a@example.com', plan: 'PRO' };
const goodValue = confluentFrame(11, user.toBuffer(good));
const goodKey = confluentFrame(12, userKey.toBuffer({ id: 7 }));

describe('Avro records without a registry: checked by decoding them with the contract', () => {
  test('valid records arrive as sent; invalid ones are tagged, each with its reason', async () => {
    const topic = await topicWith(tagging, 'avro-tag', (t) => avroSpec(t));
    const body = user.toBuffer(good);
    const badUnion = Buffer.from(body);
    badUnion[badUnion.length - 2] = 0x06; // the plan's union index: 3 of 2 branches
    const sent = [
      { key: goodKey, value: goodValue },
      { key: goodKey, value: goodValue.subarray(0, goodValue.length - 3) },
      { key: goodKey, value: Buffer.concat([goodValue, Buffer.from([1, 2])]) },
      { key: goodKey, value: confluentFrame(11, badUnion) },
      { key: goodKey, value: user.toBuffer(good) },
      { key: Buffer.from('7'), value: goodValue },
    ];
    await withProducer(tagging, (producer) => producer.send({ topic, messages: sent }));
    const stored = await readPartitionUntil(topic, 0, sent.length);
    expect(stored.records.map((record) => verdictOf(record)?.errors ?? null)).toEqual([
      null,
      ['(root): at email: truncated payload'],
      ['(root): trailing bytes (2 after the value)'],
      ['(root): at plan: bad union index 3'],
      ['(root): missing magic byte (the schema id frame starts with 0)'],
      ['key: missing magic byte (the schema id frame starts with 0)'],
    ]);
    expect(stored.records[0].value).toEqual(goodValue);
    expect(stored.records[0].headers).toEqual([]);
  });

  test('a rejecting channel refuses the request with INVALID_RECORD and the reason', async () => {
    const topic = await topicWith(rejecting, 'avro-reject', (t) => avroSpec(t, true));
    const error = await withProducer(rejecting, (producer) =>
      producer.send({ topic, messages: [{ key: goodKey, value: goodValue.subarray(0, 6) }] }).then(
        () => null,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(KafkaJSProtocolError);
    expect(error).toMatchObject({ type: 'INVALID_RECORD', code: ErrorCode.InvalidRecord });
    await withProducer(rejecting, (producer) =>
      producer.send({ topic, messages: [{ key: goodKey, value: goodValue }] }),
    );
    const stored = await readPartitionUntil(topic, 0, 1);
    expect(stored.records).toHaveLength(1);
    expect(verdictOf(stored.records[0])).toBeNull();
  });
});

describe('Protobuf records without a registry, in the Confluent wire format', () => {
  test('message indexes then the message; a wrong wire type or missing indexes is tagged', async () => {
    const topic = await topicWith(tagging, 'proto-tag', protoSpec);
    const order = Buffer.from(
      Order.encode(Order.fromObject({ id: 'o-1', cents: 1250, tags: ['a'] })).finish(),
    );
    const sent = [
      // A single 0 byte: the message indexes of the schema's first message.
      { value: Buffer.concat([confluentFrame(21, Buffer.from([0])), order]) },
      { value: Buffer.concat([confluentFrame(21, Buffer.from([0])), Buffer.from([0x08, 0x01])]) },
      // @kafkajs/confluent-schema-registry's Protobuf encoding leaves the indexes out.
      { value: confluentFrame(21, order) },
    ];
    await withProducer(tagging, (producer) => producer.send({ topic, messages: sent }));
    const stored = await readPartitionUntil(topic, 0, sent.length);
    const errors = stored.records.map((record) => verdictOf(record)?.errors ?? null);
    expect(errors[0]).toBeNull();
    expect(errors[1]).toEqual(['(root): at id: wire type 0 where the schema expects 2']);
    expect(errors[2]).not.toBeNull();
  });
});

describe('a registry that does not answer', () => {
  test('unavailable: reject refuses the record, and the metric counts it', async () => {
    const topic = await topicWith(unanswered, 'avro-unanswered', (t) => avroSpec(t));
    const error = await withProducer(unanswered, (producer) =>
      producer.send({ topic, messages: [{ key: goodKey, value: goodValue }] }).then(
        () => null,
        (e: unknown) => e,
      ),
    );
    expect(error).toMatchObject({ type: 'INVALID_RECORD' });
    const metrics = await unanswered.http('GET', '/metrics');
    expect(metricSample(metrics.text, 'event_gateway_schema_registry_unavailable_total', {})).toBeGreaterThan(
      0,
    );
    expect(unanswered.logs.lines.some((line) => line.msg === 'schema registry unavailable')).toBe(true);
  });
});

(REGISTRY_URL === undefined ? describe.skip : describe)(
  'with a schema registry (SCHEMA_REGISTRY_URL)',
  () => {
    let gateway: ValidatingGateway;
    let registry: SchemaRegistry;

    beforeAll(async () => {
      registry = new SchemaRegistry({ host: REGISTRY_URL! });
      gateway = await startValidatingGateway({
        bootstrapPort: 27130,
        httpPort: 27193,
        adminToken: ADMIN_TOKEN,
        schemaRegistry: { url: REGISTRY_URL!, unavailable: 'tag', compatibility: 'readable' },
      });
    });

    afterAll(async () => {
      await gateway?.stop();
    });

    test('ids resolved: the contract schema, a compatible evolution, an incompatible one, an unknown id', async () => {
      const topic = await topicWith(gateway, 'avro-registry', (t) => avroSpec(t));
      const subject = `${topic}-value`;
      const v1 = await registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(USER_V1) },
        { subject },
      );
      const key = await registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(KEY_SCHEMA) },
        { subject: `${topic}-key` },
      );
      const v2 = await registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(USER_V2) },
        { subject: `${subject}-evolved` },
      );
      const broken = await registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(USER_BROKEN) },
        { subject: `${subject}-broken` },
      );
      const keyBytes = await registry.encode(key.id, { id: 7 });
      const sent = [
        { key: keyBytes, value: await registry.encode(v1.id, good) },
        { key: keyBytes, value: await registry.encode(v2.id, { ...good, team: 'core' }) },
        { key: keyBytes, value: await registry.encode(broken.id, { ...good, id: 'x' }) },
        { key: keyBytes, value: confluentFrame(2_000_000_000, user.toBuffer(good)) },
      ];
      await withProducer(gateway, (producer) => producer.send({ topic, messages: sent }));
      const stored = await readPartitionUntil(topic, 0, sent.length);
      expect(stored.records.map((record) => verdictOf(record)?.errors ?? null)).toEqual([
        null,
        null,
        [`(root): schema ${broken.id} is not the contract's schema and the contract's cannot read it`],
        ['(root): unknown schema id 2000000000'],
      ]);
    });
  },
);
