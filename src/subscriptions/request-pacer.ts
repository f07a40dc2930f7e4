import { TokenBucket } from '../quotas/token-bucket';

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * Holds requests to a target back to a rate: first come, first served, with at most one second's
 * worth let through at once after a quiet spell. One timer waits for the first in line, however
 * many are waiting, and none is left behind when nobody is.
 */
export class RequestPacer {
  private readonly bucket: TokenBucket | null;
  private readonly queue: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly requestsPerSecond: number | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (requestsPerSecond !== undefined && !(requestsPerSecond > 0)) {
      throw new RangeError(`requestsPerSecond must be positive, not ${requestsPerSecond}`);
    }
    // A rate below one still lets a single request through, or nothing would ever go.
    this.bucket =
      requestsPerSecond === undefined || requestsPerSecond === Infinity
        ? null
        : new TokenBucket(requestsPerSecond, Math.max(1, requestsPerSecond), now());
  }

  /** Requests waiting for their turn. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves when the caller may send; rejects with the signal's reason if it is aborted first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.bucket === null) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal !== undefined) {
        waiter.onAbort = () => this.abandon(waiter);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
      // With a timer pending, someone earlier is waiting; this one waits behind them.
      if (this.timer === null) this.drain();
    });
  }

  private drain(): void {
    const bucket = this.bucket!;
    while (this.queue.length > 0) {
      const available = bucket.available(this.now());
      if (available < 1) {
        // Rounded up: a timer that fires a fraction early would only have to be set again.
        const delay = Math.max(1, Math.ceil(((1 - available) / this.requestsPerSecond!) * 1000));
        this.timer = setTimeout(() => {
          this.timer = null;
          this.drain();
        }, delay);
        return;
      }
      bucket.take(1, this.now());
      const waiter = this.queue.shift()!;
      if (waiter.onAbort !== undefined) waiter.signal!.removeEventListener('abort', waiter.onAbort);
      waiter.resolve();
    }
  }

  private abandon(waiter: Waiter): void {
    const index = this.queue.indexOf(waiter);
    if (index === -1) return;
    this.queue.splice(index, 1);
    waiter.reject(waiter.signal!.reason);
    if (this.queue.length === 0 && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
