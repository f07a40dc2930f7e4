import fc from 'fast-check';
import { backoffMs, classifyStatus, giveUp } from '../../../src/subscriptions/retry-policy';
import { resolveRetry, type ResolvedRetry } from '../../../src/subscriptions/subscription';

const RETRY: ResolvedRetry = {
  maxAttempts: 5,
  maxAgeMs: 60_000,
  initialBackoffMs: 1_000,
  maxBackoffMs: 10_000,
};

describe('classifyStatus', () => {
  it.each([
    [200, 'delivered'],
    [202, 'delivered'],
    [204, 'delivered'],
    [299, 'delivered'],
    [408, 'retry'],
    [425, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [599, 'retry'],
    [100, 'dead'],
    [301, 'dead'],
    [304, 'dead'],
    [400, 'dead'],
    [401, 'dead'],
    [403, 'dead'],
    [404, 'dead'],
    [409, 'dead'],
    [413, 'dead'],
    [431, 'dead'],
    [600, 'dead'],
    [0, 'dead'],
  ])('%i is %s', (status, outcome) => {
    expect(classifyStatus(status)).toBe(outcome);
  });
});

describe('backoffMs', () => {
  it('doubles from the initial backoff, half of it fixed and half random', () => {
    expect(backoffMs(RETRY, 1, undefined, () => 0)).toBe(500);
    expect(backoffMs(RETRY, 1, undefined, () => 0.999999)).toBe(999);
    expect(backoffMs(RETRY, 2, undefined, () => 0)).toBe(1_000);
    expect(backoffMs(RETRY, 3, undefined, () => 0.5)).toBe(3_000);
  });

  it('stops growing at maxBackoffMs', () => {
    expect(backoffMs(RETRY, 5, undefined, () => 0)).toBe(5_000);
    expect(backoffMs(RETRY, 50, undefined, () => 0)).toBe(5_000);
    expect(backoffMs(RETRY, 1_000_000, undefined, () => 0.999999)).toBe(9_999);
  });

  it('stays a number with no initial backoff and a huge attempt count', () => {
    const none = { ...RETRY, initialBackoffMs: 0 };
    expect(backoffMs(none, 10_000, undefined, () => 0.5)).toBe(0);
  });

  it('lets a longer Retry-After win, beyond maxBackoffMs, and ignores a shorter one', () => {
    expect(backoffMs(RETRY, 1, 120_000, () => 0)).toBe(120_000);
    expect(backoffMs(RETRY, 3, 100, () => 0)).toBe(2_000);
    expect(backoffMs(RETRY, 1, Number.NaN, () => 0)).toBe(500);
  });

  it('uses Math.random unless told otherwise', () => {
    const wait = backoffMs(resolveRetry(undefined), 1, undefined);
    expect(wait).toBeGreaterThanOrEqual(500);
    expect(wait).toBeLessThanOrEqual(1_000);
  });

  it('lies between half the capped exponential step and the step, and never shrinks as attempts grow', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 600_000 }),
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (initialBackoffMs, extra, attempt, r) => {
          const retry = { ...RETRY, initialBackoffMs, maxBackoffMs: initialBackoffMs + extra };
          const step = Math.min(retry.maxBackoffMs, initialBackoffMs * 2 ** (attempt - 1));
          const wait = backoffMs(retry, attempt, undefined, () => r);
          expect(wait).toBeGreaterThanOrEqual(Math.floor(step / 2));
          expect(wait).toBeLessThanOrEqual(step);
          expect(backoffMs(retry, attempt + 1, undefined, () => 0)).toBeGreaterThanOrEqual(
            backoffMs(retry, attempt, undefined, () => 0),
          );
        },
      ),
    );
  });
});

describe('giveUp', () => {
  it('tries again within the limits', () => {
    expect(giveUp(RETRY, 1, 0, 1_000)).toBeNull();
    expect(giveUp(RETRY, 4, 0, 59_999)).toBeNull();
  });

  it('stops after maxAttempts attempts', () => {
    expect(giveUp(RETRY, 5, 0, 1_000)).toMatch(/max attempts reached/);
    expect(giveUp({ ...RETRY, maxAttempts: 1 }, 1, 0, 1)).toMatch(/max attempts reached/);
  });

  it('stops when the next attempt would start maxAgeMs or later after the first', () => {
    expect(giveUp(RETRY, 2, 1_000, 61_000)).toMatch(/max age exceeded/);
    expect(giveUp(RETRY, 2, 1_000, 500_000)).toMatch(/max age exceeded/);
    expect(giveUp({ ...RETRY, maxAgeMs: 0 }, 1, 1_000, 1_000)).toMatch(/max age exceeded/);
  });
});
