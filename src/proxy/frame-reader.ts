import { ProtocolError, type Writer } from '../protocol/primitives';

/**
 * Where a FrameReader delivers what it cuts from the stream. A frame that is not complete in the
 * data at hand is offered to `frameStart`; accepting it means its remaining bytes are handed over
 * as they arrive (cut-through) instead of being assembled into one buffer.
 */
export interface FrameSink {
  /** A whole frame payload (without the size prefix): a view of the chunk when it fits in one. */
  frame(payload: Buffer): void;
  /**
   * A frame whose payload is `size` bytes starts, and only `head` has arrived so far: the size prefix
   * followed by at least the first `headBytes` of the payload, untouched. Return true to take
   * the rest through `frameRest`, false to receive the frame whole through `frame` later.
   */
  frameStart(size: number, head: Buffer): boolean;
  /** More bytes of an accepted frame; `remaining` is what is still to come (0 for its last bytes). */
  frameRest(bytes: Buffer, remaining: number): void;
}

/**
 * A frame payload this reader delivered, together with the size prefix in front of it, as one view
 * of the same memory: forwarding an untouched frame then takes one buffer and no copy.
 */
export function withSizePrefix(payload: Buffer): Buffer {
  return Buffer.from(payload.buffer, payload.byteOffset - 4, payload.length + 4);
}

declare const sizePrefixed: unique symbol;
/**
 * A frame payload the gateway wrote with its size prefix in the 4 bytes in front of it, in the
 * same memory: like a frame the reader delivered, it leaves with its prefix as one view
 * (`withSizePrefix`), in one write. Only `sizedFrame` makes one.
 */
export type SizedFrame = Buffer & { readonly [sizePrefixed]: true };

/** The payload of `writer`'s frame, with the size prefix filled in the int32 reserved at `sizeAt`. */
export function sizedFrame(writer: Writer, sizeAt: number): SizedFrame {
  const whole = writer.result();
  writer.setInt32(sizeAt, whole.length - sizeAt - 4);
  return whole.subarray(sizeAt + 4) as SizedFrame;
}

/** Collects whole frames only (what `push` returns). */
class FrameCollector implements FrameSink {
  frames: Buffer[] = [];
  frame(payload: Buffer): void {
    this.frames.push(payload);
  }
  frameStart(): boolean {
    return false;
  }
  frameRest(): void {}
}

/**
 * Cuts a TCP byte stream into Kafka frames (int32 size + payload). Whole frames inside one chunk
 * are views of that chunk, so the common case copies nothing. A frame that straddles chunks is
 * either passed through piece by piece (when the sink accepts it) or assembled once into a
 * buffer of exactly its size.
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Size of the frame being assembled (payload only), or -1 while its size prefix is incomplete. */
  private expected = -1;
  /** Bytes still to come of a frame the sink takes piece by piece. */
  private passing = 0;

  /**
   * @param headBytes how much of a frame's payload must have arrived before it is offered to
   *   `frameStart`: enough for the sink to decide from the head alone.
   */
  constructor(
    private readonly maxFrameBytes: number,
    private readonly headBytes = 64,
  ) {}

  /** Appends a chunk and returns every frame (payload without the size prefix) it completes. */
  push(chunk: Buffer): Buffer[] {
    const collector = new FrameCollector();
    this.feed(chunk, collector);
    return collector.frames;
  }

  /** Appends a chunk, delivering what it completes or continues to `sink`. */
  feed(chunk: Buffer, sink: FrameSink): void {
    let offset = 0;
    if (this.passing > 0) {
      const taken = Math.min(this.passing, chunk.length);
      this.passing -= taken;
      sink.frameRest(taken === chunk.length ? chunk : chunk.subarray(0, taken), this.passing);
      offset = taken;
    } else if (this.pendingBytes > 0) {
      offset = this.continuePending(chunk, sink);
      if (offset < 0) return;
    }
    while (chunk.length - offset >= 4) {
      const size = this.checkSize(chunk.readInt32BE(offset), offset);
      const available = chunk.length - offset - 4;
      if (available >= size) {
        sink.frame(chunk.subarray(offset + 4, offset + 4 + size));
        offset += 4 + size;
        continue;
      }
      if (available >= this.headBytes && sink.frameStart(size, chunk.subarray(offset))) {
        this.passing = size - available;
        return;
      }
      break;
    }
    if (offset < chunk.length) {
      const rest = chunk.subarray(offset);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
      this.expected = rest.length >= 4 ? this.checkSize(rest.readInt32BE(0), offset) : -1;
    }
  }

  /** Bytes held for a frame not yet complete (for diagnostics and tests). */
  bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** True while the rest of a frame the sink accepted is still arriving. */
  passingThrough(): boolean {
    return this.passing > 0;
  }

  /**
   * Feeds the start of `chunk` into the frame being assembled. Returns the offset in `chunk` where
   * unconsumed bytes start, or -1 when the whole chunk was absorbed.
   */
  private continuePending(chunk: Buffer, sink: FrameSink): number {
    if (this.expected < 0) {
      const head = Buffer.concat([...this.pending, chunk.subarray(0, 4)]);
      if (head.length < 4) {
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
        return -1;
      }
      this.expected = this.checkSize(head.readInt32BE(0), 0);
    }
    const total = 4 + this.expected;
    const missing = total - this.pendingBytes;
    if (chunk.length < missing) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      return -1;
    }
    this.pending.push(chunk.subarray(0, missing));
    const frame = Buffer.concat(this.pending, total);
    this.pending = [];
    this.pendingBytes = 0;
    this.expected = -1;
    sink.frame(frame.subarray(4));
    return missing;
  }

  private checkSize(size: number, offset: number): number {
    if (size < 0) throw new ProtocolError(`negative frame size ${size}`, offset);
    if (size > this.maxFrameBytes) {
      throw new ProtocolError(`frame of ${size} bytes exceeds the ${this.maxFrameBytes}-byte limit`, offset);
    }
    return size;
  }
}
