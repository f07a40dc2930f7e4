import { ProtocolError } from './protocol-error';
import { NO_TAGGED_FIELDS, type RawTaggedField } from './tagged-fields';

const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Sequential reader over one Kafka message. Every length and count is checked against the bytes
 * that are left before anything is allocated, so hostile input can only ever produce a
 * ProtocolError. Byte fields are returned as views into the source buffer (no copy): callers that
 * keep them beyond the life of the frame must copy.
 */
export class Reader {
  offset: number;
  readonly end: number;

  constructor(
    readonly buffer: Buffer,
    offset = 0,
    end = buffer.length,
  ) {
    if (offset < 0 || end > buffer.length || offset > end) {
      throw new ProtocolError(
        `reader bounds ${offset}..${end} outside a ${buffer.length}-byte buffer`,
        offset,
      );
    }
    this.offset = offset;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  fail(message: string, at = this.offset): never {
    throw new ProtocolError(message, at);
  }

  private need(n: number, what: string): number {
    const at = this.offset;
    if (n > this.end - at) this.fail(`${what} needs ${n} bytes but only ${this.end - at} remain`, at);
    this.offset = at + n;
    return at;
  }

  int8(): number {
    return this.buffer.readInt8(this.need(1, 'int8'));
  }

  uint8(): number {
    return this.buffer[this.need(1, 'uint8')];
  }

  bool(): boolean {
    return this.buffer[this.need(1, 'boolean')] !== 0;
  }

  int16(): number {
    return this.buffer.readInt16BE(this.need(2, 'int16'));
  }

  uint16(): number {
    return this.buffer.readUInt16BE(this.need(2, 'uint16'));
  }

  int32(): number {
    return this.buffer.readInt32BE(this.need(4, 'int32'));
  }

  uint32(): number {
    return this.buffer.readUInt32BE(this.need(4, 'uint32'));
  }

  int64(): bigint {
    return this.buffer.readBigInt64BE(this.need(8, 'int64'));
  }

  float64(): number {
    return this.buffer.readDoubleBE(this.need(8, 'float64'));
  }

  /** UUIDs stay as their 16 raw bytes in canonical hex form; Kafka compares them, never computes. */
  uuid(): string {
    const at = this.need(16, 'uuid');
    return this.buffer.toString('hex', at, at + 16);
  }

  /** Unsigned LEB128 varint of at most 32 bits. */
  uvarint(): number {
    const start = this.offset;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.offset >= this.end) this.fail('truncated varint', start);
      const byte = this.buffer[this.offset++];
      if (shift === 28 && byte > 0x0f) this.fail('varint longer than 32 bits', start);
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }

