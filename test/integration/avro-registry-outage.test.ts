/**
 * The schema registry stopped mid-stream, under two validating gateways (`unavailable: tag` and
 * `unavailable: reject`) that resolve Confluent-framed Avro ids against a registry instance of this
 * file's own: ids resolved before the outage keep being judged from the cache (also under
 * contracts uploaded during it, while the client's background refreshes fail), an id first seen
 * during it follows `schemaRegistry.unavailable`, and once the registry is back the same id
 * resolves. Verdicts are read straight from the broker.
 *
 * Ports: registry 27181; tag gateway 27220 (HTTP 27292), reject gateway 27230 (HTTP 27293).
 */
import * as avro from 'avsc';
import { type Producer } from 'kafkajs';
import { encode as confluentFrame } from '@kafkajs/confluent-schema-registry/dist/wireEncoder';
import { ErrorCode } from '../../src/protocol/error-codes';
import { kafkaClient, uniqueTopic } from './support/kafka-harness';
import { registerSchema, startRegistry, type OwnRegistry } from './support/schema-registry';
import {
  ADMIN_TOKEN,
  createTopics,
  metricSample,
  readPartitionUntil,
  startValidatingGateway,
  verdictOf,
  type ValidatingGateway,
} from './support/validating-gateway';

jest.setTimeout(600_000);

const USER_V1 = {
  type: 'record',
  name: 'User',
  namespace: 'test.outage',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'email', type: 'string' },
  ],
};
// A compatible evolution: another id the contract can read (compatibility: readable).
const USER_V2 = { ...USER_V1, fields: [...USER_V1.fields, { name: 'team', type: 'string', default: '' }] };
const v1 = avro.Type.forSchema(USER_V1 as avro.Schema);
const v2 = avro.Type.forSchema(USER_V2 as avro.Schema);

function spec(topic: string): string {
  return `asyncapi: 3.0.0
info: {title: ${topic}, version: '1'}
channels:
  users:
    address: ${topic}
    messages:
      user:
        bindings:
          kafka:
            schemaIdLocation: payload
            schemaIdPayloadEncoding: confluent
        payload:
          schemaFormat: application/vnd.apache.avro+json;version=1.9.0
          schema: ${JSON.stringify(USER_V1)}
`;
}

let registry: OwnRegistry;
let tagging: ValidatingGateway;
let rejecting: ValidatingGateway;

beforeAll(async () => {
  registry = await startRegistry({ name: 'avro-outage-test', port: 27181, fresh: true });
  // refreshMs 0: every use of a cached schema also asks the registry again in the background, so
  // during the outage those refreshes fail and the cached schema must stay in use regardless.
  const settings = { url: registry.url, timeoutMs: 1_000, refreshMs: 0, compatibility: 'readable' as const };
  [tagging, rejecting] = await Promise.all([
    startValidatingGateway({
      bootstrapPort: 27220,
      httpPort: 27292,
      adminToken: ADMIN_TOKEN,
      schemaRegistry: { ...settings, unavailable: 'tag' },
    }),
    startValidatingGateway({
      bootstrapPort: 27230,
      httpPort: 27293,
      adminToken: ADMIN_TOKEN,
      schemaRegistry: { ...settings, unavailable: 'reject' },
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([tagging?.stop(), rejecting?.stop()]);
  await registry?.destroy();
});

async function send(gateway: ValidatingGateway, topic: string, value: Buffer): Promise<unknown> {
  const producer: Producer = kafkaClient(gateway.bootstrap, 'avro-registry-outage-test').producer({
    allowAutoTopicCreation: false,
    retry: { retries: 0 },
  });
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ value }] });
    return null;
  } catch (e: unknown) {
    return e;
  } finally {
    await producer.disconnect();
  }
}

async function unavailableCount(gateway: ValidatingGateway): Promise<number> {
  const metrics = await gateway.http('GET', '/metrics');
  return metricSample(metrics.text, 'event_gateway_schema_registry_unavailable_total', {});
}

