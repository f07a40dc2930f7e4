import { ProtocolError } from './primitives';
import { StreamWalker } from './stream-walker';

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
export class TaggedTailScanner extends StreamWalker {
  /** `layout` describes the message after the response header (correlation id and header tags). */
  constructor(private readonly layout: Layout) {
    super();
  }

  /** True once the tail has started: every later byte belongs to it. */
  get reachedTail(): boolean {
    return this.finished;
  }

  /**
   * Takes the next bytes of the response payload and returns how many of them come before the
   * tail (all of them until it starts; 0 once it has).
   */
  push(bytes: Buffer): number {
    return this.walkBytes(bytes);
  }

  /**
   * Offset of the tail in a whole response payload. Every produce response takes this path, so it
   * walks the buffer directly: the generators that let the scanner stop anywhere in a stream cost
   * an object per field, which a payload already whole does not need.
   */
  static find(payload: Buffer, layout: Layout): number {
    const walk = new WholeWalk(payload);
    walk.skip(4);
    walk.tags();
    walk.layout(layout);
    return walk.position;
  }

  protected *walkMessage(): Generator<void, void, void> {
    // Response header v1: correlation id, then the header's tagged fields.
    yield* this.skip(4);
    yield* this.walkTags();
    yield* this.walkLayout(this.layout);
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
}

/** The scanner's walk over a payload that is already whole. */
class WholeWalk {
  position = 0;

  constructor(private readonly payload: Buffer) {}

  skip(count: number): void {
    this.position += count;
    if (this.position > this.payload.length)
      throw new ProtocolError('response ends before its tagged fields', this.payload.length);
  }

  varint(): number {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (this.position >= this.payload.length)
        throw new ProtocolError('response ends before its tagged fields', this.payload.length);
      const byte = this.payload[this.position++];
      if (shift === 28 && byte > 0x0f)
        throw new ProtocolError('varint is longer than 5 bytes', this.position);
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
  }

  layout(layout: Layout): void {
    for (const step of layout) {
      if (typeof step === 'number') {
        this.skip(step);
      } else if (step === 'string') {
        const length = this.varint();
        if (length > 1) this.skip(length - 1);
      } else if (step === 'tags') {
        this.tags();
      } else {
        const count = this.varint();
        for (let i = 1; i < count; i++) this.layout(step);
      }
    }
  }

  /** A tagged-field section inside the message (the tail, the message's own, is never walked). */
  tags(): void {
    const count = this.varint();
    for (let i = 0; i < count; i++) {
      this.varint();
      this.skip(this.varint());
    }
  }
}
