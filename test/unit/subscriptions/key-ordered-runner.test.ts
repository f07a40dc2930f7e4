import fc from 'fast-check';
import { CommitTracker, keyIdentity, runKeyOrdered } from '../../../src/subscriptions/key-ordered-runner';

interface Item {
  index: number;
  key: string | null;
  offset: string;
  fails: boolean;
}

/** Batches with few distinct keys (so keys repeat), null keys among them, and offsets past 2^53. */
const batchArb = fc
  .record({
    keys: fc.array(fc.option(fc.integer({ min: 0, max: 4 }), { freq: 4 }), { maxLength: 40 }),
    gaps: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 40, maxLength: 40 }),
    base: fc.bigInt({ min: 0n, max: 2n ** 63n - 200n }),
    failures: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
  })
  .map(({ keys, gaps, base, failures }) => {
    let offset = base;
    return keys.map((key, index): Item => {
      offset += BigInt(gaps[index]);
      return {
        index,
        key: key === null ? null : `k${key}`,
        offset: offset.toString(),
        fails: failures[index],
      };
    });
  });

describe('runKeyOrdered', () => {
  it('keeps each key in order, stays within the concurrency, runs every item once, and commits only settled offsets', async () => {
    await fc.assert(
      fc.asyncProperty(
        batchArb,
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        fc.scheduler(),
        async (items, concurrency, withFailures, s) => {
          const runs = new Array<number>(items.length).fill(0);
          const settled = new Array<boolean>(items.length).fill(false);
          const busyKeys = new Set<string>();
          const lastStartedOfKey = new Map<string, number>();
          const tracker = new CommitTracker(items.map((item) => item.offset));
          let running = 0;
          let peak = 0;
          // Collected rather than thrown: a throw inside work would only count as that item failing.
          const violations: string[] = [];
          const work = async (item: Item) => {
            runs[item.index]++;
            running++;
            peak = Math.max(peak, running);
            if (item.key !== null) {
              if (busyKeys.has(item.key)) violations.push(`${item.index} ran beside its key`);
              if ((lastStartedOfKey.get(item.key) ?? -1) > item.index)
                violations.push(`${item.index} out of order`);
              // Every earlier item of the key has settled, not merely started.
              for (const other of items) {
                if (other.key === item.key && other.index < item.index && !settled[other.index])
                  violations.push(`${item.index} started before ${other.index} settled`);
              }
              busyKeys.add(item.key);
              lastStartedOfKey.set(item.key, item.index);
            }
            try {
              await s.schedule(Promise.resolve(), `item ${item.index}`);
              if (withFailures && item.fails) throw new Error(`item ${item.index} failed`);
            } finally {
              running--;
              if (item.key !== null) busyKeys.delete(item.key);
            }
          };
          const onSettled = (index: number) => {
            if (settled[index]) violations.push(`${index} settled twice`);
            settled[index] = true;
            tracker.settle(index);
            const next = BigInt(tracker.next()!);
            items.forEach((item, i) => {
              if (!settled[i] && next > BigInt(item.offset)) violations.push(`commit ${next} passes ${i}`);
            });
          };
          const run = runKeyOrdered(items, (item) => item.key, concurrency, work, onSettled);
          const failure = items.find((item) => withFailures && item.fails);
          if (failure === undefined) await s.waitFor(run);
          else await expect(s.waitFor(run)).rejects.toThrow(/failed/);
          expect(violations).toEqual([]);
          expect(runs.every((count) => count === 1)).toBe(true);
          expect(settled.every(Boolean)).toBe(true);
          expect(peak).toBeLessThanOrEqual(concurrency);
          expect(running).toBe(0);
          if (items.length > 0) {
            expect(tracker.done).toBe(true);
            expect(tracker.next()).toBe((BigInt(items[items.length - 1].offset) + 1n).toString());
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('runs null-key records side by side', async () => {
    let running = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const run = runKeyOrdered(
      [1, 2, 3],
      () => null,
      3,
      async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running--;
      },
    );
    await Promise.resolve();
    expect(peak).toBe(3);
    gates.forEach((open) => open());
    await run;
  });

  it('with a concurrency of one, runs in the order given', async () => {
    const order: number[] = [];
    const keys = ['a', null, 'b', 'a', null, 'b', 'c'];
    await runKeyOrdered(
      keys.map((key, index) => ({ key, index })),
      (item) => item.key,
      1,
      async (item) => {
        await Promise.resolve();
        order.push(item.index);
      },
    );
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('lets the next record of a key run after one that threw synchronously, and rethrows at the end', async () => {
    const order: string[] = [];
    const run = runKeyOrdered(
      ['a1', 'a2', 'b1'],
      (item) => item[0],
      2,
      (item) => {
        order.push(item);
        if (item === 'a1') throw new Error('a1 broke');
        return Promise.resolve();
      },
    );
    await expect(run).rejects.toThrow('a1 broke');
    expect(order.sort()).toEqual(['a1', 'a2', 'b1']);
  });

  it('starts nothing once stopped, and resolves when what runs has settled', async () => {
    const started: number[] = [];
    const gates = new Map<number, () => void>();
    let stop = false;
    let finished = false;
    const run = runKeyOrdered(
      [0, 1, 2, 3, 4, 5],
      (n) => `k${n}`,
      2,
      (n) => {
        started.push(n);
        return new Promise<void>((resolve) => gates.set(n, resolve));
      },
      undefined,
      () => stop,
    ).then(() => {
      finished = true;
    });
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    stop = true;
    gates.get(0)!();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1]);
    expect(finished).toBe(false);
    gates.get(1)!();
    await run;
    expect(started).toEqual([0, 1]);
  });

  it('resolves at once for an empty batch', async () => {
    await expect(
      runKeyOrdered(
        [],
        () => null,
        4,
        () => Promise.resolve(),
      ),
    ).resolves.toBeUndefined();
  });

  it('treats a concurrency below one as one', async () => {
    let running = 0;
    let peak = 0;
    await runKeyOrdered(
      [1, 2, 3],
      () => null,
      0,
      async () => {
        peak = Math.max(peak, ++running);
        await Promise.resolve();
        running--;
      },
    );
    expect(peak).toBe(1);
  });
});

describe('keyIdentity', () => {
  it('tells apart keys that are not UTF-8, which decoding as text would make equal', () => {
    const a = keyIdentity(Buffer.from([0xff, 0x01]));
    const b = keyIdentity(Buffer.from([0xfe, 0x01]));
    expect(Buffer.from([0xff, 0x01]).toString('utf8')).toBe(Buffer.from([0xfe, 0x01]).toString('utf8'));
    expect(a).not.toBe(b);
    expect(keyIdentity(null)).toBeNull();
  });

  it('is equal exactly when the bytes are', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (x, y) => {
        const same = Buffer.from(x).equals(Buffer.from(y));
        expect(keyIdentity(Buffer.from(x)) === keyIdentity(Buffer.from(y))).toBe(same);
      }),
    );
  });
});

describe('CommitTracker', () => {
  it('commits up to the lowest unsettled offset, and past the last once all have settled', () => {
    const tracker = new CommitTracker(['10', '11', '15', '9007199254740993']);
    expect(tracker.next()).toBe('10');
    tracker.settle(1);
    expect(tracker.next()).toBe('10');
    tracker.settle(0);
    expect(tracker.next()).toBe('15');
    tracker.settle(3);
    expect(tracker.next()).toBe('15');
    tracker.settle(2);
    expect(tracker.done).toBe(true);
    expect(tracker.next()).toBe('9007199254740994');
  });

  it('counts a record settled twice once', () => {
    const tracker = new CommitTracker(['1', '2']);
    tracker.settle(0);
    tracker.settle(0);
    expect(tracker.next()).toBe('2');
  });

  it('refuses offsets out of order and indices out of the batch', () => {
    expect(() => new CommitTracker(['5', '5'])).toThrow(RangeError);
    expect(() => new CommitTracker(['6', '5'])).toThrow(RangeError);
    const tracker = new CommitTracker(['1']);
    expect(() => tracker.settle(1)).toThrow(RangeError);
    expect(() => tracker.settle(-1)).toThrow(RangeError);
  });

  it('has nothing to commit for an empty batch', () => {
    expect(new CommitTracker([]).next()).toBeNull();
  });

  it('never passes an unsettled offset, whatever order records settle in', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 30 })
          .chain((gaps) =>
            fc.tuple(fc.constant(gaps), fc.shuffledSubarray([...gaps.keys()], { minLength: gaps.length })),
          ),
        ([gaps, order]) => {
          let offset = 2n ** 62n;
          const offsets = gaps.map((gap) => (offset += BigInt(gap)).toString());
          const tracker = new CommitTracker(offsets);
          const settled = new Set<number>();
          for (const index of order) {
            tracker.settle(index);
            settled.add(index);
            const lowest = offsets.findIndex((_, i) => !settled.has(i));
            expect(tracker.next()).toBe(
              lowest === -1 ? (BigInt(offsets[offsets.length - 1]) + 1n).toString() : offsets[lowest],
            );
          }
        },
      ),
    );
  });
});
