import { ProtocolError } from './primitives';

/**
 * Walks a message while it streams past, a chunk at a time, without holding or copying it. A
 * subclass writes its walk as a generator over the primitives below; each primitive yields when
 * the chunk at hand runs out and goes on with the next one, so a field may be split anywhere.
 * Only what the walk asks for is ever read: lengths are skipped, not copied.
 */
export abstract class StreamWalker {
  private chunk: Buffer = Buffer.alloc(0);
  private position = 0;
  /** Bytes consumed before the current chunk, for error offsets. */
  private consumedBefore = 0;
  private skipLeft = 0;
  private numberValue = 0;
  private numberShift = 0;
  private walk: Generator<void, void, void> | null = null;
  private done = false;

  /** The whole walk; it returns once the part of the message it cares about is behind it. */
  protected abstract walkMessage(): Generator<void, void, void>;

  /** True once the walk has returned: later bytes are of no concern to it. */
  protected get finished(): boolean {
    return this.done;
  }

  /** Walks the next bytes. Returns how many of them the walk consumed (all, until it returns). */
  protected walkBytes(bytes: Buffer): number {
    if (this.done) return 0;
    this.walk ??= this.walkMessage();
    this.consumedBefore += this.position;
    this.chunk = bytes;
    this.position = 0;
    if (this.walk.next().done === true) this.done = true;
    return this.position;
  }

  protected *skip(count: number): Generator<void, void, void> {
    this.skipLeft = count;
    for (;;) {
      const taken = Math.min(this.skipLeft, this.chunk.length - this.position);
      this.position += taken;
      this.skipLeft -= taken;
      if (this.skipLeft === 0) return;
      yield;
    }
  }

  /** An unsigned varint, possibly split across chunks. */
  protected *varint(): Generator<void, number, void> {
    this.numberValue = 0;
    this.numberShift = 0;
    for (;;) {
      while (this.position < this.chunk.length) {
        const byte = this.chunk[this.position++];
        if (this.numberShift === 28 && byte > 0x0f) {
          throw new ProtocolError('varint is longer than 5 bytes', this.consumedBefore + this.position);
        }
        this.numberValue += (byte & 0x7f) * 2 ** this.numberShift;
        if ((byte & 0x80) === 0) return this.numberValue;
        this.numberShift += 7;
      }
      yield;
    }
  }

  /** A big-endian signed integer of `bytes` bytes (1, 2 or 4), possibly split across chunks. */
  protected *int(bytes: 1 | 2 | 4): Generator<void, number, void> {
    this.numberValue = 0;
    this.numberShift = bytes;
    for (;;) {
      while (this.position < this.chunk.length) {
        this.numberValue = this.numberValue * 256 + this.chunk[this.position++];
        if (--this.numberShift === 0) {
          const bits = bytes * 8;
          const value = this.numberValue;
          return value >= 2 ** (bits - 1) ? value - 2 ** bits : value;
        }
      }
      yield;
    }
  }
}
