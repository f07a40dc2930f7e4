import type { ResolvedRetry } from './subscription';

export type AttemptOutcome = 'delivered' | 'retry' | 'dead';

/**
 * What a target's answer means for the record. Timeouts, "too early", throttling and server
 * errors may pass; any other refusal (a redirect too: targets are called, not browsed) would be
 * the same on every attempt, so retrying it only delays the dead letter.
 */
export function classifyStatus(status: number): AttemptOutcome {
  if (status >= 200 && status <= 299) return 'delivered';
  if (status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599)) return 'retry';
  return 'dead';
}

/**
 * Milliseconds to wait after attempt number `attempt` (1 after the first) before the next one.
 * The exponential step is capped at maxBackoffMs, and half of it is random ("equal jitter"), so
 * that records failing together do not come back together, while the wait still grows with
 * every attempt. A longer Retry-After from the target wins even beyond maxBackoffMs: the target
 * knows when it will be back, and the record's maximum age still bounds the wait.
 */
export function backoffMs(
  retry: ResolvedRetry,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  // Past 2^52 the step is beyond any cap; stopping there keeps 0 * Infinity out of the sum.
  const exponent = Math.min(Math.max(Math.floor(attempt) - 1, 0), 52);
  const step = Math.max(0, Math.min(retry.maxBackoffMs, retry.initialBackoffMs * 2 ** exponent));
  const half = step / 2;
  const jitter = Math.min(Math.max(random(), 0), 1);
  const wait = Math.floor(half + jitter * half);
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > wait) {
    return Math.ceil(retryAfterMs);
  }
  return wait;
}

/**
 * Whether to stop after `attempts` attempts, the first made at `firstAttemptAt`, when the next
 * would start at `nextAt` (milliseconds on one clock). Null means try again; otherwise the reason,
 * as the dead letter records it.
 */
export function giveUp(
  retry: ResolvedRetry,
  attempts: number,
  firstAttemptAt: number,
  nextAt: number,
): string | null {
  if (attempts >= retry.maxAttempts) return `max attempts reached (${attempts} of ${retry.maxAttempts})`;
  const age = nextAt - firstAttemptAt;
  // "No attempt starts this long after the first one": the limit itself is already too late.
  if (age >= retry.maxAgeMs) {
    return `max age exceeded (the next attempt would start ${Math.ceil(age)} ms after the first; the limit is ${retry.maxAgeMs} ms)`;
  }
  return null;
}
