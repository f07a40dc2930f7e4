import type { OnReadOpts } from 'node:net';
import { READ_BUFFER_BYTES } from './sockets';

/**
 * Receives one read. Returns true when nothing kept a view of `chunk` once it returns (every write
 * of it completed, no frame piece held), so that the memory can take the next read.
 */
export type RecycledReadReceiver = (chunk: Buffer) => boolean;

/**
 * Room a read is offered at least. Reads kept by their receiver fill a slab from its start; once
 * less than this is left after them, the next read gets a fresh slab. A read takes as much of the
 * room as the kernel has ready (a fetch run read about 200 KiB at a time); 64 KiB is what Node
 * reads a socket into the usual way, and a read cut short by less room only means one more read.
 */
const MIN_READ_ROOM = 64 * 1024;

/**
 * Reads a socket into memory used again and again (the socket's `onread` option) instead of a
 * fresh allocation per read. Fetch responses stream through the gateway as they arrive, and
 * produce requests nothing has to read pass the same way, so most reads are written on and
 * forgotten at once; a fresh buffer per read would be garbage the moment it is written, and the
 * external memory it counts against makes the garbage collector walk the heap over and over.
 *
 * When the receiver keeps a view (a frame it must assemble, a write the socket queued, a request a
 * handler read), those bytes are left to it and the next read goes after them, so recycling never
 * races with a reader. Kept reads are usually small (requests, produce responses): many of them
 * share one slab instead of each costing a buffer of READ_BUFFER_BYTES.
 */
export class RecycledReads {
  private slab: Buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  /** Where the room for the next read starts; the bytes before it may be kept by earlier reads. */
  private kept = 0;
  private room: Buffer = this.slab;
  private receiver: RecycledReadReceiver | null = null;
  /** Reads that arrived before a receiver was attached, copied. */
  private early: Buffer[] = [];

  /** For `net.connect({ onread })`. Backpressure pauses the socket itself, so reads never stop here. */
  readonly onread: OnReadOpts = {
    buffer: (): Buffer => this.room,
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
    if (this.receiver(chunk)) return;
    // Rounded up to 8 so that every read starts aligned, as a fresh buffer would.
    this.kept += (chunk.length + 7) & ~7;
    if (this.slab.length - this.kept < MIN_READ_ROOM) {
      this.slab = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
      this.kept = 0;
    }
    this.room = this.slab.subarray(this.kept);
  }
}