  /** Zigzag-encoded signed 32-bit varint. */
  varint(): number {
    const raw = this.uvarint();
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** Zigzag-encoded signed 64-bit varint, as a bigint (record timestamps deltas etc. use it). */
  varlong(): bigint {
    const start = this.offset;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      if (this.offset >= this.end) this.fail('truncated varlong', start);
      if (i === 10) this.fail('varlong longer than 64 bits', start);
      const byte = this.buffer[this.offset++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
    }
    result = BigInt.asUintN(64, result);
    return (result >> 1n) ^ -(result & 1n);
  }

  private text(length: number, what: string): string {
    const at = this.need(length, what);
    return this.buffer.toString('utf8', at, at + length);
  }

  string(): string {
    const at = this.offset;
    const value = this.nullableString();
    if (value === null) this.fail('null in a non-nullable string', at);
    return value;
  }

  nullableString(): string | null {
    const at = this.offset;
    const length = this.int16();
    if (length === -1) return null;
    if (length < 0) this.fail(`invalid string length ${length}`, at);
    return this.text(length, 'string');
  }

  compactString(): string {
    const at = this.offset;
    const value = this.compactNullableString();
    if (value === null) this.fail('null in a non-nullable compact string', at);
    return value;
  }

  compactNullableString(): string | null {
    const lengthPlusOne = this.uvarint();
    if (lengthPlusOne === 0) return null;
    return this.text(lengthPlusOne - 1, 'compact string');
  }

  /** Moves past `length` bytes and returns where they start: raw() without the view. */
  skip(length: number): number {
    return this.need(length, 'bytes');
  }

  raw(length: number): Buffer {
    const at = this.skip(length);
    return this.buffer.subarray(at, at + length);
  }

  bytes(): Buffer {
    const at = this.offset;
    const value = this.nullableBytes();
    if (value === null) this.fail('null in non-nullable bytes', at);
    return value;
  }

  nullableBytes(): Buffer | null {
    const at = this.offset;
    const length = this.int32();
    if (length === -1) return null;
    if (length < 0) this.fail(`invalid bytes length ${length}`, at);
    return this.raw(length);
  }

  compactBytes(): Buffer {
    const at = this.offset;
    const value = this.compactNullableBytes();
    if (value === null) this.fail('null in non-nullable compact bytes', at);
    return value;
  }

  compactNullableBytes(): Buffer | null {
    const lengthPlusOne = this.uvarint();
    if (lengthPlusOne === 0) return null;
    return this.raw(lengthPlusOne - 1);
  }

  /**
   * Element count of a classic array, -1 meaning null. Each element takes at least
   * `minElementBytes`, so a count the remaining bytes cannot hold is rejected before allocation.
   */
  arrayLength(minElementBytes = 1): number {
    const at = this.offset;
    const count = this.int32();
    if (count === -1) return -1;
    if (count < 0) this.fail(`invalid array length ${count}`, at);
    this.checkCount(count, minElementBytes, at);
    return count;
  }

  /** Element count of a compact array, -1 meaning null. */
  compactArrayLength(minElementBytes = 1): number {
    const at = this.offset;
    const countPlusOne = this.uvarint();
    if (countPlusOne === 0) return -1;
    const count = countPlusOne - 1;
    this.checkCount(count, minElementBytes, at);
    return count;
  }

  private checkCount(count: number, minElementBytes: number, at: number): void {
    if (count * minElementBytes > this.end - this.offset) {
      this.fail(`array of ${count} elements cannot fit in the ${this.end - this.offset} bytes left`, at);
    }
  }

  /**
   * Reads a tagged-field section whose tags are all unknown to the caller, returned raw so that
   * they survive a re-encode byte for byte.
   */
  taggedFields(): RawTaggedField[] {
    const count = this.uvarint();
    if (count === 0) return NO_TAGGED_FIELDS;
    this.checkCount(count, 2, this.offset);
    const fields: RawTaggedField[] = [];
    let previousTag = -1;
    for (let i = 0; i < count; i++) {
      const tagAt = this.offset;
      const tag = this.uvarint();
      if (tag <= previousTag) this.fail(`tagged field ${tag} out of order`, tagAt);
      previousTag = tag;
      fields.push({ tag, data: this.raw(this.uvarint()) });
    }
    return fields;
  }

  /** Skips a tagged-field section without keeping it. */
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.raw(this.uvarint());
    }
  }

  /**
   * Zigzag-encoded signed 64-bit varint as a number when that is exact (|v| <= 2^53 - 1), and as
   * a bigint otherwise. Record timestamp deltas are one or two bytes in practice, and a bigint per
   * record would cost more than the rest of the record decode; the bigint fallback keeps values
   * from odd clients exact so that a re-encode reproduces them.
   */
  varlongNumber(): number | bigint {
    const start = this.offset;
    const buffer = this.buffer;
    let raw = 0;
    let scale = 1;
    // Up to 7 bytes carry at most 49 bits, so the double arithmetic below stays exact.
    for (let i = 0; i < 7; i++) {
      if (this.offset >= this.end) this.fail('truncated varlong', start);
      const byte = buffer[this.offset++];
      raw += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      scale *= 128;
    }
    this.offset = start;
    const value = this.varlong();
    return value >= -MAX_SAFE_BIGINT && value <= MAX_SAFE_BIGINT ? Number(value) : value;
  }
}
