import type * as avro from 'avsc';
import type * as protobuf from 'protobufjs';
import { parse as parseYaml } from 'yaml';
import { AvroCheck } from './avro-check';
import { ProtobufCheck } from './protobuf-check';
import type { Framing } from './schema-framing';

export type BinaryFormat = 'avro' | 'protobuf';

const AVRO_FORMATS = /^application\/vnd\.apache\.avro(\+json|\+yaml)?(;|$)/;
const PROTOBUF_FORMATS = /^application\/vnd\.google\.protobuf(;|$)/;

/** The binary format a schemaFormat names, or undefined for any other (JSON Schema and the rest). */
export function binaryFormatOf(schemaFormat: string): BinaryFormat | undefined {
  if (AVRO_FORMATS.test(schemaFormat)) return 'avro';
  if (PROTOBUF_FORMATS.test(schemaFormat)) return 'protobuf';
  return undefined;
}

/**
 * Longs as numbers when exact, as decimal text beyond 2^53: avsc refuses to decode them otherwise,
 * and the tap, discovery and the filter's patterns need a value, not an error.
 */
let longAsJson: avro.types.LongType | undefined;

/*
 * avsc and protobufjs load with the first Avro or Protobuf contract: most gateways never compile
 * one, and the proxy's garbage collector walks whatever the heap holds.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const avsc = (): typeof avro => require('avsc') as typeof avro;
const protobufjs = (): typeof protobuf => require('protobufjs') as typeof protobuf;
/* eslint-enable @typescript-eslint/no-require-imports */

function longAsJsonType(): avro.types.LongType {
  return (longAsJson ??= avsc().types.LongType.__with({
    fromBuffer: (buf: Buffer) => {
      const n = buf.readBigInt64LE();
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(n)
        : n.toString();
    },
    toBuffer: (n: number | string) => {
      const buf = Buffer.alloc(8);
      buf.writeBigInt64LE(BigInt(n));
      return buf;
    },
    fromJSON: (n: number | string) => n,
    toJSON: (n: number | string) => n,
    isValid: (n: unknown) => typeof n === 'number' || typeof n === 'string',
    compare: (a: number | string, b: number | string) =>
      BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0,
  }));
}

/** One schema (a contract's, or one a registry holds) compiled for checking and decoding bytes. */
export interface CompiledSchema {
  readonly format: BinaryFormat;
  /** Equal for two schemas exactly when they describe the same bytes (Avro: Parsing Canonical Form). */
  readonly canonical: string;
  /**
   * Null when buf[from, end) is one value of the schema, else why not. Protobuf: `indexes` are the
   * Confluent message indexes that pick the message type; null (unframed) means the schema's root
   * message, as the AsyncAPI Protobuf parser picks it.
   */
  check(buf: Buffer, from: number, end: number, indexes: readonly number[] | null): string | null;
  /** The value as JSON-friendly data, for the tap, discovery and patterns; call only after check passed. */
  decode(buf: Buffer, from: number, end: number, indexes: readonly number[] | null): unknown;
}

/** A contract's schema for one part of a message (value or key), with the framing its records use. */
export interface BinaryContract {
  readonly schema: CompiledSchema;
  readonly framing: Framing;
}

/** The Avro schema as written in a document: JSON or YAML text, or already data. */
function avroSchemaData(source: unknown): unknown {
  if (typeof source !== 'string') return source;
  const text = source.trim();
  // A bare type name ("string") is a schema too.
  if (/^[A-Za-z_][A-Za-z0-9_.]*$/.test(text)) return text;
  return parseYaml(text, { maxAliasCount: 100 }) as unknown;
}

class AvroSchema implements CompiledSchema {
  readonly format = 'avro';
  readonly canonical: string;
  readonly type: avro.Type;
  private readonly checker: AvroCheck;
  private readonly view: avro.Type;

  constructor(data: unknown) {
    this.type = avsc().Type.forSchema(data as avro.Schema);
    this.view = avsc().Type.forSchema(data as avro.Schema, { registry: { long: longAsJsonType() } });
    this.canonical = this.type.fingerprint('sha256').toString('hex');
    this.checker = new AvroCheck(this.type);
  }

  check(buf: Buffer, from: number, end: number): string | null {
    return this.checker.check(buf, from, end);
  }

  decode(buf: Buffer, from: number, end: number): unknown {
    return jsonFriendly(this.view.decode(buf.subarray(from, end), 0).value);
  }
}

