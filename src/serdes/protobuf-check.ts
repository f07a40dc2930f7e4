import { isUtf8 } from 'node:buffer';
import type { Type } from 'protobufjs';
import { ByteCursor, MAX_DEPTH } from './byte-cursor';

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const SGROUP = 3;
const EGROUP = 4;
const I32 = 5;

const WIRE_TYPES: Record<string, number> = {
  int32: VARINT,
  int64: VARINT,
  uint32: VARINT,
  uint64: VARINT,
  sint32: VARINT,
  sint64: VARINT,
  bool: VARINT,
  fixed64: I64,
  sfixed64: I64,
  double: I64,
  string: LEN,
  bytes: LEN,
  fixed32: I32,
  sfixed32: I32,
  float: I32,
};

interface FieldPlan {
  name: string;
  wire: number;
  /** Repeated scalars may come packed (one LEN field) as well as one by one. */
  packable: boolean;
  utf8: boolean;
  message: MessagePlan | null;
}

interface MessagePlan {
  fields: Map<number, FieldPlan>;
}

function scalarPlan(name: string, type: string, repeated: boolean): FieldPlan {
  // Enums are varints; anything else not scalar is a message (resolved by the caller).
  const wire = WIRE_TYPES[type] ?? VARINT;
  return { name, wire, packable: repeated && wire !== LEN, utf8: type === 'string', message: null };
}

function plan(type: Type, seen: Map<Type, MessagePlan>): MessagePlan {
  const known = seen.get(type);
  if (known !== undefined) return known;
  const result: MessagePlan = { fields: new Map() };
  seen.set(type, result);
  for (const field of type.fieldsArray) {
    field.resolve();
    const resolved = field.resolvedType;
    const isMessage = resolved !== null && (resolved as { fieldsArray?: unknown }).fieldsArray !== undefined;
    const map = (field as { map?: boolean; keyType?: string }).map === true;
    if (map) {
      // A map field is a repeated entry message: key as field 1, value as field 2.
      const entry: MessagePlan = { fields: new Map() };
      entry.fields.set(1, scalarPlan('key', (field as unknown as { keyType: string }).keyType, false));
      entry.fields.set(
        2,
        isMessage
          ? { name: 'value', wire: LEN, packable: false, utf8: false, message: plan(resolved as Type, seen) }
          : scalarPlan('value', field.type, false),
      );
      result.fields.set(field.id, {
        name: field.name,
        wire: LEN,
        packable: false,
        utf8: false,
        message: entry,
      });
    } else if (isMessage) {
      result.fields.set(field.id, {
        name: field.name,
        wire: LEN,
        packable: false,
        utf8: false,
        message: plan(resolved as Type, seen),
      });
    } else {
      result.fields.set(field.id, scalarPlan(field.name, field.type, field.repeated));
    }
  }
  return result;
}

/**
 * Checks that bytes are one message of a Protobuf type, without building it: each known field
 * must come with the wire type its declaration gives, strings must be UTF-8, nested messages are
 * checked in turn; unknown fields are skipped, as every Protobuf reader does. Lengths are bounded
 * by the bytes left and nesting by MAX_DEPTH, so the work is linear in the input.
 */
export class ProtobufCheck {
  private readonly root: MessagePlan;
  private readonly cursor = new ByteCursor();

  constructor(type: Type) {
    this.root = plan(type, new Map());
  }

  check(buf: Buffer, from: number, end: number): string | null {
    const cursor = this.cursor;
    cursor.reset(buf, from, end);
    return this.message(this.root, end) ? null : cursor.described();
  }

  private message(m: MessagePlan, end: number): boolean {
    const c = this.cursor;
    while (c.pos < end) {
      if (!c.varint(10)) return false;
      const tag = c.value;
      const wire = tag % 8;
      const number = Math.floor(tag / 8);
      if (number === 0 || number > 536_870_911) return c.fail(`invalid field number ${number}`);
      const field = m.fields.get(number);
      if (field === undefined) {
        if (!this.skipUnknown(wire, number, end)) return false;
        continue;
      }
      if (wire === field.wire) {
        if (!this.field(field, wire, end)) return this.at(field.name);
      } else if (wire === LEN && field.packable) {
        if (!this.packed(field, end)) return this.at(field.name);
      } else {
        return this.at(field.name, c.fail(`wire type ${wire} where the schema expects ${field.wire}`));
      }
    }
    // A length-delimited message that ends past its parent's bytes is truncated.
    return c.pos === end ? true : c.fail('truncated payload');
  }

  private field(field: FieldPlan, wire: number, end: number): boolean {
    const c = this.cursor;
    switch (wire) {
      case VARINT:
        return c.varint(10);
      case I64:
        return this.within(8, end);
      case I32:
        return this.within(4, end);
      default: {
        if (!c.varint(10)) return false;
        const length = c.value;
        if (length > end - c.pos) return c.fail('truncated payload');
        const start = c.pos;
        if (field.message !== null) {
          if (++c.depth > MAX_DEPTH) return c.fail(`nesting deeper than ${MAX_DEPTH}`);
          const ok = this.message(field.message, start + length);
          c.depth--;
          return ok;
        }
        if (field.utf8 && !isUtf8(c.buf.subarray(start, start + length)))
          return c.fail('string is not valid UTF-8');
        c.pos += length;
        return true;
      }
    }
  }

  private packed(field: FieldPlan, end: number): boolean {
    const c = this.cursor;
    if (!c.varint(10)) return false;
    const length = c.value;
    if (length > end - c.pos) return c.fail('truncated payload');
    const stop = c.pos + length;
    while (c.pos < stop) {
      const ok = field.wire === VARINT ? c.varint(10) : this.within(field.wire === I64 ? 8 : 4, stop);
      if (!ok) return false;
      if (c.pos > stop) return c.fail('truncated payload');
    }
    return true;
  }

  private within(bytes: number, end: number): boolean {
    const c = this.cursor;
    if (bytes > end - c.pos) return c.fail('truncated payload');
    c.pos += bytes;
    return true;
  }

  private skipUnknown(wire: number, number: number, end: number): boolean {
    const c = this.cursor;
    switch (wire) {
      case VARINT:
        return c.varint(10);
      case I64:
        return this.within(8, end);
      case I32:
        return this.within(4, end);
      case LEN:
        if (!c.varint(10)) return false;
        return this.within(c.value, end);
      case SGROUP: {
        // Groups (proto2) end with an end-group tag of the same number; their contents are unknown fields.
        if (++c.depth > MAX_DEPTH) return c.fail(`nesting deeper than ${MAX_DEPTH}`);
        for (;;) {
          if (c.pos >= end) return c.fail('truncated payload');
          if (!c.varint(10)) return false;
          const tag = c.value;
          if (tag % 8 === EGROUP) {
            if (Math.floor(tag / 8) !== number) return c.fail('mismatched end of group');
            c.depth--;
            return true;
          }
          if (!this.skipUnknown(tag % 8, Math.floor(tag / 8), end)) return false;
        }
      }
      default:
        return c.fail(`invalid wire type ${wire}`);
    }
  }

  private at(step: string, _failed?: false): false {
    this.cursor.path.push(step);
    return false;
  }
}
