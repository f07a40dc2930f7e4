/**
 * Generates the Kafka message codecs in src/protocol/messages/generated from the message
 * definitions that ship inside kafka-clients (common/message/*.json). scripts/codegen.sh fetches
 * the jar, extracts the definitions and runs this; nothing else should call it.
 *
 *   tsx scripts/codegen/generate.ts --input <dir of *.json> --output <dir> --kafka-version <x.y.z>
 *
 * The output is deliberately dull: one read and one write function per struct, straight-line code
 * per field guarded by version comparisons folded against the versions the struct can be read
 * at, no closures, no reflection. Semantics follow Kafka's own generator (MessageDataGenerator):
 * field defaults, nullable versions, compact encodings in flexible versions, tagged fields omitted
 * when they hold their default. Two deliberate additions keep decode -> encode byte-identical:
 * unknown tagged fields are kept raw, and known tagged fields that arrived holding their default
 * are listed in `explicitDefaultTags` so that the encoder writes them again.
 *
 * One deliberate leniency: a tag that the struct defines only at other versions is kept raw as an
 * unknown field, where Kafka's decoders reject the message. A proxy should pass on what a peer
 * sent and leave refusing it to the broker.
 *
 * Byte identity holds for canonical encodings, which is all any Kafka implementation writes:
 * minimal varints, booleans as 0/1, nullable-struct markers as -1/1, well-formed UTF-8. The
 * decoders accept the other spellings as Kafka does, and the encoders write them canonically.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MAX_VERSION = 0x7fff;

/**
 * Flexible-from versions of APIs that Kafka 4.0 removed. Their definitions now read
 * `"validVersions": "none"` and no longer say which versions were flexible, but a proxy can
 * still meet an old peer speaking them, and the header version depends on it (values from the
 * 3.9 definitions).
 */
const RETIRED_FLEXIBLE_FROM: Record<string, number> = {
  LeaderAndIsr: 4,
  StopReplica: 2,
  UpdateMetadata: 6,
  ControlledShutdown: 3,
};

/**
 * RequestHeader declares versions 1-2, yet its own comment notes that v0 of ControlledShutdown
 * still used header v0 and every field but ClientId is declared from v0, so the codec accepts v0.
 */
const HEADER_MIN_VERSION: Record<string, number> = { RequestHeader: 0 };

// ---------------------------------------------------------------------------------------------
// Definitions

interface Range {
  lo: number;
  hi: number;
}

interface FieldJson {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  flexibleVersions?: string;
  fields?: FieldJson[];
  about?: string;
}

interface MessageJson {
  apiKey?: number;
  type: string;
  name: string;
  validVersions: string;
  flexibleVersions?: string;
  latestVersionUnstable?: boolean;
  fields?: FieldJson[];
  commonStructs?: { name: string; versions?: string; fields: FieldJson[] }[];
}

const PRIMITIVES = [
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'bool',
  'string',
  'bytes',
  'records',
  'uuid',
] as const;
type Primitive = (typeof PRIMITIVES)[number];

type TypeRef =
  | { kind: 'primitive'; name: Primitive }
  | { kind: 'array'; element: TypeRef }
  | { kind: 'struct'; struct: StructModel };

interface FieldModel {
  jsonName: string;
  /** Property name. */
  name: string;
  /** Local variable name in decoders (property name unless it is reserved). */
  local: string;
  type: TypeRef;
  versions: Range;
  nullable: Range | null;
  tagged: Range | null;
  tag: number | undefined;
  /** Field-level override of the message's flexible versions (RequestHeader.ClientId). */
  flexibleOverride: Range | null | undefined;
  defaultSpec: string | number | boolean | undefined;
  about: string;
  /** Whether null is a possible value in some version the field is read at. */
  typeNullable: boolean;
}

interface StructModel {
  jsonName: string;
  tsName: string;
  fieldJson: FieldJson[];
  fields: FieldModel[];
  /** Hull of the versions the struct is read at; null when no valid version reaches it. */
  context: Range | null;
  message: MessageModel;
}

interface MessageModel {
  jsonName: string;
  kind: 'request' | 'response' | 'header';
  apiKey: number | undefined;
  valid: Range;
  flexible: Range | null;
  latestVersionUnstable: boolean;
  structs: StructModel[];
  root: StructModel;
}

function fail(message: string): never {
  throw new Error(message);
}

/** Kafka's definition files are JSON with // and block comments; strings may contain "//". */
function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      i = text.indexOf('*/', i + 2) + 1;
      if (i === 0) fail('unterminated block comment');
    } else {
      out += c;
    }
  }
  return out;
}

function parseRange(text: string | undefined, what: string): Range | null {
  if (text === undefined || text === 'none') return null;
  let m = /^(\d+)\+$/.exec(text);
  if (m) return { lo: Number(m[1]), hi: MAX_VERSION };
  m = /^(\d+)-(\d+)$/.exec(text);
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) };
  m = /^(\d+)$/.exec(text);
  if (m) return { lo: Number(m[1]), hi: Number(m[1]) };
  return fail(`${what}: bad version range ${JSON.stringify(text)}`);
}

function intersect(a: Range | null, b: Range | null): Range | null {
  if (!a || !b) return null;
  const lo = Math.max(a.lo, b.lo);
  const hi = Math.min(a.hi, b.hi);
  return lo <= hi ? { lo, hi } : null;
}

function hull(a: Range | null, b: Range | null): Range | null {
  if (!a) return b;
  if (!b) return a;
  return { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
}

function sameRange(a: Range | null, b: Range | null): boolean {
  return a === b || (a !== null && b !== null && a.lo === b.lo && a.hi === b.hi);
}

/** `whole` minus `part`, which must leave one contiguous range (or nothing). */
function subtract(whole: Range, part: Range | null, what: string): Range | null {
  const cut = intersect(whole, part);
  if (!cut) return whole;
  if (cut.lo <= whole.lo && cut.hi >= whole.hi) return null;
  if (cut.lo <= whole.lo) return { lo: cut.hi + 1, hi: whole.hi };
  if (cut.hi >= whole.hi) return { lo: whole.lo, hi: cut.lo - 1 };
  return fail(`${what}: tagged versions split the field's versions in two`);
}

function versionsText(r: Range): string {
  if (r.hi === MAX_VERSION) return `${r.lo}+`;
  return r.lo === r.hi ? `${r.lo}` : `${r.lo}-${r.hi}`;
}

const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if import in instanceof new null return super switch this throw true try typeof var void while with ' +
    'yield let static implements interface package private protected public await arguments eval undefined'
  ).split(' '),
);

function camel(name: string): string {
  return name[0].toLowerCase() + name.slice(1);
}

function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

function apiName(messageName: string): string {
  return messageName.replace(/(Request|Response)$/, '');
}

// ---------------------------------------------------------------------------------------------
// Model

