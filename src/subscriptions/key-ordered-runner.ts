/**
 * A record key as a string that is equal for equal bytes and only then: Latin-1 maps each byte to
 * one character, where UTF-8 would turn every malformed sequence into the same U+FFFD.
 */
export function keyIdentity(key: Buffer | null): string | null {
  return key === null ? null : key.toString('latin1');
}

/** A binary min-heap of indices: the ready item with the lowest offset starts first. */
class IndexHeap {
  private readonly heap: number[];

  /** `sorted` must be ascending, which is already a heap. */
  constructor(sorted: number[]) {
    this.heap = sorted;
  }

  get size(): number {
    return this.heap.length;
  }

  push(value: number): void {
    const heap = this.heap;
    let i = heap.push(value) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent] <= value) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = value;
  }

  pop(): number {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && heap[right] < heap[left] ? right : left;
        if (heap[child] >= last) break;
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

/**
 * Runs `work` on every item: items with the same key one after another in the order given,
 * different keys side by side, never more than `concurrency` at once. A null key is a key of its
 * own, as Kafka's partitioner treats it. Among the items free to start, the one given first starts
 * first, so the committable offset moves on as early as it can.
 *
 * `onSettled(index)` is called when an item's work has settled. Once `stopped()` is true nothing
 * new starts, and the promise resolves when what is running has settled. A rejected `work` counts
 * as settled and lets the next item of its key run; the first such error is thrown at the end.
 */
export async function runKeyOrdered<T>(
  items: readonly T[],
  keyOf: (item: T) => string | null,
  concurrency: number,
  work: (item: T) => Promise<void>,
  onSettled?: (index: number) => void,
  stopped?: () => boolean,
): Promise<void> {
  const limit = Math.max(1, Math.floor(concurrency) || 1);
  // next[i]: the following item with the same key, which may start once item i has settled.
  const next = new Array<number>(items.length).fill(-1);
  const first: number[] = [];
  const lastOfKey = new Map<string, number>();
  for (let i = 0; i < items.length; i++) {
    const key = keyOf(items[i]);
    const previous = key === null ? undefined : lastOfKey.get(key);
    if (previous === undefined) first.push(i);
    else next[previous] = i;
    if (key !== null) lastOfKey.set(key, i);
  }
  const ready = new IndexHeap(first);
  let inFlight = 0;
  let failed = false;
  let firstError: unknown;
  const fail = (error: unknown) => {
    if (!failed) {
      failed = true;
      firstError = error;
    }
  };

  await new Promise<void>((resolve) => {
    const pump = () => {
      while (inFlight < limit && ready.size > 0 && !(stopped?.() ?? false)) start(ready.pop());
      if (inFlight === 0) resolve();
    };
    const settle = (index: number) => {
      inFlight--;
      if (next[index] !== -1) ready.push(next[index]);
      try {
        onSettled?.(index);
      } catch (error) {
        fail(error);
      }
      pump();
    };
    const start = (index: number) => {
      inFlight++;
      let running: Promise<void>;
      try {
        running = work(items[index]);
      } catch (error) {
        running = Promise.reject(error);
      }
      Promise.resolve(running).then(
        () => settle(index),
        (error: unknown) => {
          fail(error);
          settle(index);
        },
      );
    };
    pump();
  });
  if (failed) throw firstError;
}

/**
 * Which offset of a batch may be committed while its records settle out of order: the lowest one
 * not yet settled (Kafka commits the next offset to read), and after the last, the one after it.
 * Offsets are int64 in strings, as kafkajs gives them.
 */
export class CommitTracker {
  private readonly offsets: readonly string[];
  private readonly settled: boolean[];
  /** Every index below this one has settled. */
  private low = 0;

  constructor(offsets: readonly string[]) {
    for (let i = 1; i < offsets.length; i++) {
      if (BigInt(offsets[i]) <= BigInt(offsets[i - 1])) {
        throw new RangeError(`offsets must increase: ${offsets[i]} follows ${offsets[i - 1]}`);
      }
    }
    this.offsets = offsets;
    this.settled = new Array<boolean>(offsets.length).fill(false);
  }

  settle(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.offsets.length) {
      throw new RangeError(`no record ${index} in a batch of ${this.offsets.length}`);
    }
    this.settled[index] = true;
    while (this.low < this.settled.length && this.settled[this.low]) this.low++;
  }

  /** True once every record of the batch has settled. */
  get done(): boolean {
    return this.low === this.offsets.length;
  }

  /** The offset to commit now; null for an empty batch, which has nothing to say. */
  next(): string | null {
    if (this.offsets.length === 0) return null;
    if (this.done) return (BigInt(this.offsets[this.offsets.length - 1]) + 1n).toString();
    return this.offsets[this.low];
  }
}
