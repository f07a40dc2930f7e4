/**
 * A map holding at most `capacity` entries: adding one more drops the least recently used.
 * Quota buckets are keyed by what clients choose (client ids, topic names), so without a bound a
 * client minting names would grow the gateway's memory without limit.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value for `key`, which becomes the most recently used. */
  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    // A Map iterates in insertion order: re-inserting moves the key to the young end.
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    this.trim();
  }

  /** Drops every entry for which `stale` is true. */
  sweep(stale: (value: V, key: K) => boolean): void {
    for (const [key, value] of this.entries) if (stale(value, key)) this.entries.delete(key);
  }

  resize(capacity: number): void {
    this.capacity = capacity;
    this.trim();
  }

  values(): IterableIterator<V> {
    return this.entries.values();
  }

  private trim(): void {
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) return;
      this.entries.delete(oldest.value);
    }
  }
}