function buildMessage(json: MessageJson): MessageModel {
  const kind = json.type as MessageModel['kind'];
  const declared = parseRange(json.validVersions, json.name);
  if (!declared) fail(`${json.name} has no valid versions`);
  const minOverride = HEADER_MIN_VERSION[json.name];
  const valid =
    minOverride === undefined ? declared : { lo: Math.min(minOverride, declared.lo), hi: declared.hi };
  const message: MessageModel = {
    jsonName: json.name,
    kind,
    apiKey: json.apiKey,
    valid,
    flexible: parseRange(json.flexibleVersions ?? 'none', json.name),
    latestVersionUnstable: json.latestVersionUnstable === true,
    structs: [],
    root: undefined as unknown as StructModel,
  };

  const tsNameOf = (structName: string): string =>
    structName.startsWith(json.name) ? structName : `${json.name}${structName}`;
  const byJsonName = new Map<string, StructModel>();
  const define = (jsonName: string, fields: FieldJson[], tsName = tsNameOf(jsonName)): StructModel => {
    if (byJsonName.has(jsonName)) fail(`${json.name}: struct ${jsonName} defined twice`);
    const struct: StructModel = { jsonName, tsName, fieldJson: fields, fields: [], context: null, message };
    byJsonName.set(jsonName, struct);
    message.structs.push(struct);
    return struct;
  };
  message.root = define(json.name, json.fields ?? [], json.name);
  // Inline definitions first (depth first, in file order), so that references resolve afterwards.
  const collect = (fields: FieldJson[]): void => {
    for (const f of fields) {
      if (f.fields) {
        define(f.type.replace(/^\[\]/, ''), f.fields);
        collect(f.fields);
      }
    }
  };
  collect(message.root.fieldJson);
  for (const common of json.commonStructs ?? []) {
    define(common.name, common.fields);
    collect(common.fields);
  }

  const resolveType = (type: string, where: string): TypeRef => {
    if (type.startsWith('[]')) return { kind: 'array', element: resolveType(type.slice(2), where) };
    if ((PRIMITIVES as readonly string[]).includes(type))
      return { kind: 'primitive', name: type as Primitive };
    const struct = byJsonName.get(type);
    if (!struct) fail(`${where}: unknown type ${type}`);
    return { kind: 'struct', struct };
  };
  for (const struct of message.structs) {
    for (const f of struct.fieldJson) {
      const where = `${json.name}.${struct.jsonName}.${f.name}`;
      const versions = parseRange(f.versions, where);
      if (!versions) fail(`${where}: no versions`);
      const name = camel(f.name);
      if (name === 'unknownTaggedFields' || name === 'explicitDefaultTags')
        fail(`${where}: reserved field name`);
      const field: FieldModel = {
        jsonName: f.name,
        name,
        local: RESERVED.has(name) ? `${name}_` : name,
        type: resolveType(f.type, where),
        versions,
        nullable: parseRange(f.nullableVersions, where),
        tagged: parseRange(f.taggedVersions, where),
        tag: f.tag,
        flexibleOverride:
          f.flexibleVersions === undefined ? undefined : parseRange(f.flexibleVersions, where),
        defaultSpec: f.default,
        about: (f.about ?? '').replace(/\s+/g, ' ').trim(),
        typeNullable: false,
      };
      if ((field.tag === undefined) !== (field.tagged === null))
        fail(`${where}: tag and taggedVersions go together`);
      if (field.tagged && !intersect(field.tagged, versions)) fail(`${where}: tagged outside its versions`);
      struct.fields.push(field);
    }
    const names = new Set<string>();
    for (const f of struct.fields) {
      if (names.has(f.name)) fail(`${json.name}.${struct.jsonName}: duplicate field ${f.name}`);
      names.add(f.name);
    }
    const tags = new Set<number>();
    for (const f of struct.fields) {
      if (f.tag === undefined) continue;
      if (tags.has(f.tag)) fail(`${json.name}.${struct.jsonName}: duplicate tag ${f.tag}`);
      tags.add(f.tag);
    }
  }
  const tsNames = new Set<string>();
  for (const s of message.structs) {
    if (tsNames.has(s.tsName)) fail(`${json.name}: two structs named ${s.tsName}`);
    tsNames.add(s.tsName);
  }

  // Which versions each struct is read at: a struct used by several fields takes the hull.
  message.root.context = valid;
  for (let changed = true; changed;) {
    changed = false;
    for (const struct of message.structs) {
      for (const f of struct.fields) {
        let t = f.type;
        while (t.kind === 'array') t = t.element;
        if (t.kind !== 'struct') continue;
        const reach = intersect(f.versions, struct.context);
        const next = hull(t.struct.context, reach);
        if (!sameRange(next, t.struct.context)) {
          t.struct.context = next;
          changed = true;
        }
      }
    }
  }
  // Fields that no valid version reaches stay out of the interfaces altogether.
  for (const struct of message.structs) {
    if (!struct.context) continue;
    struct.fields = struct.fields.filter((f) => intersect(f.versions, struct.context) !== null);
    for (const f of struct.fields) {
      const present = intersect(f.versions, struct.context)!;
      f.typeNullable = intersect(f.nullable, present) !== null;
      const tagged = intersect(f.tagged, present);
      if (tagged && !sameRange(intersect(tagged, message.flexible), tagged)) {
        fail(`${json.name}.${struct.jsonName}.${f.name}: tagged in a version that is not flexible`);
      }
      if (f.type.kind === 'array' && f.type.element.kind === 'array') fail(`${f.name}: nested arrays`);
      checkDefault(f, `${json.name}.${struct.jsonName}.${f.name}`);
    }
  }
  return message;
}

function hasTaggedSection(message: MessageModel): boolean {
  return intersect(message.flexible, message.valid) !== null;
}

// ---------------------------------------------------------------------------------------------
// Defaults

function checkDefault(f: FieldModel, where: string): void {
  const spec = f.defaultSpec;
  if (spec === 'null' && !f.typeNullable) fail(`${where}: default null but never nullable`);
  if (spec === undefined || spec === 'null') return;
  const t = f.type;
  if (t.kind !== 'primitive') fail(`${where}: only null may be the default of a ${t.kind}`);
  if (t.name === 'uuid' || t.name === 'bytes' || t.name === 'records')
    fail(`${where}: unsupported default ${spec}`);
}

function parseInteger(spec: string | number, where: string): bigint {
  if (typeof spec === 'number') return BigInt(spec);
  const m = /^(-)?(0x[0-9a-fA-F]+|\d+)$/.exec(spec);
  if (!m) fail(`${where}: bad integer default ${spec}`);
  const value = BigInt(m[2]);
  return m[1] ? -value : value;
}

/** The default as a JSON value for schemas.json (int64 as a decimal string). */
function defaultJson(f: FieldModel): unknown {
  const spec = f.defaultSpec;
  const t = f.type;
  if (spec === 'null') return null;
  if (t.kind !== 'primitive') return undefined;
  switch (t.name) {
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
      return spec === undefined ? 0 : Number(parseInteger(spec as string | number, f.name));
    case 'int64':
      return spec === undefined ? '0' : parseInteger(spec as string | number, f.name).toString();
    case 'float64':
      return spec === undefined ? 0 : Number(spec);
    case 'bool':
      return spec === true || spec === 'true';
    case 'string':
      return spec === undefined ? '' : String(spec);
    case 'uuid':
      return '00000000000000000000000000000000';
    default:
      return undefined;
  }
}

