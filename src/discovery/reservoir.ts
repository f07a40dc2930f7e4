/**
 * A uniform sample of at most `capacity` items from a stream of unknown length (Vitter's
 * Algorithm R): the first `capacity` items are kept, and the n-th after that replaces a random
 * kept one with probability capacity/n. `offer` tells the caller first whether the item would be
 * kept, so that an item is only copied (or parsed) when it is.
 */
export class Reservoir<T> {
  private readonly kept: T[] = [];
  private offered = 0;

  constructor(
    readonly capacity: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Items offered so far, kept or not. */
  get seen(): number {
    return this.offered;
  }

  /**
   * Counts one more item of the stream; returns the slot it takes, or -1 when it is not kept.
   * The caller then calls `put(slot, item)`.
   */
  offer(): number {
    const n = ++this.offered;
    if (n <= this.capacity) return n - 1;
    const slot = Math.floor(this.random() * n);
    return slot < this.capacity ? slot : -1;
  }

  put(slot: number, item: T): void {
    if (slot === this.kept.length) this.kept.push(item);
    else this.kept[slot] = item;
  }

  items(): readonly T[] {
    return this.kept;
  }
}
