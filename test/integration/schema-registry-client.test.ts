/**
 * The gateway's registry client against a real Apicurio Registry (scripts/registry.sh): schemas
 * registered over the Confluent-compatible API are found by their ids through that API and
 * through Apicurio's own (global and content ids); a stopped registry is `unavailable`, not an
 * error, and the same ids are found again once it is back.
 */
import { createLogger } from '../../src/observability/logger';
import { createSchemaRegistryClient } from '../../src/registry/schema-registry-client';
import type { SchemaRegistryClient } from '../../src/registry/schema-lookup';
import { apicurioIds, registerSchema, startRegistry, type OwnRegistry } from './support/schema-registry';

jest.setTimeout(300_000);

// This file's own instance (it is stopped mid-test), on a port of its own.
const PORT = 27080;

const DEP = {
  type: 'record',
  name: 'Dep',
  namespace: 'com.example',
  fields: [{ name: 'y', type: 'string' }],
};
const ORDER = {
  type: 'record',
  name: 'Order',
  namespace: 'com.example',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'dep', type: 'com.example.Dep' },
  ],
};
const PROTO =
  'syntax = "proto3";\npackage com.example;\n\nmessage Shipment {\n  string id = 1;\n  int32 count = 2;\n}\n';

let registry: OwnRegistry;
let avroId: number;
let orderId: number;
let protoId: number;
const clients: SchemaRegistryClient[] = [];

function client(vendor: 'confluent' | 'apicurio', url: string): SchemaRegistryClient {
  const created = createSchemaRegistryClient({
    url,
    vendor,
    timeoutMs: 5000,
    cacheSize: 100,
    refreshMs: 60_000,
    unknownTtlMs: 1000,
    // Every lookup below must reach the registry: nothing is remembered across its restart.
    unavailableTtlMs: 0,
    logger: createLogger('silent'),
  });
  clients.push(created);
  return created;
}

beforeAll(async () => {
  registry = await startRegistry({ name: 'registry-client-test', port: PORT, fresh: true });
  avroId = await registerSchema(registry, 'dep-value', DEP);
  orderId = await registerSchema(registry, 'orders-value', ORDER, {
    references: [{ name: 'com.example.Dep', subject: 'dep-value', version: 1 }],
  });
  protoId = await registerSchema(registry, 'shipments-value', PROTO, { schemaType: 'PROTOBUF' });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await registry?.destroy();
});

it('finds Avro and Protobuf schemas by their Confluent ids, with references', async () => {
  const c = client('confluent', registry.url);
  expect(await c.lookup(avroId)).toEqual({
    kind: 'found',
    schema: {
      id: avroId,
      idKind: 'confluent',
      schemaType: 'AVRO',
      schema: JSON.stringify(DEP),
      references: [],
    },
  });
  expect(await c.lookup(orderId)).toMatchObject({
    kind: 'found',
    schema: {
      schemaType: 'AVRO',
      references: [{ name: 'com.example.Dep', subject: 'dep-value', version: 1 }],
    },
  });
  const proto = await c.lookup(protoId);
  expect(proto).toMatchObject({ kind: 'found', schema: { schemaType: 'PROTOBUF' } });
  expect(proto.kind === 'found' && proto.schema.schema).toContain('message Shipment');
  expect(await c.lookup(987_654)).toEqual({ kind: 'unknown', id: 987_654 });
});

it('finds them by Apicurio global and content ids through the registry root', async () => {
  const c = client('apicurio', registry.root);
  const order = await apicurioIds(registry, 'orders-value');
  const shipment = await apicurioIds(registry, 'shipments-value');
  expect(await c.lookup(order.globalId, 'globalId')).toMatchObject({
    kind: 'found',
    schema: {
      id: order.globalId,
      idKind: 'globalId',
      schemaType: 'AVRO',
      references: [{ name: 'com.example.Dep', subject: 'dep-value', version: 1 }],
    },
  });
  const byContent = await c.lookup(shipment.contentId, 'contentId');
  expect(byContent).toMatchObject({ kind: 'found', schema: { idKind: 'contentId', schemaType: 'PROTOBUF' } });
  expect(byContent.kind === 'found' && byContent.schema.schema).toContain('message Shipment');
  expect(await c.lookup(987_654, 'globalId')).toEqual({ kind: 'unknown', id: 987_654 });
  // Through the Confluent-compatible API of the same registry, named by its root.
  expect(await c.lookup(protoId)).toMatchObject({ kind: 'found', schema: { schemaType: 'PROTOBUF' } });
});

it('answers unavailable while the registry is stopped, keeps what it found, and finds again after', async () => {
  const c = client('confluent', registry.url);
  expect(await c.lookup(avroId)).toMatchObject({ kind: 'found' });
  await registry.stop();
  const down = await c.lookup(protoId);
  expect(down).toEqual({
    kind: 'unavailable',
    reason: expect.stringMatching(/could not be reached: ECONNREFUSED/),
  });
  // Already found: still served from the cache while the registry is away.
  expect(c.cached(avroId)).toMatchObject({ kind: 'found' });
  await registry.start();
  // The registry keeps its schemas across the restart: the same id names the same schema.
  expect(await c.lookup(protoId)).toMatchObject({
    kind: 'found',
    schema: { id: protoId, schemaType: 'PROTOBUF' },
  });
});
