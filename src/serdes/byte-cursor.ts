/**
 * A position in a record's bytes with the reason the last read failed. Checks return false on
 * failure instead of throwing: a producer sending bad bytes in every record must cost no more
 * than one sending good ones.
 */
export class ByteCursor {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;
  /** How deep the check is in nested values; bounded so that hostile nesting cannot exhaust the stack. */
  depth = 0;
  reason = '';
  /** Where the failure happened, innermost step first (filled only on the way out of a failure). */
  readonly path: string[] = [];
  /** The last varint read, as a number (exact to 2^53, which is beyond any length a record can hold). */
  value = 0;

  reset(buf: Buffer, from: number, end: number): void {
    this.buf = buf;
    this.pos = from;
    this.end = end;
    this.depth = 0;
    this.reason = '';
    this.path.length = 0;
  }

  /** The failure's reason, with its place in the value when known (`at items[2].name: ...`). */
  described(): string {
    if (this.path.length === 0) return this.reason;
    let place = '';
    for (let i = this.path.length - 1; i >= 0; i--) {
      const step = this.path[i];
      place += place === '' || step.startsWith('[') ? step : `.${step}`;
    }
    return `at ${place}: ${this.reason}`;
  }

  fail(reason: string): false {
    this.reason = reason;
    return false;
  }

  /** Reads an unsigned base-128 varint of at most `maxBytes` bytes into `value`. */
  varint(maxBytes: number): boolean {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < maxBytes; i++) {
      if (this.pos >= this.end) return this.fail('truncated payload');
      const byte = this.buf[this.pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        // The last byte of a 10-byte varint holds only the 64th bit.
        if (i === 9 && byte > 1) return this.fail('invalid varint');
        this.value = result;
        return true;
      }
      scale *= 128;
    }
    return this.fail('invalid varint');
  }

  /** Reads a zig-zag encoded varint (Avro's int and long) into `value`. */
  zigzag(maxBytes: number): boolean {
    if (!this.varint(maxBytes)) return false;
    const raw = this.value;
    const half = Math.floor(raw / 2);
    this.value = raw % 2 === 1 ? -half - 1 : half;
    return true;
  }

  skip(bytes: number): boolean {
    if (bytes > this.end - this.pos) return this.fail('truncated payload');
    this.pos += bytes;
    return true;
  }
}

/** Deeper nesting than this is refused: real schemas nest a few levels, hostile bytes thousands. */
export const MAX_DEPTH = 64;