function defaultExpr(f: FieldModel): string {
  const t = f.type;
  if (f.defaultSpec === 'null') return 'null';
  if (t.kind === 'array') return '[]';
  if (t.kind === 'struct') return `create${t.struct.tsName}()`;
  switch (t.name) {
    case 'int64':
      return `${defaultJson(f) as string}n`;
    case 'string':
      return JSON.stringify(defaultJson(f));
    case 'uuid':
      return 'ZERO_UUID';
    case 'bytes':
    case 'records':
      return f.typeNullable && t.name === 'records' ? 'null' : 'EMPTY_BUFFER';
    case 'float64': {
      const v = defaultJson(f) as number;
      return Object.is(v, -0) ? '-0' : String(v);
    }
    default:
      return String(defaultJson(f));
  }
}

/** Expression true when `v` equals the field's default (Kafka's test for omitting a tagged field). */
function isDefaultExpr(f: FieldModel, v: string): string {
  const t = f.type;
  const nullDefault = f.defaultSpec === 'null';
  if (t.kind === 'array' || (t.kind === 'primitive' && (t.name === 'bytes' || t.name === 'records'))) {
    if (nullDefault || (t.kind === 'primitive' && t.name === 'records' && f.typeNullable))
      return `${v} === null`;
    return f.typeNullable ? `${v} !== null && ${v}.length === 0` : `${v}.length === 0`;
  }
  if (t.kind === 'struct') {
    if (nullDefault) return `${v} === null`;
    return f.typeNullable
      ? `${v} !== null && isDefault${t.struct.tsName}(${v})`
      : `isDefault${t.struct.tsName}(${v})`;
  }
  if (t.name === 'float64') return `Object.is(${v}, ${defaultExpr(f)})`;
  return `${v} === ${defaultExpr(f)}`;
}

// ---------------------------------------------------------------------------------------------
// Code emission helpers

/** A version condition folded against the versions the code can run at. */
type Cond = boolean | string;

function cond(range: Range | null, ctx: Range): Cond {
  const i = intersect(range, ctx);
  if (!i) return false;
  if (i.lo <= ctx.lo && i.hi >= ctx.hi) return true;
  if (i.lo <= ctx.lo) return `_version <= ${i.hi}`;
  if (i.hi >= ctx.hi) return `_version >= ${i.lo}`;
  return `_version >= ${i.lo} && _version <= ${i.hi}`;
}

function selectExpr(c: Cond, whenTrue: () => string, whenFalse: () => string): string {
  if (c === true) return whenTrue();
  if (c === false) return whenFalse();
  return `(${c} ? ${whenTrue()} : ${whenFalse()})`;
}

function selectStmts(c: Cond, whenTrue: () => string[], whenFalse: () => string[]): string[] {
  if (c === true) return whenTrue();
  if (c === false) return whenFalse();
  const t = whenTrue();
  const f = whenFalse();
  if (f.length === 0) return [`if (${c}) {`, ...indent(unblock(t)), '}'];
  return [`if (${c}) {`, ...indent(unblock(t)), '} else {', ...indent(unblock(f)), '}'];
}

/** Drops the braces of a lone block that is about to become the body of an if. */
function unblock(lines: string[]): string[] {
  if (lines.length < 2 || lines[0] !== '{' || lines[lines.length - 1] !== '}') return lines;
  const inner = lines.slice(1, -1);
  if (inner.some((l) => !l.startsWith('  ') && l !== '')) return lines;
  return inner.map((l) => l.slice(2));
}

function indent(lines: string[]): string[] {
  return lines.map((l) => (l === '' ? l : `  ${l}`));
}

function tsType(t: TypeRef): string {
  if (t.kind === 'array') return `${tsType(t.element)}[]`;
  if (t.kind === 'struct') return t.struct.tsName;
  switch (t.name) {
    case 'int64':
      return 'bigint';
    case 'bool':
      return 'boolean';
    case 'string':
    case 'uuid':
      return 'string';
    case 'bytes':
    case 'records':
      return 'Buffer';
    default:
      return 'number';
  }
}

function fieldType(f: FieldModel): string {
  return f.typeNullable ? `${tsType(f.type)} | null` : tsType(f.type);
}

const FIXED_SIZE: Partial<Record<Primitive, number>> = {
  int8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  float64: 8,
  bool: 1,
  uuid: 16,
};

/** The fewest bytes a value of the type can take at `version` (for rejecting hostile counts). */
function minSize(t: TypeRef, version: number, compact: boolean, nullable: boolean): number {
  if (t.kind === 'array') return compact ? 1 : 4;
  if (t.kind === 'struct') return nullable ? 1 : structMinSize(t.struct, version);
  const fixed = FIXED_SIZE[t.name];
  if (fixed !== undefined) return fixed;
  if (t.name === 'string') return compact ? 1 : 2;
  return compact ? 1 : 4;
}

function structMinSize(s: StructModel, version: number): number {
  const flexible = intersect(s.message.flexible, { lo: version, hi: version }) !== null;
  let size = flexible ? 1 : 0;
  for (const f of s.fields) {
    const v = { lo: version, hi: version };
    if (!intersect(f.versions, v) || intersect(f.tagged, v)) continue;
    const compact =
      intersect(f.flexibleOverride === undefined ? s.message.flexible : f.flexibleOverride, v) !== null;
    size += minSize(f.type, version, compact, intersect(f.nullable, v) !== null);
  }
  return size;
}

/** Minimum element size over the versions in `range` that are (or are not) compact. */
function minElementSize(element: TypeRef, range: Range, flexible: Range | null, compact: boolean): number {
  let min = Number.POSITIVE_INFINITY;
  for (let v = range.lo; v <= Math.min(range.hi, 200); v++) {
    const isCompact = intersect(flexible, { lo: v, hi: v }) !== null;
    if (isCompact !== compact) continue;
    min = Math.min(min, minSize(element, v, compact, false));
  }
  // A zero-byte element could let a forged count allocate without bound; none exists in Kafka.
  if (min === 0) fail('array element that can encode in zero bytes');
  return min === Number.POSITIVE_INFINITY ? 1 : min;
}

// ---------------------------------------------------------------------------------------------
// Decoders

interface Ctx {
  struct: StructModel;
  message: MessageModel;
}

function fieldFlexible(ctx: Ctx, f: FieldModel): Range | null {
  return f.flexibleOverride === undefined ? ctx.message.flexible : f.flexibleOverride;
}

/**
 * Splits `range` on `by` and folds each side against its own sub-range, so that nested conditions
 * (compact inside nullable, say) never test what the outer one already settled.
 */
function split<T>(range: Range, by: Range | null, inside: (sub: Range) => T, outside: (sub: Range) => T) {
  const c = cond(by, range);
  return {
    c,
    inside: () => inside(intersect(range, by)!),
    outside: () => outside(subtract(range, by, 'split')!),
  };
}

