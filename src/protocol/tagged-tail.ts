import { ProtocolError } from './primitives';

/**
 * The shape of a flexible message, reduced to what it takes to walk past it without decoding:
 * - a number: that many bytes of fixed-width fields;
 * - 'string': a compact (nullable) string or byte array: unsigned varint length + 1, then the bytes;
 * - 'tags': a tagged-field section;
 * - a nested array: a compact (nullable) array whose items have that shape.
 */
export type Layout = readonly LayoutStep[];
export type LayoutStep = number | 'string' | 'tags' | Layout;

/**
 * Finds where a response's own tagged fields begin (the last part of every flexible message, and
 * where KIP-951 puts node endpoints) while the response streams past, a chunk at a time, without
 * holding or copying it. Record data is skipped by its length; only varints are ever read.
 */
export class TaggedTailScanner {
  private chunk: Buffer = Buffer.alloc(0);
  private position = 0;
  /** Bytes consumed before the current chunk, for error offsets. */
  private consumedBefore = 0;
  private skipLeft = 0;
  private varintValue = 0;
  private varintShift = 0;
  private readonly walk: Generator<void, void, void>;
  private done = false;

  /** `layout` describes the message after the response header (correlation id and header tags). */
  constructor(layout: Layout) {
    this.walk = this.walkMessage(layout);
  }

  /** True once the tail has started: every later byte belongs to it. */
  get reachedTail(): boolean {
    return this.done;
  }

  /**
   * Takes the next bytes of the response payload and returns how many of them come before the
   * tail (all of them until it starts; 0 once it has).
   */
  push(bytes: Buffer): number {
    if (this.done) return 0;
    this.consumedBefore += this.position;
    this.chunk = bytes;
    this.position = 0;
    if (this.walk.next().done === true) this.done = true;
    return this.position;
  }

  /** Offset of the tail in a whole response payload. */
  static find(payload: Buffer, layout: Layout): number {
    const scanner = new TaggedTailScanner(layout);
    const before = scanner.push(payload);
    if (!scanner.reachedTail)
      throw new ProtocolError('response ends before its tagged fields', payload.length);
    return before;
  }

  private *walkMessage(layout: Layout): Generator<void, void, void> {
    // Response header v1: correlation id, then the header's tagged fields.
    yield* this.skip(4);
    yield* this.walkTags();
    yield* this.walkLayout(layout);
  }

  private *walkLayout(layout: Layout): Generator<void, void, void> {
    for (const step of layout) {
      if (typeof step === 'number') {
        yield* this.skip(step);
      } else if (step === 'string') {
        const length = yield* this.varint();
        if (length > 1) yield* this.skip(length - 1);
      } else if (step === 'tags') {
        yield* this.walkTags();
      } else {
        const count = yield* this.varint();
        for (let i = 1; i < count; i++) yield* this.walkLayout(step);
      }
    }
  }

  private *walkTags(): Generator<void, void, void> {
    const count = yield* this.varint();
    for (let i = 0; i < count; i++) {
      yield* this.varint();
      const size = yield* this.varint();
      yield* this.skip(size);
    }
  }

  private *skip(count: number): Generator<void, void, void> {
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
  private *varint(): Generator<void, number, void> {
    this.varintValue = 0;
    this.varintShift = 0;
    for (;;) {
      while (this.position < this.chunk.length) {
        const byte = this.chunk[this.position++];
        if (this.varintShift === 28 && byte > 0x0f) {
          throw new ProtocolError('varint is longer than 5 bytes', this.consumedBefore + this.position);
        }
        this.varintValue += (byte & 0x7f) * 2 ** this.varintShift;
        if ((byte & 0x80) === 0) return this.varintValue;
        this.varintShift += 7;
      }
      yield;
    }
  }
}
