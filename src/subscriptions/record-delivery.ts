import { setTimeout as sleep } from 'node:timers/promises';
import type { DeadLetters } from './dead-letters';
import { outgoingBody, type DeliveredRecord } from './delivery-format';
import type { ConcurrencyLimit } from './concurrency-limit';
import type { RequestPacer } from './request-pacer';
import { backoffMs, classifyStatus, giveUp } from './retry-policy';
import type { DeliveryFormat, ResolvedRetry } from './subscription';
import { retryAfterMs, type DeliveryAttempt, type TargetClient } from './target-client';

/** What one subscription delivers with, on this instance; replaced as a whole when the subscription changes. */
export interface DeliveryTarget {
  subscription: string;
  client: TargetClient;
  format: DeliveryFormat;
  retry: ResolvedRetry;
  deadLetterTopic: string;
  pacer: RequestPacer;
  limit: ConcurrencyLimit;
}

/** How delivery went, as the status route and the metrics report it. */
export interface DeliveryObserver {
  attempted(result: string): void;
  delivered(record: DeliveredRecord, attempts: number): void;
  retrying(record: DeliveredRecord, attempt: DeliveryAttempt, delayMs: number): void;
  deadLettered(record: DeliveredRecord, error: string): void;
}

/** Done: delivered, or in the dead-letter topic; its offset may be committed. Abandoned: delivery stopped first. */
export type DeliveryEnd = 'done' | 'abandoned';

function describe(attempt: DeliveryAttempt): { result: string; status?: number; error: string } {
  switch (attempt.kind) {
    case 'answered':
      return {
        result: `${Math.floor(attempt.status / 100)}xx`,
        status: attempt.status,
        error: `the target answered ${attempt.status}`,
      };
    case 'timeout':
      return {
        result: 'timeout',
        error: `no answer within the timeout (${Math.round(attempt.durationMs)} ms)`,
      };
    case 'unreachable':
      return { result: 'unreachable', error: attempt.error };
    case 'refused':
      return { result: 'refused', error: attempt.reason };
  }
}

/**
 * Delivers one record, retrying with backoff until the target takes it (2xx), refuses it for good
 * (a 4xx other than 408, 425 and 429; an address the policy refuses), or the retry policy gives
 * up; the last two send it to the dead-letter topic. Returns 'abandoned' when `signal` stops it
 * (the partition moved to another instance, or the subscription changed): the record is then not
 * committed, and is delivered again.
 */
export async function deliverRecord(
  record: DeliveredRecord,
  target: DeliveryTarget,
  deadLetters: DeadLetters,
  observer: DeliveryObserver,
  signal: AbortSignal,
): Promise<DeliveryEnd> {
  const request = { ...outgoingBody(record, target.format), discardBody: true };
  const firstAttemptAt = Date.now();
  let attempts = 0;
  for (;;) {
    if (signal.aborted) return 'abandoned';
    try {
      await target.pacer.acquire(signal);
    } catch {
      return 'abandoned';
    }
    const release = await target.limit.acquire(signal).catch(() => null);
    if (release === null) return 'abandoned';
    let attempt: DeliveryAttempt;
    try {
      attempt = await target.client.send(request);
    } finally {
      release();
    }
    attempts++;
    const lastAttemptAt = Date.now();
    const { result, status, error } = describe(attempt);
    observer.attempted(result);
    const outcome =
      attempt.kind === 'answered'
        ? classifyStatus(attempt.status)
        : attempt.kind === 'refused'
          ? 'dead'
          : 'retry';
    if (outcome === 'delivered') {
      observer.delivered(record, attempts);
      return 'done';
    }
    let reason: string | null = outcome === 'dead' ? error : null;
    let delayMs = 0;
    if (reason === null) {
      const after = attempt.kind === 'answered' ? retryAfterMs(attempt.headers) : undefined;
      delayMs = backoffMs(target.retry, attempts, after);
      const gaveUp = giveUp(target.retry, attempts, firstAttemptAt, lastAttemptAt + delayMs);
      if (gaveUp !== null) reason = `${error}; ${gaveUp}`;
    }
    if (reason !== null) {
      const written = await deadLetters.write(
        target.deadLetterTopic,
        record,
        {
          subscription: target.subscription,
          ...(status !== undefined && { status }),
          error: reason,
          attempts,
          firstAttemptAt,
          lastAttemptAt,
        },
        signal,
      );
      if (!written) return 'abandoned';
      observer.deadLettered(record, reason);
      return 'done';
    }
    observer.retrying(record, attempt, delayMs);
    try {
      await sleep(delayMs, undefined, { signal });
    } catch {
      return 'abandoned';
    }
  }
}
