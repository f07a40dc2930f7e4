import type { StateLog, StateRecordHandler } from './state-log';

/**
 * A log that lives as long as the process: the gateway's state without Kafka (`state.enabled:
 * false`), applied by the same store and rules, but neither kept across restarts nor shared.
 */
export class MemoryStateLog implements StateLog {
  readonly name = 'memory';
  private next = 0;
  private onRecord: StateRecordHandler | null = null;
  private delivering: Promise<void> = Promise.resolve();

  async start(onRecord: StateRecordHandler): Promise<number> {
    this.onRecord = onRecord;
    return -1;
  }

  async append(key: string, value: Buffer | null): Promise<number> {
    const offset = this.next++;
    const onRecord = this.onRecord;
    // Delivered after the caller has the offset, in order, as a log reader would see it.
    this.delivering = this.delivering.then(() => onRecord?.(offset, Buffer.from(key), value));
    return offset;
  }

  following(): { ok: boolean; detail: string } {
    return { ok: true, detail: 'in memory: not kept across restarts, not shared' };
  }

  async stop(): Promise<void> {
    await this.delivering;
  }
}
