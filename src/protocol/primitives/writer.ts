import type { RawTaggedField } from './tagged-fields';

/** How many bytes Writer.uvarint takes for `value` (an unsigned 32-bit integer). */
export function uvarintSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/**
 * Growable output buffer for encoding one Kafka message. It doubles its storage when full, so an
 * encode costs amortised O(size) and one final copy-free subarray.
 */
export class Writer {
  private buffer: Buffer;
  offset = 0;

  constructor(initialCapacity = 256) {
    this.buffer = Buffer.allocUnsafe(initialCapacity);
  }

  private ensure(n: number): void {
    const needed = this.offset + n;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
  }

  /** The bytes written so far (a view: do not keep writing after taking it). */
  result(): Buffer {
    return this.buffer.subarray(0, this.offset);
  }

  int8(value: number): this {
    this.ensure(1);
    this.offset = this.buffer.writeInt8(value, this.offset);
    return this;
  }

  uint8(value: number): this {
    this.ensure(1);
    this.buffer[this.offset++] = value;
    return this;
  }

  bool(value: boolean): this {
    return this.uint8(value ? 1 : 0);
  }

  int16(value: number): this {
    this.ensure(2);
    this.offset = this.buffer.writeInt16BE(value, this.offset);
    return this;
  }

  uint16(value: number): this {
    this.ensure(2);
    this.offset = this.buffer.writeUInt16BE(value, this.offset);
    return this;
  }

  int32(value: number): this {
    this.ensure(4);
    this.offset = this.buffer.writeInt32BE(value, this.offset);
    return this;
  }

  uint32(value: number): this {
    this.ensure(4);
    this.offset = this.buffer.writeUInt32BE(value, this.offset);
    return this;
  }

  int64(value: bigint): this {
    this.ensure(8);
    this.offset = this.buffer.writeBigInt64BE(value, this.offset);
    return this;
  }

  float64(value: number): this {
    this.ensure(8);
    this.offset = this.buffer.writeDoubleBE(value, this.offset);
    return this;
  }

  /** The 32-hex-digit form Reader.uuid returns. Buffer.write stops at the first non-hex digit. */
  uuid(hex: string): this {
    this.ensure(16);
    if (hex.length !== 32 || this.buffer.write(hex, this.offset, 16, 'hex') !== 16) {
      throw new RangeError(`invalid uuid ${JSON.stringify(hex)}`);
    }
    this.offset += 16;
    return this;
  }

  uvarint(value: number): this {
    this.ensure(5);
    let v = value >>> 0;
    while (v >= 0x80) {
      this.buffer[this.offset++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buffer[this.offset++] = v;
    return this;
  }

  varint(value: number): this {
    return this.uvarint((value << 1) ^ (value >> 31));
  }

  varlong(value: bigint): this {
    this.ensure(10);
    let v = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
    while (v >= 0x80n) {
      this.buffer[this.offset++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buffer[this.offset++] = Number(v);
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.offset);
    this.offset += bytes.length;
    return this;
  }

  private text(value: string, length: number): void {
    this.ensure(length);
    this.offset += this.buffer.write(value, this.offset, length, 'utf8');
  }

  string(value: string): this {
    return this.nullableString(value);
  }

  nullableString(value: string | null): this {
    if (value === null) return this.int16(-1);
    const length = Buffer.byteLength(value, 'utf8');
    this.int16(length);
    this.text(value, length);
    return this;
  }

  compactString(value: string): this {
    return this.compactNullableString(value);
  }

  compactNullableString(value: string | null): this {
    if (value === null) return this.uvarint(0);
    const length = Buffer.byteLength(value, 'utf8');
    this.uvarint(length + 1);
    this.text(value, length);
    return this;
  }

  bytes(value: Uint8Array): this {
    return this.nullableBytes(value);
  }

  nullableBytes(value: Uint8Array | null): this {
    if (value === null) return this.int32(-1);
    return this.int32(value.length).raw(value);
  }

  compactBytes(value: Uint8Array): this {
    return this.compactNullableBytes(value);
  }

  compactNullableBytes(value: Uint8Array | null): this {
    if (value === null) return this.uvarint(0);
    return this.uvarint(value.length + 1).raw(value);
  }

  arrayLength(count: number | null): this {
    return this.int32(count === null ? -1 : count);
  }

  compactArrayLength(count: number | null): this {
    return this.uvarint(count === null ? 0 : count + 1);
  }

  /** Writes a tagged-field section of fields already encoded and sorted by tag. */
  taggedFields(fields: readonly RawTaggedField[]): this {
    this.uvarint(fields.length);
    for (const field of fields) this.uvarint(field.tag).uvarint(field.data.length).raw(field.data);
    return this;
  }

  /** Reserves an int32 slot to be filled later (frame sizes, batch lengths). */
  reserveInt32(): number {
    this.ensure(4);
    const at = this.offset;
    this.offset += 4;
    return at;
  }

  setInt32(at: number, value: number): void {
    this.buffer.writeInt32BE(value, at);
  }

  setUint32(at: number, value: number): void {
    this.buffer.writeUInt32BE(value, at);
  }

  /**
   * Zigzag varlong from a number or a bigint (the counterpart of Reader.varlongNumber). Numbers
   * must be safe integers; small ones avoid BigInt arithmetic entirely.
   */
  varlongNumber(value: number | bigint): this {
    if (typeof value === 'bigint') return this.varlong(value);
    if ((value | 0) === value) return this.varint(value);
    if (!Number.isSafeInteger(value)) throw new RangeError(`varlong value ${value} is not a safe integer`);
    // Below 2^52 in magnitude the zigzag form stays under 2^53 and double arithmetic is exact.
    if (value >= 2 ** 52 || value <= -(2 ** 52)) return this.varlong(BigInt(value));
    this.ensure(8);
    let raw = value >= 0 ? value * 2 : -value * 2 - 1;
    while (raw >= 0x80) {
      this.buffer[this.offset++] = (raw % 0x80) | 0x80;
      raw = Math.floor(raw / 0x80);
    }
    this.buffer[this.offset++] = raw;
    return this;
  }

  /** UTF-8 text whose encoded length the caller has already measured (and written, if needed). */
  utf8(value: string, byteLength: number): this {
    // Short ASCII strings (header keys, mostly) are cheaper to copy here than through the encoder.
    if (byteLength === value.length && byteLength <= 32) {
      this.ensure(byteLength);
      for (let i = 0; i < byteLength; i++) this.buffer[this.offset++] = value.charCodeAt(i);
      return this;
    }
    this.text(value, byteLength);
    return this;
  }
}
