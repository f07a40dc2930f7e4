import { TokenBucket } from '../../../src/quotas/token-bucket';

describe('token bucket', () => {
  it('starts full and lets a burst through without throttling', () => {
    const bucket = new TokenBucket(100, 100, 0);
    expect(bucket.isFull(0)).toBe(true);
    expect(bucket.take(100, 0)).toBe(0);
    expect(bucket.available(0)).toBe(0);
  });

  it('goes into debt instead of refusing, and says how long paying it back takes', () => {
    const bucket = new TokenBucket(100, 100, 0);
    bucket.take(100, 0);
    expect(bucket.take(50, 0)).toBe(500);
    expect(bucket.available(0)).toBe(-50);
    expect(bucket.debtMs(250)).toBe(250);
    expect(bucket.debtMs(500)).toBe(0);
  });

  it('refills at its rate up to the burst, never beyond', () => {
    const bucket = new TokenBucket(1000, 200, 0);
    bucket.take(200, 0);
    expect(bucket.available(100)).toBe(100);
    expect(bucket.isFull(150)).toBe(false);
    expect(bucket.isFull(200)).toBe(true);
    expect(bucket.available(60_000)).toBe(200);
  });

  it('charges a request larger than the burst in full', () => {
    const bucket = new TokenBucket(100, 100, 0);
    expect(bucket.take(1000, 0)).toBe(9000);
    expect(bucket.take(0, 4000)).toBe(5000);
  });

  it('ignores a clock that steps back', () => {
    const bucket = new TokenBucket(100, 100, 1000);
    bucket.take(100, 1000);
    expect(bucket.available(500)).toBe(0);
    expect(bucket.available(1100)).toBe(10);
  });

  it('keeps a debt across a new rate, credits time elapsed at the old one', () => {
    const bucket = new TokenBucket(100, 100, 0);
    bucket.take(300, 0);
    bucket.reconfigure(1000, 50, 1000);
    // -200 + 1 s at 100/s = -100, now paid back at 1000/s.
    expect(bucket.available(1000)).toBe(-100);
    expect(bucket.debtMs(1000)).toBe(100);
    expect(bucket.available(2000)).toBe(50);
  });

  it('clips a balance above a smaller burst', () => {
    const bucket = new TokenBucket(100, 100, 0);
    bucket.reconfigure(100, 10, 0);
    expect(bucket.available(0)).toBe(10);
    expect(bucket.isFull(0)).toBe(true);
  });
});