/** Byte strings as base64 text, as protobuf's JSON mapping writes them; everything else as it is. */
function jsonFriendly(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (Array.isArray(value)) return value.map(jsonFriendly);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = jsonFriendly((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

interface ProtobufMessage {
  type: protobuf.Type;
  check: ProtobufCheck;
}

class ProtobufSchema implements CompiledSchema {
  readonly format = 'protobuf';
  readonly canonical: string;
  /** The file's message types in declaration order, top level; nested ones are found through them. */
  private readonly topLevel: protobuf.Type[];
  /** Per message-index path ("0" is the first message), compiled on first use. */
  private readonly byIndexes = new Map<string, ProtobufMessage | null>();
  private readonly root: ProtobufMessage;

  constructor(text: string) {
    // Comments kept: `@RootNode` in one names the root message.
    const root = protobufjs().parse(text, { keepCase: true, alternateCommentMode: true }).root;
    root.resolveAll();
    this.topLevel = messagesOf(root);
    if (this.topLevel.length === 0) throw new Error('the Protobuf schema declares no message');
    this.canonical = JSON.stringify(root.toJSON({ keepComments: false }));
    const main = rootMessage(this.topLevel);
    this.root = { type: main, check: new ProtobufCheck(main) };
  }

  private message(indexes: readonly number[] | null): ProtobufMessage | null {
    if (indexes === null) return this.root;
    const key = indexes.join('.');
    let found = this.byIndexes.get(key);
    if (found !== undefined) return found;
    let type: protobuf.Type | undefined = this.topLevel[indexes[0]];
    for (let i = 1; i < indexes.length && type !== undefined; i++)
      type = type.nestedArray.filter((n): n is protobuf.Type => n instanceof protobufjs().Type)[indexes[i]];
    found = type === undefined ? null : { type, check: new ProtobufCheck(type) };
    // Only paths that name a message are remembered: hostile indexes cannot grow the map.
    if (found !== null) this.byIndexes.set(key, found);
    return found;
  }

  check(buf: Buffer, from: number, end: number, indexes: readonly number[] | null): string | null {
    const message = this.message(indexes);
    if (message === null)
      return `message indexes [${(indexes ?? []).join(', ')}] name no message of the schema`;
    return message.check.check(buf, from, end);
  }

  decode(buf: Buffer, from: number, end: number, indexes: readonly number[] | null): unknown {
    const { type } = this.message(indexes)!;
    return type.toObject(type.decode(buf.subarray(from, end)), {
      longs: String,
      enums: String,
      bytes: String,
    });
  }
}

/**
 * The message a bare Protobuf payload is, by the AsyncAPI Protobuf parser's rule: the one top-level
 * message no other message uses, or among several the one whose comment says `@RootNode`.
 */
function rootMessage(topLevel: protobuf.Type[]): protobuf.Type {
  const used = new Set<protobuf.Type>();
  for (const type of topLevel)
    for (const field of type.fieldsArray)
      if (field.resolvedType instanceof protobufjs().Type && field.resolvedType !== type)
        used.add(field.resolvedType);
  const candidates = topLevel.filter((type) => !used.has(type));
  if (candidates.length === 1) return candidates[0];
  return (
    candidates.find((type) => type.comment?.includes('@RootNode') === true) ?? candidates[0] ?? topLevel[0]
  );
}

/** Message types as Confluent's message indexes count them: declaration order, through packages. */
function messagesOf(namespace: protobuf.NamespaceBase): protobuf.Type[] {
  const found: protobuf.Type[] = [];
  for (const nested of namespace.nestedArray) {
    const { Type, Namespace, Service } = protobufjs();
    if (nested instanceof Type) found.push(nested);
    else if (nested instanceof Namespace && !(nested instanceof Service)) found.push(...messagesOf(nested));
  }
  return found;
}

/** Compiles a schema as written in a document or held by a registry; throws with the reason when it is not one. */
export function compileSchema(format: BinaryFormat, source: unknown): CompiledSchema {
  if (format === 'avro') return new AvroSchema(avroSchemaData(source));
  if (typeof source !== 'string') throw new Error('a Protobuf schema must be the text of a .proto file');
  return new ProtobufSchema(source);
}

/**
 * Whether records written with `writer` can be read with `reader` under Avro's schema resolution
 * rules (a field added with a default, a removed field, a widened number, ...).
 */
export function avroReadable(reader: CompiledSchema, writer: CompiledSchema): boolean {
  if (!(reader instanceof AvroSchema) || !(writer instanceof AvroSchema)) return false;
  try {
    reader.type.createResolver(writer.type);
    return true;
  } catch {
    return false;
  }
}
