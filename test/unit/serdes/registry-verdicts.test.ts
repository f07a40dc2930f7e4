import * as avro from 'avsc';
import type { ChannelContract } from '../../../src/asyncapi/channel-contract';
import { compileContracts } from '../../../src/asyncapi/compile-contracts';
import { parseSpec } from '../../../src/asyncapi/parse-spec';
import { VALIDATION_ERROR_HEADER } from '../../../src/asyncapi/record-validator';
import type { SpecStore } from '../../../src/asyncapi/spec-store';
import type { ProduceContext, ProducedRecord, RecordVerdict } from '../../../src/pipeline/middleware';
import { validationMiddleware } from '../../../src/pipeline/validation-middleware';
import type { SchemaLookup, SchemaRegistryClient } from '../../../src/registry/schema-lookup';
import { SchemaRegistries, type SchemaRegistrySettings } from '../../../src/serdes/schema-registries';

const V1 = {
  type: 'record',
  name: 'User',
  fields: [
    { name: 'id', type: 'int' },
    { name: 'email', type: 'string' },
  ],
};
/** V1 with a field added with a default: V1 readers can read it. */
const V2 = { ...V1, fields: [...V1.fields, { name: 'plan', type: 'string', default: 'free' }] };
/** V1 with `id` turned into a string: V1 readers cannot read it. */
const BROKEN = { ...V1, fields: [{ name: 'id', type: 'string' }, V1.fields[1]] };

const SPEC = `asyncapi: 3.0.0
info: {title: users, version: '1'}
channels:
  users:
    address: users
    messages:
      user:
        bindings:
          kafka:
            schemaIdLocation: payload
            schemaIdPayloadEncoding: confluent
        payload:
          schemaFormat: application/vnd.apache.avro+json;version=1.9.0
          schema: ${JSON.stringify(V1)}
`;

/** A registry held in memory; `cached` knows only what `lookup` fetched, as a real client's cache. */
class FakeRegistry implements SchemaRegistryClient {
  readonly schemas = new Map<number, object>();
  down = false;
  lookups = 0;
  private readonly cache = new Map<number, SchemaLookup>();

  lookup(id: number): Promise<SchemaLookup> {
    this.lookups++;
    if (this.down) return Promise.resolve({ kind: 'unavailable', reason: 'connection refused' });
    const schema = this.schemas.get(id);
    const lookup: SchemaLookup =
      schema === undefined
        ? { kind: 'unknown', id }
        : {
            kind: 'found',
            schema: {
              idKind: 'confluent',
              id,
              schemaType: 'AVRO',
              schema: JSON.stringify(schema),
              references: [],
            },
          };
    if (lookup.kind === 'found') this.cache.set(id, lookup);
    return Promise.resolve(lookup);
  }

  cached(id: number): SchemaLookup | undefined {
    return this.cache.get(id);
  }

  close(): void {}
}

function framed(id: number, schema: object, value: object): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(id, 1);
  return Buffer.concat([head, avro.Type.forSchema(schema as avro.Schema).toBuffer(value)]);
}

class Verdict implements RecordVerdict {
  rejectedWith: string | null = null;
  headers: [string, string][] = [];
  label: string | null = null;
  reject(reason: string): void {
    this.rejectedWith = reason;
  }
  drop(): void {}
  addHeader(key: string, value: Buffer | string): void {
    this.headers.push([key, value.toString()]);
  }
  classify(outcome: string): void {
    this.label = outcome;
  }
  get rejected(): boolean {
    return this.rejectedWith !== null;
  }
  readonly dropped = false;
}

const context: ProduceContext = {
  door: 'kafka',
  clientId: 'unit',
  clientAddress: '127.0.0.1:1',
  acks: -1,
  transactionalId: null,
  apiVersion: 9,
};

let contract: ChannelContract;
beforeAll(async () => {
  [contract] = compileContracts('users', await parseSpec(SPEC, 'users.yml'));
});

