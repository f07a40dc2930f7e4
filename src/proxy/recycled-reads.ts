import type { OnReadOpts } from 'node:net';
import { READ_BUFFER_BYTES } from './sockets';

/**
 * Receives one read. Returns true when nothing kept a view of `chunk` once it returns (every write
 * of it completed, no frame piece held), so that the memory can take the next read.
 */
export type RecycledReadReceiver = (chunk: Buffer) => boolean;

/**
 * Reads a broker socket into one buffer used again and again (the socket's `onread` option)
 * instead of a fresh allocation per read. Fetch responses stream through the gateway as they
 * arrive, so most reads are written on and forgotten at once; a fresh buffer per read would be
 * garbage the moment it is written, and the external memory it counts against makes the garbage
 * collector walk the heap over and over. When the receiver keeps a view (a frame it must
 * assemble, a write the client socket queued), that buffer is left to it and a new one takes the
 * next read, so recycling never races with a reader.
 */
export class RecycledReads {
  private buffer: Buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  private receiver: RecycledReadReceiver | null = null;
  /** Reads that arrived before a receiver was attached, copied. */
  private early: Buffer[] = [];

  /** For `net.connect({ onread })`. Backpressure pauses the socket itself, so reads never stop here. */
  readonly onread: OnReadOpts = {
    buffer: (): Buffer => this.buffer,
    callback: (bytes: number, buffer: Uint8Array): boolean => {
      this.deliver((buffer as Buffer).subarray(0, bytes));
      return true;
    },
  };

  /** Starts delivering reads to `receiver` (first those that arrived before it). */
  attach(receiver: RecycledReadReceiver): void {
    this.receiver = receiver;
    const early = this.early;
    this.early = [];
    for (const chunk of early) receiver(chunk);
  }

  private deliver(chunk: Buffer): void {
    if (this.receiver === null) {
      this.early.push(Buffer.from(chunk));
      return;
    }
    if (!this.receiver(chunk)) this.buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  }
}
