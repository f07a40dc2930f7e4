import fc from 'fast-check';
import { ConcurrencyLimit } from '../../../src/subscriptions/concurrency-limit';

/** Lets every settled promise run its callbacks: grants and rejections arrive as microtasks. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One acquire call, observed from outside: whether it was granted or rejected yet, and its release. */
interface Call {
  id: number;
  granted: boolean;
  rejected: Error | null;
  release: (() => void) | null;
  controller: AbortController;
}

function caller(limit: ConcurrencyLimit, order: number[] = []) {
  let next = 0;
  return (): Call => {
    const controller = new AbortController();
    const call: Call = { id: next++, granted: false, rejected: null, release: null, controller };
    limit.acquire(controller.signal).then(
      (release) => {
        call.granted = true;
        call.release = release;
        order.push(call.id);
      },
      (error: Error) => {
        call.rejected = error;
      },
    );
    return call;
  };
}

describe('ConcurrencyLimit', () => {
  it('grants up to the limit at once, and the next only when one is released', async () => {
    const limit = new ConcurrencyLimit(2);
    const acquire = caller(limit);
    const [a, b, c] = [acquire(), acquire(), acquire()];
    await settle();
    expect([a.granted, b.granted, c.granted]).toEqual([true, true, false]);
    a.release!();
    await settle();
    expect(c.granted).toBe(true);
  });

  it('grants without a signal too', async () => {
    const limit = new ConcurrencyLimit(1);
    const release = await limit.acquire();
    let second = false;
    void limit.acquire().then(() => (second = true));
    await settle();
    expect(second).toBe(false);
    release();
    await settle();
    expect(second).toBe(true);
  });

  it('serves waiters in the order they came', async () => {
    const order: number[] = [];
    const limit = new ConcurrencyLimit(1);
    const acquire = caller(limit, order);
    const calls = Array.from({ length: 6 }, acquire);
    await settle();
    for (let i = 0; i < calls.length; i++) {
      expect(order).toEqual(calls.slice(0, i + 1).map((call) => call.id));
      calls[i].release!();
      await settle();
    }
  });

  it('hands a released slot to the first waiter, before anyone who asks after the release', async () => {
    const limit = new ConcurrencyLimit(1);
    const acquire = caller(limit);
    const holder = acquire();
    await settle();
    const waiter = acquire();
    await settle();
    holder.release!();
    const latecomer = acquire();
    await settle();
    expect(waiter.granted).toBe(true);
    expect(latecomer.granted).toBe(false);
  });

  it('rejects a waiter whose signal aborts, and takes it out of the line', async () => {
    const order: number[] = [];
    const limit = new ConcurrencyLimit(1);
    const acquire = caller(limit, order);
    const holder = acquire();
    const [gone, next] = [acquire(), acquire()];
    await settle();
    gone.controller.abort();
    await settle();
    expect(gone.rejected?.message).toBe('aborted');
    holder.release!();
    await settle();
    expect(order).toEqual([holder.id, next.id]);
    expect(gone.granted).toBe(false);
    // With nobody left waiting, a release frees the slot for whoever comes next.
    next.release!();
    const later = acquire();
    await settle();
    expect(later.granted).toBe(true);
  });

  it('does not leave the slot of an aborted last waiter taken', async () => {
    const limit = new ConcurrencyLimit(1);
    const acquire = caller(limit);
    const holder = acquire();
    const gone = acquire();
    await settle();
    gone.controller.abort();
    holder.release!();
    const next = acquire();
    await settle();
    expect(next.granted).toBe(true);
  });

  it('rejects at once when the signal has already aborted, taking no slot', async () => {
    const limit = new ConcurrencyLimit(1);
    await expect(limit.acquire(AbortSignal.abort())).rejects.toThrow('aborted');
    const acquire = caller(limit);
    const next = acquire();
    await settle();
    expect(next.granted).toBe(true);
  });

  it('keeps the slot of a holder whose signal aborts after the grant', async () => {
    const limit = new ConcurrencyLimit(1);
    const acquire = caller(limit);
    const holder = acquire();
    await settle();
    holder.controller.abort();
    const waiter = acquire();
    await settle();
    expect(holder.rejected).toBeNull();
    expect(waiter.granted).toBe(false);
    holder.release!();
    await settle();
    expect(waiter.granted).toBe(true);
  });

  it('frees one slot however often a release is called', async () => {
    const limit = new ConcurrencyLimit(1);
    const acquire = caller(limit);
    const holder = acquire();
    const [first, second] = [acquire(), acquire()];
    await settle();
    holder.release!();
    holder.release!();
    await settle();
    expect([first.granted, second.granted]).toEqual([true, false]);
    // Called again once someone else holds the slot, it still frees nothing.
    holder.release!();
    await settle();
    expect(second.granted).toBe(false);
    first.release!();
    await settle();
    expect(second.granted).toBe(true);
  });

  it('never has more than the limit hold at once, serves waiters in order, and idles no slot (property)', async () => {
    type Step =
      | { kind: 'acquire' }
      | { kind: 'release'; pick: number }
      | { kind: 'releaseAgain'; pick: number }
      | { kind: 'abort'; pick: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.constant({ kind: 'acquire' as const }),
      fc.nat().map((pick) => ({ kind: 'release' as const, pick })),
      fc.nat().map((pick) => ({ kind: 'releaseAgain' as const, pick })),
      fc.nat().map((pick) => ({ kind: 'abort' as const, pick })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(step, { maxLength: 60 }),
        async (size, steps) => {
          const order: number[] = [];
          const limit = new ConcurrencyLimit(size);
          const acquire = caller(limit, order);
          const calls: Call[] = [];
          const released: Call[] = [];
          // What the limit should have done: who holds, who waits in which order, and who was granted when.
          let holders = new Set<number>();
          const waiting: number[] = [];
          const expectedOrder: number[] = [];
          const grant = (id: number) => {
            holders.add(id);
            expectedOrder.push(id);
          };
          for (const one of steps) {
            if (one.kind === 'acquire') {
              const call = acquire();
              calls.push(call);
              if (holders.size < size) grant(call.id);
              else waiting.push(call.id);
            } else if (one.kind === 'release') {
              const holding = calls.filter((call) => call.granted && !released.includes(call));
              if (holding.length === 0) continue;
              const call = holding[one.pick % holding.length];
              call.release!();
              released.push(call);
              holders = new Set([...holders].filter((id) => id !== call.id));
              const next = waiting.shift();
              if (next !== undefined) grant(next);
            } else if (one.kind === 'releaseAgain') {
              if (released.length === 0) continue;
              released[one.pick % released.length].release!();
            } else {
              const waiters = calls.filter((call) => waiting.includes(call.id));
              if (waiters.length === 0) continue;
              const call = waiters[one.pick % waiters.length];
              call.controller.abort();
              waiting.splice(waiting.indexOf(call.id), 1);
            }
            await settle();
            const holding = calls.filter((call) => call.granted && !released.includes(call));
            expect(holding.length).toBeLessThanOrEqual(size);
            expect(holding.map((call) => call.id).sort((a, b) => a - b)).toEqual(
              [...holders].sort((a, b) => a - b),
            );
            // Nobody waits while a slot is free.
            if (waiting.length > 0) expect(holding).toHaveLength(size);
            expect(order).toEqual(expectedOrder);
            expect(calls.filter((call) => call.rejected !== null).length).toBe(
              calls.length - expectedOrder.length - waiting.length,
            );
          }
        },
      ),
    );
  });
});
