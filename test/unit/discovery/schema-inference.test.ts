import fc from 'fast-check';
import { compileContracts } from '../../../src/asyncapi/compile-contracts';
import { validateRecord } from '../../../src/asyncapi/record-validator';
import { SpecStore } from '../../../src/asyncapi/spec-store';
import { draftAsyncApi, inferParts } from '../../../src/discovery/draft-asyncapi';
import { DEFAULT_SKETCH_LIMITS, inferSchema } from '../../../src/discovery/schema-sketch';
import type { Sample } from '../../../src/discovery/topic-samples';

/** The records a draft is inferred from, checked with the validator's own compile and read. */
function errorsUnderInference(samples: readonly Sample[], limits = DEFAULT_SKETCH_LIMITS): string[] {
  const parts = inferParts(samples, limits);
  const [contract] = compileContracts('draft', {
    asyncapi: '3.0.0',
    title: 'draft',
    version: '0.1.0',
    warnings: [],
    channels: [
      {
        id: 'topic',
        topic: 'topic',
        failWhenInvalid: undefined,
        messages: [
          {
            name: 'record',
            schemaFormat: 'application/vnd.aai.asyncapi+json;version=3.0.0',
            payload: parts.payload,
            headers: parts.headers,
            key: parts.key,
          },
        ],
      },
    ],
  });
  return samples.flatMap((sample) => validateRecord(contract, sample) ?? []);
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const sample = (
  value: unknown,
  key: string | null = null,
  headers: [string, string | null][] = [],
): Sample => ({
  value: value === undefined ? null : json(value),
  key: key === null ? null : Buffer.from(key),
  headers: headers.map(([k, v]) => ({ key: k, value: v === null ? null : Buffer.from(v) })),
});

const formatted = fc.oneof(
  fc.uuid(),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  fc.emailAddress(),
  fc.webUrl(),
  fc.ipV4(),
  fc.ipV6(),
  fc.constantFrom('created', 'updated', 'deleted'),
);
const leaf = fc.oneof(formatted, fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const value = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  {
    weight: 3,
    arbitrary: fc.record(
      { id: fc.uuid(), at: formatted, kind: leaf, tags: fc.array(leaf, { maxLength: 4 }), n: leaf },
      { requiredKeys: ['id'] },
    ),
  },
);
const key = fc.oneof(
  fc.constant(null),
  fc.uuid(),
  fc.string(),
  fc.integer().map(String),
  fc.record({ id: fc.integer() }).map((k) => JSON.stringify(k)),
);
const headers = fc.array(
  fc.tuple(
    fc.constantFrom('traceparent', 'source', 'content-type', 'x'),
    fc.option(formatted, { nil: null }),
  ),
  { maxLength: 4 },
);
const samples = fc.array(
  fc.tuple(fc.option(value, { nil: undefined }), key, headers).map(([v, k, h]) => sample(v, k, h)),
  { minLength: 1, maxLength: 30 },
);

describe('schema inference', () => {
  it('accepts every sample it was inferred from (values, keys, headers)', () => {
    fc.assert(
      fc.property(samples, (records) => {
        expect(errorsUnderInference(records)).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  it('accepts every sample under tight limits too (depth, properties, enums)', () => {
    const tight = {
      maxDepth: 2,
      maxProperties: 2,
      enumMaxValues: 2,
      enumMinStrings: 2,
      enumMinRepeats: 1,
      enumMaxLength: 5,
    };
    fc.assert(
      fc.property(samples, (records) => {
        expect(errorsUnderInference(records, tight)).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it('types, nests, requires fields present in every sample, and finds formats', () => {
    const schema = inferSchema([
      { id: 'a0c5b6a2-6d2b-4a53-9c1e-4d9e0c3c1f10', at: '2026-12-03T14:00:00Z', by: 'a@example.com', n: 1 },
      {
        id: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
        at: '2026-12-03T14:00:01.5+01:00',
        n: 2.5,
        site: 'https://example.com/x',
        list: [{ a: 1 }, { a: 2, b: 'x' }],
      },
    ]);
    expect(schema).toEqual({
      type: 'object',
      properties: {
        id: { type: 'string', format: 'uuid' },
        at: { type: 'string', format: 'date-time' },
        by: { type: 'string', format: 'email' },
        n: { type: 'number' },
        site: { type: 'string', format: 'uri' },
        list: {
          type: 'array',
          items: {
            type: 'object',
            properties: { a: { type: 'integer' }, b: { type: 'string' } },
            required: ['a'],
          },
        },
      },
      required: ['id', 'at', 'n'],
    });
  });

  it('gives no format when one string does not have it, and none to words ajv would call URIs', () => {
    expect(inferSchema(['2026-12-03T14:00:00Z', 'soon'])).toEqual({ type: 'string' });
    expect(inferSchema(['a:b', 'urn:x'])).toEqual({ type: 'string' });
    // date-time without a time zone is not an RFC 3339 date-time, so ajv-formats refuses it.
    expect(inferSchema(['2026-12-03T14:00:00'])).toEqual({ type: 'string' });
  });

  it('makes an enum of a few values seen often, with null when null was seen', () => {
    const often = Array.from({ length: 24 }, (_, i) => ['red', 'green', 'blue'][i % 3]);
    expect(inferSchema(often)).toEqual({ type: 'string', enum: ['red', 'green', 'blue'] });
    expect(inferSchema([...often, null])).toEqual({
      type: ['string', 'null'],
      enum: ['red', 'green', 'blue', null],
    });
    // Too few samples, too many values, or values of other types: no enum.
    expect(inferSchema(often.slice(0, 10))).toEqual({ type: 'string' });
    const many = Array.from({ length: 100 }, (_, i) => `v${i % 11}`);
    expect(inferSchema(many)).toEqual({ type: 'string' });
    expect(inferSchema([...often, 1])).toEqual({ type: ['string', 'integer'] });
  });

  it('stops at the depth limit, accepting anything below it', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    let schema = inferSchema([deep]) as Record<string, unknown>;
    let depth = 0;
    while (schema.items !== undefined) {
      schema = schema.items as Record<string, unknown>;
      depth++;
    }
    expect(depth).toBe(DEFAULT_SKETCH_LIMITS.maxDepth);
    expect(schema).toEqual({});
  });

  it('names at most maxProperties properties; the rest share additionalProperties', () => {
    const wide = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
    const schema = inferSchema([wide, { ...wide, k999: 'x', $ref: 'y' }]) as {
      properties: Record<string, unknown>;
      additionalProperties: unknown;
    };
    expect(Object.keys(schema.properties)).toHaveLength(DEFAULT_SKETCH_LIMITS.maxProperties);
    expect(schema.additionalProperties).toEqual({ type: ['string', 'integer'] });
  });

  it('keeps a field named __proto__ a field', () => {
    const schema = inferSchema([JSON.parse('{"__proto__": {"x": 1}}')]) as { properties: object };
    expect(Object.keys(schema.properties)).toEqual(['__proto__']);
  });

  it('is linear: a large array of objects costs about ten times a tenth of it', () => {
    const items = Array.from({ length: 200_000 }, (_, i) => ({ id: i, name: `n${i}`, at: '2026-12-03' }));
    const time = (values: unknown[]) => {
      const start = process.hrtime.bigint();
      inferSchema([values]);
      return Number(process.hrtime.bigint() - start);
    };
    time(items.slice(0, 1000));
    // Inputs 10x apart and a bound of 40: a collection pause on a busy machine stays inside it,
    // while quadratic work (100x) does not.
    const tenth = Math.min(time(items.slice(0, 20_000)), time(items.slice(0, 20_000)));
    const full = Math.min(time(items), time(items));
    expect(full / tenth).toBeLessThan(40);
  });
});

describe('keys and values as the validator reads them', () => {
  it('reads string keys as text (with their format), JSON object keys as JSON', () => {
    const ids = ['a0c5b6a2-6d2b-4a53-9c1e-4d9e0c3c1f10', '1b4e28ba-2fa1-11d2-883f-0016d3cca427'];
    expect(inferParts(ids.map((id) => sample({}, id))).key).toEqual({ type: 'string', format: 'uuid' });
    expect(inferParts([sample({}, '42'), sample({}, null)]).key).toEqual({ type: ['string', 'null'] });
    expect(inferParts([sample({}, '{"id": 1}'), sample({}, '{"id": 2}')]).key).toEqual({
      type: 'object',
      properties: { id: { type: 'integer' } },
      required: ['id'],
    });
  });

  it('leaves the payload unchecked when a value is not JSON, the key when one is not UTF-8', () => {
    const parts = inferParts([
      sample({ a: 1 }),
      { value: Buffer.from('not json'), key: Buffer.from([0xff, 0xfe]), headers: [] },
    ]);
    expect(parts.payload).toBeNull();
    expect(parts.key).toBeNull();
    expect(parts.nonJsonValues).toBe(1);
  });

  it('describes headers by name, required when on every record', () => {
    const parts = inferParts([
      sample({}, null, [
        ['source', 'a'],
        ['trace', null],
      ]),
      sample({}, null, [
        ['source', 'b'],
        ['source', 'ignored'],
      ]),
    ]);
    expect(parts.headerNames).toEqual(['source', 'trace']);
    expect(parts.headers).toEqual({
      type: 'object',
      properties: { source: { type: 'string' }, trace: { type: 'null' } },
      required: ['source'],
    });
  });
});

describe('the draft document', () => {
  const records = [
    sample({ id: 'a0c5b6a2-6d2b-4a53-9c1e-4d9e0c3c1f10', kind: 'a', at: '2026-12-03T14:00:00Z' }, 'k1', [
      ['source', 'x'],
    ]),
    sample({ id: '1b4e28ba-2fa1-11d2-883f-0016d3cca427', kind: 'b', extra: [1, 2.5] }, 'k2'),
    sample(undefined, null),
  ];
  const sampling = { topic: 'orders.v1', seen: 3, sampled: 3, oversized: 0, lastSeenAt: '' };

  it('is accepted by the gateway and accepts every sampled record', async () => {
    const store = new SpecStore();
    await store.put('discovered', JSON.stringify(draftAsyncApi(sampling, records)), 'api');
    const contract = store.contracts().lookup('orders.v1')!;
    expect(contract).toBeDefined();
    expect(contract.messages[0].key).not.toBeNull();
    expect(contract.messages[0].headers).not.toBeNull();
    for (const record of records) expect(validateRecord(contract, record)).toBeNull();
    expect(validateRecord(contract, sample({ id: 7, kind: 'a' }, 'k3'))).not.toBeNull();
    expect(validateRecord(contract, sample({ kind: 'a' }, 'k3'))).not.toBeNull();
  });
});
