/**
 * Records framed by Apicurio's own Java serializer against a real Apicurio Registry: the serializer
 * registers the schema itself, and the id it writes in front of each value (a content id by default,
 * a global id when told so) resolves through the gateway's registry client to that same schema.
 */
import { createLogger } from '../../src/observability/logger';
import { createSchemaRegistryClient } from '../../src/registry/schema-registry-client';
import type { SchemaRegistryClient } from '../../src/registry/schema-lookup';
import { produceWithApicurioSerde } from './support/apicurio-serde';
import { BOOTSTRAP, kafkaClient, readMessages, uniqueTopic } from './support/kafka-harness';
import { sharedRegistry, type RegistryHandle } from './support/schema-registry';

jest.setTimeout(300_000);

const SCHEMA = {
  type: 'record',
  name: 'Order',
  namespace: 'com.example.serde',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'note', type: 'string' },
  ],
};

let registry: RegistryHandle;
let client: SchemaRegistryClient;

beforeAll(async () => {
  registry = await sharedRegistry();
  client = createSchemaRegistryClient({
    url: registry.root,
    vendor: 'apicurio',
    timeoutMs: 5000,
    cacheSize: 100,
    refreshMs: 60_000,
    unknownTtlMs: 1000,
    logger: createLogger('silent'),
  });
});

afterAll(() => client?.close());

it.each([
  ['contentId', {}],
  ['globalId', { 'apicurio.registry.use-id': 'globalId' }],
] as const)('frames each value with a %s that resolves to the schema', async (idKind, settings) => {
  const topic = uniqueTopic(`apicurio-serde-${idKind}`);
  await produceWithApicurioSerde({
    bootstrap: BOOTSTRAP,
    registryUrl: `${registry.root}/apis/registry/v3`,
    topic,
    schema: SCHEMA,
    records: [
      { id: 1, note: 'a' },
      { id: 2, note: 'b' },
    ],
    settings,
  });
  const messages = await readMessages(kafkaClient(BOOTSTRAP), topic, 2);
  for (const message of messages) {
    const value = message.value!;
    // A magic byte 0, then a 4-byte big-endian id, then the Avro binary body.
    expect(value[0]).toBe(0);
    const id = value.readUInt32BE(1);
    const found = await client.lookup(id, idKind);
    expect(found).toMatchObject({ kind: 'found', schema: { id, idKind, schemaType: 'AVRO' } });
    expect(found.kind === 'found' && JSON.parse(found.schema.schema)).toEqual(SCHEMA);
  }
  // Record 1 ({id: 1, note: 'a'}): long 1 zigzag-encoded, then the string's length 1 (zigzag 2) and 'a'.
  const first = messages.find((m) => m.key?.toString() === 'k0')!;
  expect(first.value!.subarray(5)).toEqual(Buffer.from([0x02, 0x02, 0x61]));
});
