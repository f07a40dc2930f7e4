/**
 * At most `limit` holders at once, waiters served in arrival order. One per subscription and
 * instance, shared by every partition it delivers, so the target sees at most `concurrency`
 * requests from this instance however many partitions it was given.
 */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: { grant: () => void; signal: AbortSignal | undefined }[] = [];

  constructor(private readonly limit: number) {}

  /** Resolves with the release function once there is room; rejects when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new Error('aborted'));
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        signal,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(waiter);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so nobody can overtake it.
      if (next !== undefined) next.grant();
      else this.active--;
    };
  }
}