function splitExpr(
  range: Range,
  by: Range | null,
  inside: (sub: Range) => string,
  outside: (sub: Range) => string,
): string {
  const s = split(range, by, inside, outside);
  return selectExpr(s.c, s.inside, s.outside);
}

function splitStmts(
  range: Range,
  by: Range | null,
  inside: (sub: Range) => string[],
  outside: (sub: Range) => string[],
): string[] {
  const s = split(range, by, inside, outside);
  return selectStmts(s.c, s.inside, s.outside);
}

/** Expression reading a non-array value at the versions in `range`. */
function readExpr(
  t: TypeRef,
  r: string,
  range: Range,
  flexible: Range | null,
  nullable: Range | null,
): string {
  if (t.kind === 'struct') {
    const read = `read${t.struct.tsName}(${r}, _version)`;
    return splitExpr(
      range,
      nullable,
      () => `(${r}.int8() < 0 ? null : ${read})`,
      () => read,
    );
  }
  if (t.kind === 'array') fail('array in expression position');
  const kind = t.name === 'string' ? 'String' : t.name === 'bytes' || t.name === 'records' ? 'Bytes' : null;
  if (kind === null) return `${r}.${t.name}()`;
  return splitExpr(
    range,
    flexible,
    (sub) =>
      splitExpr(
        sub,
        nullable,
        () => `${r}.compactNullable${kind}()`,
        () => `${r}.compact${kind}()`,
      ),
    (sub) =>
      splitExpr(
        sub,
        nullable,
        () => `${r}.nullable${kind}()`,
        () => `${r}.${kind.toLowerCase()}()`,
      ),
  );
}

/** Statements reading a value of the field's type into `target` (already declared). */
function readStmts(f: FieldModel, range: Range, r: string, target: string, flexible: Range | null): string[] {
  const t = f.type;
  if (t.kind !== 'array') return [`${target} = ${readExpr(t, r, range, flexible, f.nullable)};`];
  const count = splitExpr(
    range,
    flexible,
    (sub) => `${r}.compactArrayLength(${minElementSize(t.element, sub, flexible, true)})`,
    (sub) => `${r}.arrayLength(${minElementSize(t.element, sub, flexible, false)})`,
  );
  const nullable = cond(f.nullable, range);
  const onNull =
    nullable === true
      ? [`${target} = null;`]
      : nullable === false
        ? [`throw nullInNonNullable(${r}, '${f.name} array');`]
        : [`if (!(${nullable})) throw nullInNonNullable(${r}, '${f.name} array');`, `${target} = null;`];
  const element = readExpr(t.element, r, range, flexible, null);
  return [
    '{',
    `  const _count = ${count};`,
    `  if (_count < 0) {`,
    ...indent(indent(onNull)),
    '  } else {',
    `    const _items: ${tsType(t.element)}[] = [];`,
    `    for (let _i = 0; _i < _count; _i++) _items.push(${element});`,
    `    ${target} = _items;`,
    '  }',
    '}',
  ];
}

function taggedFields(s: StructModel): FieldModel[] {
  return s.fields
    .filter((f) => f.tag !== undefined && intersect(f.tagged, intersect(f.versions, s.context)) !== null)
    .sort((a, b) => a.tag! - b.tag!);
}

function emitReadStruct(s: StructModel): string[] {
  const ctx: Ctx = { struct: s, message: s.message };
  const C = s.context!;
  const body: string[] = [];
  const tagged = taggedFields(s);
  for (const f of s.fields) {
    const present = intersect(f.versions, C)!;
    const taggedRange = intersect(f.tagged, present);
    const regular = subtract(present, taggedRange, f.name);
    const mutable = taggedRange !== null || f.type.kind === 'array';
    const presentCond = cond(regular, C);
    const flexible = fieldFlexible(ctx, f);
    if (f.type.kind !== 'array') {
      const read = regular ? readExpr(f.type, '_reader', regular, flexible, f.nullable) : defaultExpr(f);
      const value = selectExpr(
        presentCond,
        () => read,
        () => defaultExpr(f),
      );
      body.push(`${mutable ? 'let' : 'const'} ${f.local}: ${fieldType(f)} = ${stripParens(value)};`);
    } else {
      if (presentCond === false) {
        body.push(`let ${f.local}: ${fieldType(f)} = ${defaultExpr(f)};`);
      } else {
        body.push(`let ${f.local}: ${fieldType(f)};`);
        body.push(
          ...selectStmts(
            presentCond,
            () => readStmts(f, regular!, '_reader', f.local, flexible),
            () => [`${f.local} = ${defaultExpr(f)};`],
          ),
        );
      }
    }
  }
  const section = hasTaggedSection(s.message);
  const flexCond = cond(s.message.flexible, C);
  const props = s.fields.map((f) => (f.local === f.name ? f.name : `${f.name}: ${f.local}`));
  if (section && tagged.length === 0) {
    body.push(
      `const _unknown = ${selectExpr(
        flexCond,
        () => '_reader.taggedFields()',
        () => 'NO_TAGGED_FIELDS',
      )};`,
    );
    body.push(`return { ${[...props, 'unknownTaggedFields: _unknown'].join(', ')} };`);
  } else if (section) {
    const flexRange = intersect(s.message.flexible, C)!;
    const cases: string[] = [];
    for (const f of tagged) {
      const taggedRange = intersect(f.tagged, intersect(f.versions, C))!;
      const c = cond(taggedRange, flexRange);
      const read = [
        'const _field = taggedFieldReader(_reader, _size);',
        ...readStmts(f, taggedRange, '_field', f.local, taggedRange),
        `endTaggedField(_field, _tag);`,
        `if (${isDefaultExpr(f, f.local)}) _explicit = addTag(_explicit, _tag);`,
        'continue;',
      ];
      if (c === true) cases.push(`case ${f.tag}: {`, ...indent(read), '}');
      else cases.push(`case ${f.tag}:`, `  if (${c}) {`, ...indent(indent(read)), '  }', '  break;');
    }
    body.push('let _unknown = NO_TAGGED_FIELDS;');
    body.push('let _explicit: number[] | undefined;');
    body.push(
      ...selectStmts(
        flexCond,
        () => [
          'const _tagCount = readTaggedFieldCount(_reader);',
          'let _tag = -1;',
          'for (let _t = 0; _t < _tagCount; _t++) {',
          '  _tag = readTag(_reader, _tag);',
          '  const _size = _reader.uvarint();',
          '  switch (_tag) {',
          ...indent(indent(cases)),
          '  }',
          '  _unknown = addUnknownTaggedField(_unknown, _tag, _reader.raw(_size));',
          '}',
        ],
        () => [],
      ),
    );
    body.push(`const _result: ${s.tsName} = { ${[...props, 'unknownTaggedFields: _unknown'].join(', ')} };`);
    body.push('if (_explicit !== undefined) _result.explicitDefaultTags = _explicit;');
    body.push('return _result;');
  } else {
    body.push(`return { ${props.join(', ')} };`);
  }
  return [`function read${s.tsName}(_reader: Reader, _version: number): ${s.tsName} {`, ...indent(body), '}'];
}

