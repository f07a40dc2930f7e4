import type { Type } from 'avsc';
import { ByteCursor, MAX_DEPTH } from './byte-cursor';

const enum Kind {
  Null,
  Boolean,
  Int,
  Long,
  Float,
  Double,
  Bytes,
  String,
  Record,
  Enum,
  Array,
  Map,
  Union,
  Fixed,
}

/** One node of an Avro schema, as the check walks it (recursive schemas give a cyclic graph). */
interface AvroNode {
  kind: Kind;
  /** Records: the fields' nodes and names, in order. */
  fields: AvroNode[];
  names: string[];
  /** Arrays, maps: the items' node. Unions: the branches. */
  items: AvroNode | null;
  branches: AvroNode[];
  /** Enums: the number of symbols; fixed: the size. */
  size: number;
  /** True when a value of this node takes no bytes (null, an empty record): counts of them are bounded apart. */
  empty: boolean;
}

/**
 * Arrays and maps of values that take no bytes could claim any count in a few bytes; a count this
 * large of them is refused, so that checking (and decoding for the tap) stays bounded.
 */
const MAX_EMPTY_ITEMS = 65_536;

const PRIMITIVES: Record<string, Kind> = {
  null: Kind.Null,
  boolean: Kind.Boolean,
  int: Kind.Int,
  long: Kind.Long,
  float: Kind.Float,
  double: Kind.Double,
  bytes: Kind.Bytes,
  string: Kind.String,
};

function node(kind: Kind): AvroNode {
  return { kind, fields: [], names: [], items: null, branches: [], size: 0, empty: kind === Kind.Null };
}

/** The walk over an avsc type; named types are visited once, so recursive schemas end. */
function build(type: Type, seen: Map<Type, AvroNode>): AvroNode {
  const known = seen.get(type);
  if (known !== undefined) return known;
  const typeName = (type as { typeName: string }).typeName;
  const primitive = PRIMITIVES[typeName];
  if (primitive !== undefined) return node(primitive);
  const t = type as unknown as {
    fields?: { name: string; type: Type }[];
    itemsType?: Type;
    valuesType?: Type;
    types?: Type[];
    symbols?: string[];
    size?: number;
    underlyingType?: Type;
  };
  if (typeName === 'logical:' || t.underlyingType !== undefined) return build(t.underlyingType!, seen);
  let result: AvroNode;
  if (typeName === 'record' || typeName === 'error') {
    result = node(Kind.Record);
    seen.set(type, result);
    for (const field of t.fields!) {
      result.fields.push(build(field.type, seen));
      result.names.push(field.name);
    }
    result.empty = result.fields.every((f) => f.empty && f !== result);
  } else if (typeName === 'enum') {
    result = node(Kind.Enum);
    result.size = t.symbols!.length;
  } else if (typeName === 'fixed') {
    result = node(Kind.Fixed);
    result.size = t.size!;
    result.empty = result.size === 0;
  } else if (typeName === 'array') {
    result = node(Kind.Array);
    result.items = build(t.itemsType!, seen);
  } else if (typeName === 'map') {
    result = node(Kind.Map);
    result.items = build(t.valuesType!, seen);
  } else if (typeName.startsWith('union')) {
    result = node(Kind.Union);
    result.branches = t.types!.map((branch) => build(branch, seen));
  } else {
    throw new Error(`unsupported Avro type ${typeName}`);
  }
  seen.set(type, result);
  return result;
}

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;

/**
 * Checks that bytes are exactly one value of an Avro schema, without building the value: every
 * length, count and index is bounded by the bytes left, so the work is linear in the input
 * whatever it claims.
 */
export class AvroCheck {
  private readonly root: AvroNode;
  private readonly cursor = new ByteCursor();

  constructor(type: Type) {
    this.root = build(type, new Map());
  }

  /** Null when buf[from, end) is one value of the schema, else why not. */
  check(buf: Buffer, from: number, end: number): string | null {
    const cursor = this.cursor;
    cursor.reset(buf, from, end);
    if (!this.value(this.root)) return cursor.described();
    if (cursor.pos !== end) return `trailing bytes (${end - cursor.pos} after the value)`;
    return null;
  }

  private value(n: AvroNode): boolean {
    const c = this.cursor;
    switch (n.kind) {
      case Kind.Null:
        return true;
      case Kind.Boolean:
        if (c.pos >= c.end) return c.fail('truncated payload');
        if (c.buf[c.pos++] > 1) return c.fail('invalid boolean byte');
        return true;
      case Kind.Int:
        if (!c.zigzag(5)) return false;
        if (c.value < INT_MIN || c.value > INT_MAX) return c.fail('int out of range');
        return true;
      case Kind.Long:
        return c.zigzag(10);
      case Kind.Float:
        return c.skip(4);
      case Kind.Double:
        return c.skip(8);
      case Kind.Bytes:
      case Kind.String:
        if (!c.zigzag(10)) return false;
        if (c.value < 0) return c.fail(`negative length ${c.value}`);
        return c.skip(c.value);
      case Kind.Fixed:
        return c.skip(n.size);
      case Kind.Enum:
        if (!c.zigzag(10)) return false;
        if (c.value < 0 || c.value >= n.size) return c.fail(`bad enum index ${c.value}`);
        return true;
      case Kind.Union: {
        if (!c.zigzag(10)) return false;
        const index = c.value;
        if (index < 0 || index >= n.branches.length) return c.fail(`bad union index ${index}`);
        return this.nested(n.branches[index]);
      }
      case Kind.Record:
        for (let f = 0; f < n.fields.length; f++) {
          if (!this.nested(n.fields[f])) return this.at(n.names[f]);
        }
        return true;
      case Kind.Array:
      case Kind.Map:
        return this.blocks(n);
    }
  }

  /** Arrays and maps: blocks of items, each block a count (negative: followed by its byte size), ending with 0. */
  private blocks(n: AvroNode): boolean {
    const c = this.cursor;
    const items = n.items!;
    const isMap = n.kind === Kind.Map;
    let emptyItems = 0;
    for (;;) {
      if (!c.zigzag(10)) return false;
      let count = c.value;
      if (count === 0) return true;
      if (count < 0) {
        count = -count;
        if (!c.zigzag(10)) return false;
        if (c.value < 0) return c.fail(`negative block size ${c.value}`);
      }
      if (!isMap && items.empty) {
        // No bytes to read per item: the count alone is the whole cost, so it is bounded.
        emptyItems += count;
        if (emptyItems > MAX_EMPTY_ITEMS) return c.fail(`more than ${MAX_EMPTY_ITEMS} empty items`);
        continue;
      }
      // Each item (or map key) takes at least one byte: a count beyond the bytes left is a lie.
      if (count > c.end - c.pos) return c.fail('truncated payload');
      for (let i = 0; i < count; i++) {
        if (isMap) {
          if (!c.zigzag(10)) return false;
          if (c.value < 0) return c.fail(`negative length ${c.value}`);
          if (!c.skip(c.value)) return false;
        }
        if (!this.nested(items)) return this.at(`[${i}]`);
      }
    }
  }

  private nested(n: AvroNode): boolean {
    const c = this.cursor;
    if (++c.depth > MAX_DEPTH) return c.fail(`nesting deeper than ${MAX_DEPTH}`);
    const ok = this.value(n);
    c.depth--;
    return ok;
  }

  /** Notes the failure's place on the way out (only failures pay for it). */
  private at(step: string): false {
    this.cursor.path.push(step);
    return false;
  }
}
