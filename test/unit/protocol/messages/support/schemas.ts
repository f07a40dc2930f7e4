/**
 * Schema-driven fast-check arbitraries for the generated message codecs. They walk
 * src/protocol/messages/generated/schemas.json, the generator's parsed view of Kafka's definitions,
 * so they share its reading of the definitions but none of its code emission: a slip in the
 * emitted codecs fails a round trip, while a misreading of the definitions would be shared, and is
 * what the hand-written vectors in known-vectors.test.ts guard against.
 *
 * A generated message is exactly what a decoder returns for its encoding: fields absent from the
 * version hold their default, nulls appear only where the version allows them, unknown tagged
 * fields never reuse a tag the version knows, and known tagged fields sometimes carry their default
 * explicitly (listed in explicitDefaultTags), the case Kafka's own encoders never produce.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import * as messages from '../../../../../src/protocol/messages';
import type { Reader, Writer } from '../../../../../src/protocol/primitives';

type Range = [number, number];

export interface FieldSchema {
  name: string;
  type: string;
  items?: string;
  struct?: string;
  versions: Range;
  nullableVersions?: Range;
  /** Whether null can occur at some version the field is read at (absent: never). */
  nullable?: boolean;
  taggedVersions?: Range;
  tag?: number;
  /** Overrides the message's flexible versions (RequestHeader.ClientId: null, never compact). */
  flexibleVersions?: Range | null;
  default?: unknown;
}

export interface StructSchema {
  versions: Range;
  fields: FieldSchema[];
}

export interface MessageSchema {
  name: string;
  type: 'request' | 'response' | 'header';
  apiKey: number | null;
  module: string;
  validVersions: Range;
  flexibleVersions: Range | null;
  taggedFieldsSection: boolean;
  root: string;
  decode: string;
  encode: string;
  structs: Record<string, StructSchema>;
}

const SCHEMA_FILE = join(__dirname, '../../../../../src/protocol/messages/generated/schemas.json');

export const SCHEMAS: MessageSchema[] = (
  JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { messages: MessageSchema[] }
).messages;

export function versionsOf(schema: MessageSchema): number[] {
  const out: number[] = [];
  for (let v = schema.validVersions[0]; v <= schema.validVersions[1]; v++) out.push(v);
  return out;
}

/** Runs a check per version, naming message and version in the failure (one jest test per message). */
export function forEachVersion(schema: MessageSchema, check: (version: number) => void): void {
  for (const version of versionsOf(schema)) {
    try {
      check(version);
    } catch (error) {
      if (error instanceof Error) error.message = `${schema.name} v${version}: ${error.message}`;
      throw error;
    }
  }
}

export function inRange(range: Range | null | undefined, version: number): boolean {
  return range != null && version >= range[0] && version <= range[1];
}

export type Message = Record<string, unknown>;
type Decode = (reader: Reader, version: number) => Message;
type Encode = (writer: Writer, message: Message, version: number) => void;

const codecs = messages as unknown as Record<string, unknown>;

export function codecOf(schema: MessageSchema): { decode: Decode; encode: Encode } {
  const decode = codecs[schema.decode];
  const encode = codecs[schema.encode];
  if (typeof decode !== 'function' || typeof encode !== 'function') {
    throw new Error(`${schema.name}: ${schema.decode}/${schema.encode} not exported`);
  }
  return { decode: decode as Decode, encode: encode as Encode };
}

// ---------------------------------------------------------------------------------------------
// Defaults

export function defaultValue(schema: MessageSchema, field: FieldSchema): unknown {
  if (field.default === null) return null;
  switch (field.type) {
    case 'array':
      return [];
    case 'struct':
      return defaultStruct(schema, field.struct!);
    case 'int64':
      return BigInt(field.default as string);
    case 'bytes':
      return Buffer.alloc(0);
    case 'records':
      return field.nullable === true ? null : Buffer.alloc(0);
    default:
      return field.default;
  }
}

export function defaultStruct(schema: MessageSchema, name: string): Message {
  const out: Message = {};
  for (const f of schema.structs[name].fields) out[f.name] = defaultValue(schema, f);
  if (schema.taggedFieldsSection) out.unknownTaggedFields = [];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Any code point but a lone surrogate, so that UTF-8 round trips exactly. (fast-check's 'binary'
 * unit draws the same, but builds a map of all 1.1M code points the first time it shrinks.)
 */
const CODE_POINT = fc
  .oneof(
    fc.integer({ min: 0, max: 0x7f }),
    fc.integer({ min: 0x80, max: 0xd7ff }),
    fc.integer({ min: 0xe000, max: 0x10ffff }),
  )
  .map((c) => String.fromCodePoint(c));

// Arbitraries are immutable, and building fast-check's string and bigint ones costs far more
// than drawing from them: share one per type.
const scalarArbitraries = new Map<string, fc.Arbitrary<unknown>>();

function scalarArbitrary(type: string): fc.Arbitrary<unknown> {
  let arbitrary = scalarArbitraries.get(type);
  if (!arbitrary) scalarArbitraries.set(type, (arbitrary = newScalarArbitrary(type)));
  return arbitrary;
}

function newScalarArbitrary(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'uint16':
      return fc.integer({ min: 0, max: 0xffff });
    case 'int32':
      return fc.integer();
    case 'uint32':
      return fc.integer({ min: 0, max: 0xffffffff });
    case 'int64':
      return fc.bigInt({ min: INT64_MIN, max: INT64_MAX });
    case 'float64':
      return fc.double();
    case 'bool':
      return fc.boolean();
    case 'uuid':
      return fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
    case 'string':
      return fc.string({ unit: CODE_POINT, maxLength: 6 });
    case 'bytes':
    case 'records':
      return fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b));
    default:
      throw new Error(`no arbitrary for ${type}`);
  }
}