function stripParens(expr: string): string {
  if (!expr.startsWith('(') || !expr.endsWith(')')) return expr;
  let depth = 0;
  for (let i = 0; i < expr.length; i++) {
    if (expr[i] === '(') depth++;
    else if (expr[i] === ')') depth--;
    if (depth === 0 && i < expr.length - 1) return expr;
  }
  return expr.slice(1, -1);
}

// ---------------------------------------------------------------------------------------------
// Encoders

function writeStmts(f: FieldModel, w: string, v: string, range: Range, flexible: Range | null): string[] {
  const t = f.type;
  const notNullable = (): string[] => [
    `throw new TypeError('${f.name} cannot be null in version ' + _version);`,
  ];
  if (t.kind === 'array') {
    const lengthOf = (n: string): string[] =>
      splitStmts(
        range,
        flexible,
        () => [`${w}.compactArrayLength(${n});`],
        () => [`${w}.arrayLength(${n});`],
      );
    const lines = [
      ...lengthOf('_items.length'),
      `for (const _item of _items) {`,
      ...indent(writeValueStmts(t.element, w, '_item', range, flexible, false, false)),
      '}',
    ];
    if (!f.typeNullable) return ['{', `  const _items = ${v};`, ...indent(lines), '}'];
    return [
      '{',
      `  const _items = ${v};`,
      '  if (_items === null) {',
      ...indent(indent(splitStmts(range, f.nullable, () => lengthOf('null'), notNullable))),
      '  } else {',
      ...indent(indent(lines)),
      '  }',
      '}',
    ];
  }
  const nonNull = f.typeNullable ? `notNull(${v}, '${f.name}', _version)` : v;
  return splitStmts(
    range,
    f.nullable,
    (sub) => writeValueStmts(t, w, v, sub, flexible, true, f.typeNullable),
    (sub) => writeValueStmts(t, w, nonNull, sub, flexible, false, false),
  );
}

/** Writes a non-array value; `nullable` says whether these versions may carry null. */
function writeValueStmts(
  t: TypeRef,
  w: string,
  v: string,
  range: Range,
  flexible: Range | null,
  nullable: boolean,
  typeNullable: boolean,
): string[] {
  if (t.kind === 'array') fail('nested array');
  if (t.kind === 'struct') {
    const write = `write${t.struct.tsName}(${w}, ${v}, _version);`;
    if (!nullable) return [write];
    if (!typeNullable) return [`${w}.int8(1);`, write];
    return [`if (${v} === null) {`, `  ${w}.int8(-1);`, '} else {', `  ${w}.int8(1);`, `  ${write}`, '}'];
  }
  const kind = t.name === 'string' ? 'String' : t.name === 'bytes' || t.name === 'records' ? 'Bytes' : null;
  if (kind === null) return [`${w}.${t.name}(${v});`];
  return splitStmts(
    range,
    flexible,
    () => [`${w}.${nullable ? `compactNullable${kind}` : `compact${kind}`}(${v});`],
    () => [`${w}.${nullable ? `nullable${kind}` : kind.toLowerCase()}(${v});`],
  );
}

function emitWriteStruct(s: StructModel): string[] {
  const ctx: Ctx = { struct: s, message: s.message };
  const C = s.context!;
  const body: string[] = [];
  for (const f of s.fields) {
    const present = intersect(f.versions, C)!;
    const regular = subtract(present, intersect(f.tagged, present), f.name);
    if (!regular) continue;
    const flexible = fieldFlexible(ctx, f);
    body.push(
      ...selectStmts(
        cond(regular, C),
        () => writeStmts(f, '_writer', `_m.${f.name}`, regular, flexible),
        () => [],
      ),
    );
  }
  if (hasTaggedSection(s.message)) {
    const tagged = taggedFields(s);
    const flexCond = cond(s.message.flexible, C);
    if (tagged.length === 0) {
      body.push(
        ...selectStmts(
          flexCond,
          () => ['_writer.taggedFields(_m.unknownTaggedFields);'],
          () => [],
        ),
      );
    } else {
      const flexRange = intersect(s.message.flexible, C)!;
      const lines: string[] = [
        'const _unknown = _m.unknownTaggedFields;',
        'const _explicit = _m.explicitDefaultTags;',
      ];
      const emits: string[] = [];
      for (const f of tagged) {
        const taggedRange = intersect(f.tagged, intersect(f.versions, C))!;
        const c = cond(taggedRange, flexRange);
        const test = `hasTag(_explicit, ${f.tag}) || !(${isDefaultExpr(f, `_m.${f.name}`)})`;
        lines.push(`const _emit${f.tag} = ${c === true ? test : `${c} && (${test})`};`);
        emits.push(`(_emit${f.tag} ? 1 : 0)`);
      }
      lines.push(`_writer.uvarint(_unknown.length + ${emits.join(' + ')});`);
      lines.push('let _next = 0;');
      for (const f of tagged) {
        const taggedRange = intersect(f.tagged, intersect(f.versions, C))!;
        const fixed = f.type.kind === 'primitive' ? FIXED_SIZE[f.type.name] : undefined;
        const write =
          fixed !== undefined
            ? [
                `_writer.uvarint(${f.tag}).uvarint(${fixed});`,
                ...writeStmts(f, '_writer', `_m.${f.name}`, taggedRange, taggedRange),
              ]
            : [
                'const _field = new Writer();',
                ...writeStmts(f, '_field', `_m.${f.name}`, taggedRange, taggedRange),
                `writeTaggedField(_writer, ${f.tag}, _field.result());`,
              ];
        lines.push(
          `if (_emit${f.tag}) {`,
          `  _next = writeUnknownTaggedFieldsBelow(_writer, _unknown, _next, ${f.tag});`,
          ...indent(write),
          '}',
        );
      }
      lines.push('writeUnknownTaggedFieldsBelow(_writer, _unknown, _next, Number.POSITIVE_INFINITY);');
      body.push(
        ...selectStmts(
          flexCond,
          () => lines,
          () => [],
        ),
      );
    }
  }
  return [
    `function write${s.tsName}(_writer: Writer, _m: ${s.tsName}, _version: number): void {`,
    ...indent(body),
    '}',
  ];
}

// ---------------------------------------------------------------------------------------------
// Interfaces, defaults, entry points

function docComment(text: string, prefix = ''): string[] {
  return text ? [`${prefix}/** ${text.replace(/\*\//g, '*\\/')} */`] : [];
}

