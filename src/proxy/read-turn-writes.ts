import type { Socket } from 'node:net';

/**
 * What one read of the other side makes the gateway write to a socket, gathered and written when
 * that read has been handled. Frames forwarded as they came are neighbouring views of the same read
 * buffer: they are joined into one view and leave in one plain write, as a bare relay would send
 * the read. Only when a turn writes pieces that are not neighbours (a frame the gateway made, a
 * size prefix) is the socket corked, so that they still leave together; Node's cork costs a queued
 * entry per write and a writev, which the common turn does without.
 */
export class ReadTurnWrites {
  /** The first piece not yet written, and how far the neighbours joined to it reach. */
  private pending: Buffer | null = null;
  private pendingLength = 0;
  private corked = false;
  private open = false;
  private full = false;

  constructor(private readonly socket: Socket) {}

  /** Starts gathering the writes of one read's handling. */
  begin(): void {
    this.open = true;
    this.full = false;
  }

  /** Writes `bytes` (now, outside a turn). Returns false once the socket holds more than it should. */
  write(bytes: Buffer): boolean {
    if (!this.open) return this.socket.write(bytes);
    const pending = this.pending;
    if (pending === null) {
      this.pending = bytes;
      this.pendingLength = bytes.length;
    } else if (
      pending.buffer === bytes.buffer &&
      pending.byteOffset + this.pendingLength === bytes.byteOffset
    ) {
      // Joined by arithmetic; the one view of the whole run is made when it is written.
      this.pendingLength += bytes.length;
    } else {
      if (!this.corked) {
        this.socket.cork();
        this.corked = true;
      }
      if (!this.socket.write(this.joined(pending))) this.full = true;
      this.pending = bytes;
      this.pendingLength = bytes.length;
    }
    return !this.full;
  }

  private joined(pending: Buffer): Buffer {
    return this.pendingLength === pending.length
      ? pending
      : Buffer.from(pending.buffer, pending.byteOffset, this.pendingLength);
  }

  /** Writes what the turn gathered. Returns false when the socket is full (the source should pause). */
  end(): boolean {
    this.open = false;
    const pending = this.pending;
    this.pending = null;
    if (pending !== null && !this.socket.write(this.joined(pending))) this.full = true;
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    return !this.full;
  }
}