type Cache = Map<string, fc.Arbitrary<Message>>;

function fieldValueArbitrary(
  schema: MessageSchema,
  field: FieldSchema,
  version: number,
  cache: Cache,
): fc.Arbitrary<unknown> {
  let base: fc.Arbitrary<unknown>;
  if (field.type === 'array') {
    const element =
      field.items === 'struct'
        ? structArbitrary(schema, field.struct!, version, cache)
        : scalarArbitrary(field.items!);
    base = fc.array(element, { maxLength: field.items === 'struct' ? 2 : 4 });
  } else if (field.type === 'struct') {
    base = structArbitrary(schema, field.struct!, version, cache);
  } else {
    base = scalarArbitrary(field.type);
  }
  return inRange(field.nullableVersions, version) ? fc.option(base, { nil: null, freq: 4 }) : base;
}

interface TaggedChoice {
  value: unknown;
  explicit: boolean;
}

const unknownTaggedFieldsArbitraries = new Map<string, fc.Arbitrary<{ tag: number; data: Buffer }[]>>();

function unknownTaggedFieldsArbitrary(knownTags: Set<number>): fc.Arbitrary<{ tag: number; data: Buffer }[]> {
  const key = [...knownTags].join(',');
  let arbitrary = unknownTaggedFieldsArbitraries.get(key);
  if (!arbitrary)
    unknownTaggedFieldsArbitraries.set(key, (arbitrary = newUnknownTaggedFieldsArbitrary(knownTags)));
  return arbitrary;
}

function newUnknownTaggedFieldsArbitrary(
  knownTags: Set<number>,
): fc.Arbitrary<{ tag: number; data: Buffer }[]> {
  const tag = fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 0x7fffffff }));
  return fc
    .uniqueArray(
      tag.filter((t) => !knownTags.has(t)),
      { maxLength: 3 },
    )
    .chain((tags) =>
      fc.tuple(
        ...tags
          .sort((a, b) => a - b)
          .map((t) => fc.uint8Array({ maxLength: 6 }).map((d) => ({ tag: t, data: Buffer.from(d) }))),
      ),
    );
}

export function structArbitrary(
  schema: MessageSchema,
  name: string,
  version: number,
  cache: Cache = new Map(),
): fc.Arbitrary<Message> {
  const key = `${name}@${version}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const struct = schema.structs[name];
  const flexible = inRange(schema.flexibleVersions, version);
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  const tagged: FieldSchema[] = [];
  for (const field of struct.fields) {
    if (!inRange(field.versions, version)) {
      // Mapped rather than constant so that generated messages never share a default struct or array.
      parts[field.name] = fc.constant(null).map(() => defaultValue(schema, field));
      continue;
    }
    const value = fieldValueArbitrary(schema, field, version, cache);
    if (field.tag !== undefined && inRange(field.taggedVersions, version)) {
      tagged.push(field);
      parts[field.name] = fc.oneof(
        value.map((v): TaggedChoice => ({ value: v, explicit: false })),
        fc.boolean().map((explicit): TaggedChoice => ({ value: defaultValue(schema, field), explicit })),
      );
    } else {
      parts[field.name] = value;
    }
  }
  const knownTags = new Set(tagged.map((f) => f.tag!));
  if (schema.taggedFieldsSection) {
    parts.unknownTaggedFields = flexible ? unknownTaggedFieldsArbitrary(knownTags) : fc.constant([]);
  }
  const arbitrary = fc.record(parts).map((raw) => {
    const out: Message = { ...raw };
    const explicit: number[] = [];
    for (const field of tagged.sort((a, b) => a.tag! - b.tag!)) {
      const choice = raw[field.name] as TaggedChoice;
      out[field.name] = choice.value;
      if (choice.explicit) explicit.push(field.tag!);
    }
    if (explicit.length > 0) out.explicitDefaultTags = explicit;
    return out;
  });
  cache.set(key, arbitrary);
  return arbitrary;
}

export function messageArbitrary(schema: MessageSchema, version: number): fc.Arbitrary<Message> {
  return structArbitrary(schema, schema.root, version);
}
