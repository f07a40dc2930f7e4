import { Writer } from '../primitives/writer';
import type { HeaderAppendedBatch } from './record-batch';

/**
 * The new `records` of a partition whose batches the gateway changed: batches kept as they came
 * (their bytes) and batches re-framed on write. Its size is known before anything is written, so
 * the request that carries it is allocated once and every batch is written straight into it.
 */
export class RebuiltRecords {
  private readonly parts: (Buffer | HeaderAppendedBatch)[] = [];
  /** The records' size once written. */
  length = 0;

  add(part: Buffer | HeaderAppendedBatch): void {
    this.parts.push(part);
    this.length += part.length;
  }

  get empty(): boolean {
    return this.parts.length === 0;
  }

  writeTo(writer: Writer): void {
    for (const part of this.parts) {
      if (Buffer.isBuffer(part)) writer.raw(part);
      else part.writeTo(writer);
    }
  }

  /** The records as one buffer, for an encoder that takes bytes. */
  toBuffer(): Buffer {
    const only = this.parts.length === 1 ? this.parts[0] : undefined;
    if (only !== undefined && Buffer.isBuffer(only)) return only;
    const writer = new Writer(Math.max(this.length, 1));
    this.writeTo(writer);
    return writer.result();
  }
}
