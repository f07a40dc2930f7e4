import { ProtocolError } from '../protocol/primitives';

/**
 * Cuts a TCP byte stream into Kafka frames (int32 size + payload). Whole frames inside one chunk
 * are returned as views of that chunk, so the common case copies nothing; only a frame that
 * straddles chunks is assembled, once, into a buffer of exactly its size.
 */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Size of the frame being assembled (payload only), or -1 while its size prefix is incomplete. */
  private expected = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** Appends a chunk and returns every frame (payload without the size prefix) it completes. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let offset = 0;
    if (this.pendingBytes > 0) {
      offset = this.continuePending(chunk, frames);
      if (offset < 0) return frames;
    }
    while (chunk.length - offset >= 4) {
      const size = this.checkSize(chunk.readInt32BE(offset), offset);
      if (chunk.length - offset - 4 < size) break;
      frames.push(chunk.subarray(offset + 4, offset + 4 + size));
      offset += 4 + size;
    }
    if (offset < chunk.length) {
      const rest = chunk.subarray(offset);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
      this.expected = rest.length >= 4 ? this.checkSize(rest.readInt32BE(0), offset) : -1;
    }
    return frames;
  }

  /** Bytes held for a frame not yet complete (for diagnostics and tests). */
  bufferedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * Feeds the start of `chunk` into the frame being assembled. Returns the offset in `chunk` where
   * unconsumed bytes start, or -1 when the whole chunk was absorbed.
   */
  private continuePending(chunk: Buffer, frames: Buffer[]): number {
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
    frames.push(frame.subarray(4));
    this.pending = [];
    this.pendingBytes = 0;
    this.expected = -1;
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