function emitInterface(s: StructModel): string[] {
  const lines: string[] = [`export interface ${s.tsName} {`];
  const C = s.context;
  for (const f of s.fields) {
    const notes: string[] = [];
    const present = C ? intersect(f.versions, C) : f.versions;
    if (present && C && !sameRange(present, C)) {
      notes.push(present.lo === present.hi ? `version ${present.lo}` : `versions ${versionsText(present)}`);
    }
    if (f.tag !== undefined) notes.push(`tag ${f.tag}`);
    const about = [f.about, notes.length ? `(${notes.join(', ')})` : ''].filter(Boolean).join(' ');
    lines.push(...docComment(about, '  '));
    lines.push(`  ${f.name}: ${fieldType(f)};`);
  }
  if (hasTaggedSection(s.message)) {
    if (C && taggedFields(s).length > 0) {
      lines.push(
        '  /** Tags of known tagged fields that arrived holding their default value; the encoder writes them again. */',
        '  explicitDefaultTags?: number[];',
      );
    }
    lines.push('  /** Tagged fields this version does not know, kept raw and re-encoded as they came. */');
    lines.push('  unknownTaggedFields: RawTaggedField[];');
  }
  lines.push('}');
  return lines;
}

function emitCreate(s: StructModel): string[] {
  const props = s.fields.map((f) => `${f.name}: ${defaultExpr(f)}`);
  if (hasTaggedSection(s.message)) props.push('unknownTaggedFields: []');
  return [
    `/** A ${s.tsName} holding every field's default. */`,
    `export function create${s.tsName}(): ${s.tsName} {`,
    `  return { ${props.join(', ')} };`,
    '}',
  ];
}

function emitIsDefault(s: StructModel): string[] {
  const terms = s.fields.map((f) => `(${isDefaultExpr(f, `_m.${f.name}`)})`);
  if (hasTaggedSection(s.message)) terms.push('_m.unknownTaggedFields.length === 0');
  return [
    `function isDefault${s.tsName}(_m: ${s.tsName}): boolean {`,
    `  return ${terms.length ? terms.join(' && ') : 'true'};`,
    '}',
  ];
}

/** Structs whose default-ness must be tested, because a tagged field (or one of those) holds them. */
function structsNeedingIsDefault(message: MessageModel): Set<StructModel> {
  const needed = new Set<StructModel>();
  const visit = (s: StructModel): void => {
    if (needed.has(s)) return;
    needed.add(s);
    for (const f of s.fields) {
      if (f.type.kind === 'struct' && f.defaultSpec !== 'null') visit(f.type.struct);
    }
  };
  for (const s of message.structs) {
    if (!s.context) continue;
    for (const f of taggedFields(s)) {
      if (f.type.kind === 'struct' && f.defaultSpec !== 'null') visit(f.type.struct);
    }
  }
  return needed;
}

function emitEntryPoints(m: MessageModel): string[] {
  const { lo, hi } = m.valid;
  const what = m.apiKey === undefined ? m.jsonName : `${m.jsonName} (api key ${m.apiKey})`;
  const check = `version < ${lo} || version > ${hi}`;
  const decode =
    m.apiKey === undefined
      ? [`  return read${m.root.tsName}(reader, version);`]
      : [
          '  try {',
          `    return read${m.root.tsName}(reader, version);`,
          '  } catch (error) {',
          `    throw withApi(error, ${m.apiKey}, version);`,
          '  }',
        ];
  const versions = lo === hi ? `version ${lo}` : `versions ${lo}-${hi}`;
  return [
    m.kind === 'header'
      ? `/** Decodes a ${m.jsonName} (${versions}). */`
      : `/** Decodes a ${m.jsonName} body (${versions}); byte fields are views into the reader's buffer. */`,
    `export function decode${m.root.tsName}(reader: Reader, version: number): ${m.root.tsName} {`,
    `  if (${check}) throw unsupportedVersion('${what}', version, reader.offset);`,
    ...decode,
    '}',
    '',
    `export function encode${m.root.tsName}(writer: Writer, message: ${m.root.tsName}, version: number): void {`,
    `  if (${check}) throw unsupportedVersion('${what}', version, writer.offset);`,
    `  write${m.root.tsName}(writer, message, version);`,
    '}',
  ];
}

/** PRODUCE_REQUEST for ProduceRequest: the prefix of a message's exported constants. */
function constantPrefix(m: MessageModel): string {
  return kebab(m.jsonName).replace(/-/g, '_').toUpperCase();
}

/**
 * The message's version facts as constants, so that hand-written readers that walk a message
 * without decoding it take their version tests from the definitions rather than restating them.
 * Fields are listed by struct (the interface name) when they exist in only part of the versions
 * their struct is read at, as the interfaces' doc comments note them.
 */
function emitVersionFacts(m: MessageModel): string[] {
  const prefix = constantPrefix(m);
  const flexible = intersect(m.flexible, m.valid);
  // A flexible range that stops short of the highest version would need a last flexible version too.
  if (flexible && flexible.hi < m.valid.hi) fail(`${m.jsonName}: flexible versions end before valid ones`);
  const span = (r: Range): string => `{ lowest: ${r.lo}, highest: ${r.hi} }`;
  const structs: string[] = [];
  for (const s of m.structs) {
    if (!s.context) continue;
    const fields: string[] = [];
    for (const f of s.fields) {
      const present = intersect(f.versions, s.context)!;
      if (!sameRange(present, s.context)) fields.push(`    ${f.name}: ${span(present)},`);
    }
    if (fields.length) structs.push(`  ${s.tsName}: {`, ...fields, '  },');
  }
  return [
    `/** The versions of ${m.jsonName} this module reads and writes; firstFlexible is null when none is flexible. */`,
    `export const ${prefix}_VERSIONS = { lowest: ${m.valid.lo}, highest: ${m.valid.hi}, firstFlexible: ${flexible ? flexible.lo : 'null'} } as const;`,
    '',
    `/** Fields of ${m.jsonName} present in only some of the versions their struct is read at, by struct. */`,
    structs.length
      ? `export const ${prefix}_FIELD_VERSIONS = {`
      : `export const ${prefix}_FIELD_VERSIONS = {} as const;`,
    ...(structs.length ? [...structs, '} as const;'] : []),
  ];
}

function emitMessage(m: MessageModel): string[] {
  const out: string[] = [];
  out.push(
    `// ${m.jsonName}: versions ${versionsText(m.valid)}, flexible ${m.flexible ? versionsText(m.flexible) : 'never'}`,
  );
  out.push('');
  out.push(...emitVersionFacts(m), '');
  for (const s of m.structs) {
    if (!s.context) continue;
    out.push(...emitInterface(s), '');
  }
  for (const s of m.structs) {
    if (!s.context) continue;
    out.push(...emitCreate(s), '');
  }
  const needIsDefault = structsNeedingIsDefault(m);
  for (const s of m.structs) {
    if (needIsDefault.has(s)) out.push(...emitIsDefault(s), '');
  }
  for (const s of m.structs) {
    if (!s.context) continue;
    out.push(...emitReadStruct(s), '', ...emitWriteStruct(s), '');
  }
  out.push(...emitEntryPoints(m), '');
  return out;
}

const RUNTIME_NAMES = [
  'NO_TAGGED_FIELDS',
  'ZERO_UUID',
  'EMPTY_BUFFER',
  'readTaggedFieldCount',
  'readTag',
  'taggedFieldReader',
  'endTaggedField',
  'addUnknownTaggedField',
  'addTag',
  'hasTag',
  'writeUnknownTaggedFieldsBelow',
  'writeTaggedField',
  'notNull',
  'nullInNonNullable',
  'unsupportedVersion',
  'withApi',
];