test('known ids are judged from the cache while the registry is down; a new id follows `unavailable`, then resolves', async () => {
  const tagTopic = uniqueTopic('avro-outage-tag');
  const rejectTopic = uniqueTopic('avro-outage-reject');
  // Contracts uploaded during the outage, one after the other: they have no verdicts of their own
  // yet, so the known id comes from the registry client's cache, and the first one's use of it
  // starts a refresh that fails before the second one asks.
  const late = (gateway: string) => [1, 2].map((n) => uniqueTopic(`avro-outage-late${n}-${gateway}`));
  const lateTopics = new Map([
    [tagging, late('tag')],
    [rejecting, late('reject')],
  ]);
  await createTopics([tagTopic, rejectTopic, ...[...lateTopics.values()].flat()]);
  await tagging.putSpec(tagTopic, spec(tagTopic));
  await rejecting.putSpec(rejectTopic, spec(rejectTopic));
  const known = await registerSchema(registry, `${tagTopic}-value`, USER_V1);
  // Registered before the outage but not seen by the gateways until during it.
  const fresh = await registerSchema(registry, `${tagTopic}-evolved`, USER_V2);
  expect(fresh).not.toBe(known);
  const knownRecord = (n: number) => confluentFrame(known, v1.toBuffer({ id: n, email: `${n}@example.com` }));
  const freshRecord = (n: number) =>
    confluentFrame(fresh, v2.toBuffer({ id: n, email: `${n}@example.com`, team: 'core' }));

  // Before: the known id is looked up and cached by both gateways.
  for (const gateway of [tagging, rejecting])
    expect(await send(gateway, gateway === tagging ? tagTopic : rejectTopic, knownRecord(1))).toBeNull();
  expect(await unavailableCount(tagging)).toBe(0);
  expect(await unavailableCount(rejecting)).toBe(0);

  await registry.stop();

  // During: the known id still passes; the new one cannot be checked.
  expect(await send(tagging, tagTopic, knownRecord(2))).toBeNull();
  expect(await send(tagging, tagTopic, freshRecord(3))).toBeNull();
  expect(await send(rejecting, rejectTopic, knownRecord(2))).toBeNull();
  const refused = await send(rejecting, rejectTopic, freshRecord(3));
  expect(refused).toMatchObject({ type: 'INVALID_RECORD', code: ErrorCode.InvalidRecord });
  for (const [gateway, topics] of lateTopics) {
    for (const topic of topics) {
      await gateway.putSpec(topic, spec(topic));
      expect(await send(gateway, topic, knownRecord(5))).toBeNull();
    }
  }
  expect(await unavailableCount(tagging)).toBeGreaterThanOrEqual(1);
  expect(await unavailableCount(rejecting)).toBeGreaterThanOrEqual(1);
  for (const gateway of [tagging, rejecting])
    expect(gateway.logs.lines.some((line) => line.msg === 'schema registry unavailable')).toBe(true);

  // After: the registry answers again (a start takes seconds, longer than an unavailable answer is
  // remembered), and the new id resolves.
  await registry.start();
  expect(await send(tagging, tagTopic, freshRecord(4))).toBeNull();
  expect(await send(rejecting, rejectTopic, freshRecord(4))).toBeNull();

  const tagged = await readPartitionUntil(tagTopic, 0, 4);
  const verdicts = tagged.records.map((record) => verdictOf(record)?.errors ?? null);
  expect(verdicts).toHaveLength(4);
  expect([verdicts[0], verdicts[1], verdicts[3]]).toEqual([null, null, null]);
  expect(verdicts[2]).toHaveLength(1);
  expect(verdicts[2]![0]).toMatch(
    new RegExp(`^\\(root\\): schema registry unavailable \\(.+\\); schema id ${fresh} not checked$`),
  );
  expect(tagged.records[2].value).toEqual(freshRecord(3));

  for (const topic of [...lateTopics.values()].flat()) {
    const stored = await readPartitionUntil(topic, 0, 1);
    expect(stored.records.map((record) => record.value)).toEqual([knownRecord(5)]);
    expect(verdictOf(stored.records[0])).toBeNull();
  }

  const stored = await readPartitionUntil(rejectTopic, 0, 3);
  expect(stored.records.map((record) => record.value)).toEqual([
    knownRecord(1),
    knownRecord(2),
    freshRecord(4),
  ]);
  expect(stored.records.map((record) => verdictOf(record))).toEqual([null, null, null]);
});
