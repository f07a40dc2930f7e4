/**
 * A token bucket that may go into debt. Tokens refill at `rate` per second up to `burst`; taking
 * more than is there leaves the balance negative instead of refusing, and the debt is the
 * throttle: a producer over its quota still gets its request through, and is told how long to
 * wait before the bucket is back at zero, as a Kafka broker does with its produce quotas.
 *
 * Time is passed in (milliseconds from any monotonic origin), so the bucket has no clock of its
 * own and behaves the same in tests as in production.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private rate: number,
    private burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /** Takes `amount` tokens, however few are left; returns the milliseconds until the bucket is out of debt. */
  take(amount: number, now: number): number {
    this.refill(now);
    this.tokens -= amount;
    return this.debtMs(now);
  }

  /** Milliseconds until the balance is back at zero; 0 when it is not negative. */
  debtMs(now: number): number {
    this.refill(now);
    return this.tokens >= 0 ? 0 : (-this.tokens / this.rate) * 1000;
  }

  /** The balance at `now`: negative while in debt. */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** A full bucket is indistinguishable from a new one, so it can be forgotten without changing any answer. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  /**
   * Applies a new rate and burst. Time elapsed so far is credited at the old rate, and a debt is
   * kept: changing a quota must not let a producer that is over it start afresh.
   */
  reconfigure(rate: number, burst: number, now: number): void {
    this.refill(now);
    this.rate = rate;
    this.burst = burst;
    if (this.tokens > burst) this.tokens = burst;
  }

  private refill(now: number): void {
    // A clock that steps back (it should not, but a test's might) adds nothing rather than taking away.
    if (now <= this.updatedAt) return;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.rate);
    this.updatedAt = now;
  }
}
