import fc from 'fast-check';
import { RequestPacer } from '../../../src/subscriptions/request-pacer';

/** Starts `count` acquisitions and records the order in which they are let through. */
function queue(pacer: RequestPacer, count: number, signals: (AbortSignal | undefined)[] = []) {
  const through: number[] = [];
  const refused: number[] = [];
  for (let i = 0; i < count; i++) {
    pacer.acquire(signals[i]).then(
      () => through.push(i),
      () => refused.push(i),
    );
  }
  return { through, refused };
}

const settle = () => jest.advanceTimersByTimeAsync(0);

describe('RequestPacer', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  const clock = () => Date.now();

  it('lets one second of requests through at once, then one per interval, first come first served', async () => {
    const pacer = new RequestPacer(10, clock);
    const { through } = queue(pacer, 25);
    await settle();
    expect(through).toEqual([...Array(10).keys()]);
    await jest.advanceTimersByTimeAsync(99);
    expect(through).toHaveLength(10);
    await jest.advanceTimersByTimeAsync(1);
    expect(through).toHaveLength(11);
    await jest.advanceTimersByTimeAsync(1_400);
    expect(through).toEqual([...Array(25).keys()]);
    expect(pacer.waiting).toBe(0);
  });

  it('keeps a single timer however many are waiting, and none once nobody is', async () => {
    const pacer = new RequestPacer(2, clock);
    queue(pacer, 100);
    await settle();
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(100_000);
    expect(pacer.waiting).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('paces a rate below one per second to one request per period', async () => {
    const pacer = new RequestPacer(0.5, clock);
    const { through } = queue(pacer, 3);
    await settle();
    expect(through).toEqual([0]);
    await jest.advanceTimersByTimeAsync(1_999);
    expect(through).toEqual([0]);
    await jest.advanceTimersByTimeAsync(1);
    expect(through).toEqual([0, 1]);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(through).toEqual([0, 1, 2]);
  });

  it('refills only up to one second of requests after a quiet spell', async () => {
    const pacer = new RequestPacer(5, clock);
    queue(pacer, 5);
    await settle();
    await jest.advanceTimersByTimeAsync(60_000);
    const { through } = queue(pacer, 8);
    await settle();
    expect(through).toHaveLength(5);
  });

  it('rejects an aborted waiter with the reason, and the others keep their places', async () => {
    const pacer = new RequestPacer(1, clock);
    const controllers = [0, 1, 2, 3].map(() => new AbortController());
    const { through, refused } = queue(
      pacer,
      4,
      controllers.map((c) => c.signal),
    );
    await settle();
    expect(through).toEqual([0]);
    const reason = new Error('stopping');
    const rejection = pacer.acquire(controllers[2].signal);
    controllers[2].abort(reason);
    await expect(rejection).rejects.toBe(reason);
    await settle();
    expect(refused).toEqual([2]);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(through).toEqual([0, 1]);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(through).toEqual([0, 1, 3]);
  });

  it('clears its timer when every waiter has gone', async () => {
    const pacer = new RequestPacer(1, clock);
    const controller = new AbortController();
    queue(pacer, 1);
    const { refused } = queue(pacer, 3, [controller.signal, controller.signal, controller.signal]);
    await settle();
    expect(jest.getTimerCount()).toBe(1);
    controller.abort();
    await settle();
    expect(refused).toEqual([0, 1, 2]);
    expect(pacer.waiting).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('refuses a signal aborted before the call', async () => {
    const reason = new Error('gone');
    await expect(new RequestPacer(5, clock).acquire(AbortSignal.abort(reason))).rejects.toBe(reason);
    await expect(new RequestPacer(undefined, clock).acquire(AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('does not hold anything back without a rate', async () => {
    const pacer = new RequestPacer(undefined, clock);
    const { through } = queue(pacer, 1_000);
    await settle();
    expect(through).toHaveLength(1_000);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => new RequestPacer(0)).toThrow(RangeError);
    expect(() => new RequestPacer(-1)).toThrow(RangeError);
    expect(() => new RequestPacer(Number.NaN)).toThrow(RangeError);
  });

  it('never lets more through than the burst plus the rate times the time elapsed, nor fewer than it can', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 12 }),
        async (rate, steps) => {
          const start = Date.now();
          const pacer = new RequestPacer(rate, clock);
          const total = rate * 20;
          const { through } = queue(pacer, total);
          await settle();
          for (const step of steps) {
            await jest.advanceTimersByTimeAsync(step);
            const elapsed = Date.now() - start;
            // Whole milliseconds: each release waits for its token rounded up to the next one.
            const most = rate + Math.floor((rate * elapsed) / 1000);
            const least = Math.min(total, rate + Math.floor((rate * elapsed) / 1000 - rate / 1000));
            expect(through.length).toBeLessThanOrEqual(most);
            expect(through.length).toBeGreaterThanOrEqual(least);
          }
          expect(through).toEqual([...Array(through.length).keys()]);
          await jest.advanceTimersByTimeAsync(60_000);
          expect(through).toHaveLength(total);
        },
      ),
      { numRuns: 50 },
    );
  });
});
