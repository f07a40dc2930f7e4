/** One record of the state log as the store reads it. */
export type StateRecordHandler = (offset: number, key: Buffer | null, value: Buffer | null) => Promise<void>;

/**
 * Where the store's records live: an ordered, durable log that every instance reads whole, then
 * follows. Kafka in production; memory when durability is switched off.
 */
export interface StateLog {
  /** Where the log is, for logs and /readyz. */
  readonly name: string;
  /**
   * Starts reading from `from` (the beginning when null), handing records over one at a time and
   * in order; resolves with the offset of the last record that existed when reading began (-1: none).
   */
  start(onRecord: StateRecordHandler): Promise<number>;
  /** Appends one record once it is durable (acks=all); resolves with its offset. */
  append(key: string, value: Buffer | null, timeoutMs: number): Promise<number>;
  /** Whether the log is being followed, and why not. */
  following(): { ok: boolean; detail: string };
  stop(): Promise<void>;
}
