/** The write cannot be made now (no broker, no leader, timeout). HTTP 503. */
export class StateUnavailableError extends Error {
  override readonly name = 'StateUnavailableError';
}

/** If-Match (or If-None-Match) named a revision that is no longer the document's. HTTP 412. */
export class StaleRevisionError extends Error {
  override readonly name = 'StaleRevisionError';
}

/** `promise`, or StateUnavailableError once `ms` have passed: a write must not hang its caller. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StateUnavailableError(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
