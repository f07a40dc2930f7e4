/**
 * kafkajs 2.2.4 re-arms a timer in every broker connection's request queue each time the queue is
 * checked, with a negative delay when nothing is throttled: each connection that has had a
 * response then wakes the event loop about once a millisecond for as long as it lives
 * (tulios/kafkajs#1556, #1604, #1704; the fixes proposed there are unreleased). In the gateway that
 * is the state-topic reader and producer, the tap and the subscriptions: an idle gateway used 4 %
 * of a core on it (1,700 wake-ups a second) and a busy one paid for the same wake-ups in its
 * proxying.
 *
 * The replacement keeps kafkajs's rules for the cases that need a timer: requests waiting behind
 * a client-side throttle are checked when it ends, requests waiting behind the in-flight limit
 * every CHECK_PENDING_INTERVAL_MS (they are also checked as each response arrives). With nothing
 * waiting and nothing throttled there is nothing to check, and no timer.
 *
 * Each connection also looks for timed-out requests every min(requestTimeout, 100) ms, a
 * precision of 100 ms on timeouts of 30 s (kafkajs's default; longer for fetches and joins). A
 * gateway with neither tap nor subscriptions held six such connections for its state topic's
 * reader, producer and admin client: 60 more wake-ups a second, idle or not, about a fifth of its
 * idle CPU. The replacement looks every tenth of the timeout, between 100 ms and 1 s:
 * a request still fails at most a tenth later than its timeout.
 */

/** The fields of kafkajs's RequestQueue (src/network/requestQueue) the check reads and sets. */
export interface RequestQueueState {
  throttledUntil: number;
  pending: unknown[];
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
}

interface RequestQueueClass {
  prototype: RequestQueueState & {
    scheduleCheckPendingRequests(this: RequestQueueState): void;
    scheduleRequestTimeoutCheck(this: RequestTimeoutState): void;
  };
}

/** kafkajs's own interval for requests held back by the in-flight limit. */
const CHECK_PENDING_INTERVAL_MS = 10;

export function scheduleCheckPendingRequests(this: RequestQueueState): void {
  if (this.throttleCheckTimeoutId) return;
  const throttledFor = this.throttledUntil - Date.now();
  let delay: number;
  if (throttledFor > 0) delay = throttledFor;
  else if (this.pending.length > 0) delay = CHECK_PENDING_INTERVAL_MS;
  else return;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, delay);
}

/** The fields of kafkajs's RequestQueue the timeout check reads and sets. */
export interface RequestTimeoutState {
  enforceRequestTimeout: boolean;
  requestTimeout: number;
  inflight: Map<number, { sentAt: number; requestTimeout: number; timeoutRequest(): void }>;
  requestTimeoutIntervalId?: ReturnType<typeof setInterval>;
  isConnected(): boolean;
  destroy(): void;
}

/** How often in-flight requests are looked at when they time out after `requestTimeout` ms. */
export function requestTimeoutCheckMs(requestTimeout: number): number {
  return Math.min(requestTimeout, Math.max(100, Math.min(1_000, Math.floor(requestTimeout / 10))));
}

export function scheduleRequestTimeoutCheck(this: RequestTimeoutState): void {
  if (!this.enforceRequestTimeout) return;
  this.destroy();
  this.requestTimeoutIntervalId = setInterval(() => {
    const now = Date.now();
    this.inflight.forEach((request) => {
      if (now - request.sentAt > request.requestTimeout) request.timeoutRequest();
    });
    if (!this.isConnected()) this.destroy();
  }, requestTimeoutCheckMs(this.requestTimeout));
}

/** Installs both checks on kafkajs's RequestQueue (idempotent: the module is loaded once). */
export function fixRequestQueueTimer(RequestQueue: RequestQueueClass): void {
  RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  RequestQueue.prototype.scheduleRequestTimeoutCheck = scheduleRequestTimeoutCheck;
}

/** The RequestQueue class of the kafkajs the gateway runs with. */
export function kafkaJsRequestQueue(): RequestQueueClass {
  // A deep path: kafkajs exports no entry for it. kafkajs has no "exports" map, so it resolves.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('kafkajs/src/network/requestQueue') as RequestQueueClass;
}