function uses(body: string, name: string): boolean {
  return new RegExp(`\\b${name}\\b`).test(body);
}

function moduleText(banner: string, messages: MessageModel[]): string {
  const body = messages.flatMap(emitMessage).join('\n');
  const imports: string[] = [];
  const primitives: string[] = [];
  if (uses(body, 'RawTaggedField')) primitives.push('type RawTaggedField');
  primitives.push('type Reader');
  primitives.push(/new Writer\(/.test(body) ? 'Writer' : 'type Writer');
  imports.push(`import { ${primitives.join(', ')} } from '../../primitives';`);
  const runtime = RUNTIME_NAMES.filter((n) => uses(body, n));
  if (runtime.length) imports.push(`import { ${runtime.join(', ')} } from '../runtime';`);
  return [banner, '', ...imports, '', body].join('\n');
}

// ---------------------------------------------------------------------------------------------
// schemas.json: the parsed definitions in a form the property tests can walk.

function typeJson(t: TypeRef): Record<string, unknown> {
  if (t.kind === 'array') {
    const e = t.element;
    return {
      type: 'array',
      items: e.kind === 'struct' ? 'struct' : (e as { name: string }).name,
      ...(e.kind === 'struct' ? { struct: e.struct.tsName } : {}),
    };
  }
  if (t.kind === 'struct') return { type: 'struct', struct: t.struct.tsName };
  return { type: t.name };
}

function rangeJson(r: Range | null): [number, number] | null {
  return r ? [r.lo, r.hi] : null;
}

interface SchemaJson {
  structs: Record<string, { versions: unknown; fields: unknown[] }>;
  [key: string]: unknown;
}

/** One line per field: small, and regeneration diffs read field by field. */
function schemasText(kafkaVersion: string, schemas: SchemaJson[]): string {
  const lines = ['{', `"kafkaVersion": ${JSON.stringify(kafkaVersion)},`, '"messages": ['];
  schemas.forEach(({ structs, ...head }, i) => {
    lines.push(`{${JSON.stringify(head).slice(1, -1)}, "structs": {`);
    const entries = Object.entries(structs);
    entries.forEach(([name, struct], j) => {
      lines.push(` ${JSON.stringify(name)}: {"versions": ${JSON.stringify(struct.versions)}, "fields": [`);
      struct.fields.forEach((f, k) =>
        lines.push(`  ${JSON.stringify(f)}${k < struct.fields.length - 1 ? ',' : ''}`),
      );
      lines.push(` ]}${j < entries.length - 1 ? ',' : ''}`);
    });
    lines.push(`}}${i < schemas.length - 1 ? ',' : ''}`);
  });
  lines.push(']}', '');
  return lines.join('\n');
}

function schemaJson(m: MessageModel, module: string): SchemaJson {
  const structs: SchemaJson['structs'] = {};
  for (const s of m.structs) {
    if (!s.context) continue;
    structs[s.tsName] = {
      versions: rangeJson(s.context),
      // Absent keys mean "none": no nullable versions, not tagged, the message's flexible versions.
      fields: s.fields.map((f) => ({
        name: f.name,
        ...typeJson(f.type),
        versions: rangeJson(f.versions),
        ...(f.nullable ? { nullableVersions: rangeJson(f.nullable), nullable: f.typeNullable } : {}),
        ...(f.tagged ? { taggedVersions: rangeJson(f.tagged), tag: f.tag } : {}),
        ...(f.flexibleOverride !== undefined ? { flexibleVersions: rangeJson(f.flexibleOverride) } : {}),
        default: defaultJson(f),
      })),
    };
  }
  return {
    name: m.jsonName,
    type: m.kind,
    apiKey: m.apiKey ?? null,
    module,
    validVersions: rangeJson(m.valid),
    flexibleVersions: rangeJson(m.flexible),
    taggedFieldsSection: hasTaggedSection(m),
    root: m.root.tsName,
    decode: `decode${m.root.tsName}`,
    encode: `encode${m.root.tsName}`,
    structs,
  };
}

// ---------------------------------------------------------------------------------------------
// api-keys.ts

interface ApiEntry {
  name: string;
  apiKey: number;
  request: MessageJson;
  response: MessageJson;
  requestModel: MessageModel | null;
  responseModel: MessageModel | null;
  module: string | null;
}

function apiKeysText(banner: string, apis: ApiEntry[]): string {
  const range = (json: MessageJson): string => {
    const r = parseRange(json.validVersions, json.name);
    return r ? `{ min: ${r.lo}, max: ${r.hi} }` : 'null';
  };
  const flexibleFrom = (api: ApiEntry): string => {
    const req = parseRange(api.request.flexibleVersions ?? 'none', api.request.name);
    const res = parseRange(api.response.flexibleVersions ?? 'none', api.response.name);
    if (!sameRange(req, res)) fail(`${api.name}: request and response disagree on flexible versions`);
    if (req) return String(req.lo);
    const retired = RETIRED_FLEXIBLE_FROM[api.name];
    return retired === undefined ? 'null' : String(retired);
  };
  const lines = [
    banner,
    '',
    'export interface VersionRange {',
    '  readonly min: number;',
    '  readonly max: number;',
    '}',
    '',
    'export interface ApiKeyInfo {',
    '  readonly apiKey: number;',
    "  /** The message name without its Request/Response suffix, as in Kafka's ApiKeys. */",
    '  readonly name: string;',
    '  /** Null for APIs Kafka has removed: still listed so that their frames can be named and routed. */',
    '  readonly request: VersionRange | null;',
    '  readonly response: VersionRange | null;',
    '  /** First flexible version (for removed APIs, the one they had before removal); null if never flexible. */',
    '  readonly flexibleFrom: number | null;',
    '  /** The highest version is still under development and brokers only enable it on request. */',
    '  readonly latestVersionUnstable: boolean;',
    '}',
    '',
    'export const API_KEYS: readonly ApiKeyInfo[] = [',
    ...apis.map(
      (a) =>
        `  { apiKey: ${a.apiKey}, name: '${a.name}', request: ${range(a.request)}, response: ${range(a.response)}, flexibleFrom: ${flexibleFrom(a)}, latestVersionUnstable: ${a.request.latestVersionUnstable === true} },`,
    ),
    '];',
    '',
    'export const ApiKey = {',
    ...apis.map((a) => `  ${a.name}: ${a.apiKey},`),
    '} as const;',
    '',
    'export type ApiKeyName = keyof typeof ApiKey;',
    '',
    'const INFO_BY_KEY: (ApiKeyInfo | undefined)[] = [];',
    'for (const info of API_KEYS) INFO_BY_KEY[info.apiKey] = info;',
    '',
    'export function apiKeyInfo(apiKey: number): ApiKeyInfo | undefined {',
    '  return INFO_BY_KEY[apiKey];',
    '}',
    '',
    '/**',
    ' * Request header version for a known api key at a version it defines: 2 for flexible versions,',
    ' * 1 otherwise, 0 for ControlledShutdown v0. Undefined for anything else; see protocol/headers.ts',
    ' * for how unknown frames are still routed.',
    ' */',
    'export function requestHeaderVersion(apiKey: number, version: number): number | undefined {',
    '  if (apiKey === 7 && version === 0) return 0;',
    '  const info = INFO_BY_KEY[apiKey];',
    '  if (info === undefined || info.request === null) return undefined;',
    '  if (version < info.request.min || version > info.request.max) return undefined;',
    '  return info.flexibleFrom !== null && version >= info.flexibleFrom ? 2 : 1;',
    '}',
    '',
    '/**',
    ' * Response header version: 1 for flexible versions, 0 otherwise. ApiVersions always answers with',
    ' * header v0, whatever the version, because a client reads it before it knows what the broker speaks.',
    ' */',
    'export function responseHeaderVersion(apiKey: number, version: number): number | undefined {',
    '  if (apiKey === 18) return 0;',
    '  const info = INFO_BY_KEY[apiKey];',
    '  if (info === undefined || info.response === null) return undefined;',
    '  if (version < info.response.min || version > info.response.max) return undefined;',
    '  return info.flexibleFrom !== null && version >= info.flexibleFrom ? 1 : 0;',
    '}',
    '',
  ];
  return lines.join('\n');
}

/**
 * The codec table, apart from the api-key table: it imports every API's module, which the proxy
 * itself never needs all of (it loads only the few APIs it reads).
 */
function apiCodecsText(banner: string, apis: ApiEntry[]): string {
  const live = apis.filter((a) => a.module);
  const imports = live.map((a) => {
    const req = a.requestModel!.root.tsName;
    const res = a.responseModel!.root.tsName;
    return `import { decode${req}, encode${req}, decode${res}, encode${res} } from './${a.module}';`;
  });
  const lines = [
    banner,
    '',
    "import type { Reader, Writer } from '../../primitives';",
    ...imports,
    '',
    '/**',
    ' * Body codecs of one API. Methods (not function properties) so that codecs of specific message',
    ' * types fit the untyped table.',
    ' */',
    'export interface ApiCodec<Request = unknown, Response = unknown> {',
    '  readonly apiKey: number;',
    '  readonly name: string;',
    '  decodeRequest(reader: Reader, version: number): Request;',
    '  encodeRequest(writer: Writer, message: Request, version: number): void;',
    '  decodeResponse(reader: Reader, version: number): Response;',
    '  encodeResponse(writer: Writer, message: Response, version: number): void;',
    '}',
    '',
    'export const API_CODECS: readonly ApiCodec[] = [',
    ...live.map((a) => {
      const req = a.requestModel!.root.tsName;
      const res = a.responseModel!.root.tsName;
      return `  { apiKey: ${a.apiKey}, name: '${a.name}', decodeRequest: decode${req}, encodeRequest: encode${req}, decodeResponse: decode${res}, encodeResponse: encode${res} },`;
    }),
    '];',
    '',
    'const CODEC_BY_KEY: (ApiCodec | undefined)[] = [];',
    'for (const codec of API_CODECS) CODEC_BY_KEY[codec.apiKey] = codec;',
    '',
    'export function apiCodec(apiKey: number): ApiCodec | undefined {',
    '  return CODEC_BY_KEY[apiKey];',
    '}',
    '',
  ];
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

function main(): void {
  const args = process.argv.slice(2);
  const option = (name: string): string => {
    const i = args.indexOf(`--${name}`);
    if (i < 0 || i + 1 >= args.length) fail(`missing --${name}`);
    return args[i + 1];
  };
  const input = option('input');
  const output = option('output');
  const kafkaVersion = option('kafka-version');
  const banner = [
    `// Generated by scripts/codegen.sh from the Kafka ${kafkaVersion} message definitions`,
    '// (common/message/*.json in kafka-clients). Do not edit: change scripts/codegen/generate.ts and regenerate.',
  ].join('\n');

  const jsons: MessageJson[] = readdirSync(input)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(stripComments(readFileSync(join(input, f), 'utf8'))) as MessageJson);

  const requests = new Map<number, MessageJson>();
  const responses = new Map<number, MessageJson>();
  const headers: MessageJson[] = [];
  for (const json of jsons) {
    if (json.type === 'request') requests.set(json.apiKey!, json);
    else if (json.type === 'response') responses.set(json.apiKey!, json);
    else if (json.type === 'header') headers.push(json);
  }
  const apis: ApiEntry[] = [...requests.keys()]
    .sort((a, b) => a - b)
    .map((apiKey) => {
      const request = requests.get(apiKey)!;
      const response = responses.get(apiKey) ?? fail(`api key ${apiKey} has no response`);
      const name = apiName(request.name);
      const liveRequest = parseRange(request.validVersions, request.name) !== null;
      const liveResponse = parseRange(response.validVersions, response.name) !== null;
      if (liveRequest !== liveResponse) fail(`${name}: only one direction has versions`);
      return {
        name,
        apiKey,
        request,
        response,
        requestModel: liveRequest ? buildMessage(request) : null,
        responseModel: liveResponse ? buildMessage(response) : null,
        module: liveRequest ? kebab(name) : null,
      };
    });

  rmSync(output, { recursive: true, force: true });
  mkdirSync(output, { recursive: true });
  const schemas: SchemaJson[] = [];
  const modules: string[] = [];
  for (const header of headers.sort((a, b) => a.name.localeCompare(b.name))) {
    // Header messages carry a Data suffix (as in Kafka) so that they do not clash with the
    // routing-aware header functions in protocol/headers.ts.
    const model = buildMessage(header);
    model.root.tsName = `${header.name}Data`;
    const module = kebab(header.name);
    writeFileSync(join(output, `${module}.ts`), moduleText(banner, [model]));
    schemas.push(schemaJson(model, module));
    modules.push(module);
  }
  for (const api of apis) {
    if (!api.module) continue;
    writeFileSync(
      join(output, `${api.module}.ts`),
      moduleText(banner, [api.requestModel!, api.responseModel!]),
    );
    schemas.push(schemaJson(api.requestModel!, api.module), schemaJson(api.responseModel!, api.module));
    modules.push(api.module);
  }
  writeFileSync(join(output, 'api-keys.ts'), apiKeysText(banner, apis));
  writeFileSync(join(output, 'api-codecs.ts'), apiCodecsText(banner, apis));
  writeFileSync(
    join(output, 'index.ts'),
    [
      banner,
      '',
      "export * from './api-keys';",
      "export * from './api-codecs';",
      ...modules.map((m) => `export * from './${m}';`),
      '',
    ].join('\n'),
  );
  writeFileSync(join(output, 'schemas.json'), schemasText(kafkaVersion, schemas));
  const versions = apis.reduce((n, a) => {
    const r = a.requestModel?.valid;
    return n + (r ? r.hi - r.lo + 1 : 0);
  }, 0);
  console.log(
    `generated ${modules.length - headers.length} APIs (${versions} versions each way) and ${headers.length} headers into ${output}`,
  );
}

main();