function setup(settings: Partial<SchemaRegistrySettings> = {}) {
  const registry = new FakeRegistry();
  registry.schemas.set(1, V1);
  registry.schemas.set(2, V2);
  registry.schemas.set(3, BROKEN);
  const unavailable: string[] = [];
  const full: SchemaRegistrySettings = {
    url: 'http://registry.test',
    vendor: 'confluent',
    fromSpecs: false,
    compatibility: 'identical',
    unavailable: 'reject',
    cacheSize: 100,
    ...settings,
  };
  const registries = new SchemaRegistries(
    full,
    () => registry,
    (reason) => unavailable.push(reason),
  );
  const store = { contracts: () => ({ lookup: () => contract }) } as unknown as SpecStore;
  const middleware = validationMiddleware(store, {
    failWhenInvalid: false,
    topicsWithoutSpec: 'pass',
    registries,
    registryUnavailable: full.unavailable,
  });
  const judge = async (value: Buffer) => {
    const record = { topic: 'users', key: null, value, headers: [], json: () => ({ ok: true, data: null }) };
    const verdict = new Verdict();
    const result = middleware.onRecord(record as unknown as ProducedRecord, verdict, context);
    const waited = result !== undefined;
    await result;
    return { verdict, waited };
  };
  return { registry, judge, unavailable };
}

const user = { id: 1, email: 'a@b.c' };

describe('schema ids resolved against a registry', () => {
  it('accepts a record whose id is the contract schema; the second record of that id is judged without waiting', async () => {
    const { registry, judge } = setup();
    const first = await judge(framed(1, V1, user));
    expect(first.verdict.label).toBe('valid');
    expect(first.waited).toBe(true);
    const second = await judge(framed(1, V1, user));
    expect(second.verdict.label).toBe('valid');
    expect(second.waited).toBe(false);
    expect(registry.lookups).toBe(1);
  });

  it('tags a record with an unknown id, and one whose bytes do not decode', async () => {
    const { judge } = setup();
    const unknown = await judge(framed(99, V1, user));
    expect(unknown.verdict.label).toBe('invalid_tagged');
    expect(unknown.verdict.headers[0][0]).toBe(VALIDATION_ERROR_HEADER);
    expect(JSON.parse(unknown.verdict.headers[0][1]).errors).toEqual(['(root): unknown schema id 99']);
    const cut = framed(1, V1, user);
    const truncated = await judge(cut.subarray(0, cut.length - 2));
    expect(JSON.parse(truncated.verdict.headers[0][1]).errors).toEqual([
      '(root): at email: truncated payload',
    ]);
  });

  it('identical: refuses a registered schema other than the contract, even a compatible one', async () => {
    const { judge } = setup();
    const evolved = await judge(framed(2, V2, { ...user, plan: 'pro' }));
    expect(JSON.parse(evolved.verdict.headers[0][1]).errors).toEqual([
      "(root): schema 2 is not the contract's schema",
    ]);
  });

  it('readable: accepts a compatibly evolved schema, checking the bytes with it; refuses an incompatible one', async () => {
    const { judge } = setup({ compatibility: 'readable' });
    expect((await judge(framed(2, V2, { ...user, plan: 'pro' }))).verdict.label).toBe('valid');
    // Bytes of V1 under id 2 lack the `plan` field V2 writes: the writer's schema judges them.
    const wrongBytes = await judge(framed(2, V1, user));
    expect(JSON.parse(wrongBytes.verdict.headers[0][1]).errors).toEqual([
      '(root): at plan: truncated payload',
    ]);
    const broken = await judge(framed(3, BROKEN, { id: 'x', email: 'e' }));
    expect(JSON.parse(broken.verdict.headers[0][1]).errors).toEqual([
      "(root): schema 3 is not the contract's schema and the contract's cannot read it",
    ]);
  });

  it('registry down: the policy decides (reject, tag, pass), and each unanswered id is counted', async () => {
    for (const policy of ['reject', 'tag', 'pass'] as const) {
      const { registry, judge, unavailable } = setup({ unavailable: policy });
      registry.down = true;
      const { verdict } = await judge(framed(1, V1, user));
      if (policy === 'reject') {
        expect(verdict.rejectedWith).toMatch(/^\(root\): schema registry unavailable \(connection refused\)/);
        expect(verdict.label).toBe('invalid_rejected');
      } else if (policy === 'tag') {
        expect(verdict.label).toBe('invalid_tagged');
      } else {
        expect(verdict.label).toBe('valid');
        // Passed records are still decoded with the contract's schema.
        const cut = framed(1, V1, user);
        expect((await judge(cut.subarray(0, 7))).verdict.label).toBe('invalid_tagged');
      }
      expect(unavailable.length).toBeGreaterThan(0);
      // Back up: the next record is looked up again.
      registry.down = false;
      expect((await judge(framed(1, V1, user))).verdict.label).toBe('valid');
    }
  });
});
