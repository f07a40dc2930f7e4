import {
  fixRequestQueueTimer,
  kafkaJsRequestQueue,
  requestTimeoutCheckMs,
  scheduleCheckPendingRequests,
  scheduleRequestTimeoutCheck,
  type RequestQueueState,
  type RequestTimeoutState,
} from '../../../src/kafka/request-queue-timer';

/** A RequestQueue of the kafkajs the gateway runs with, as a kafkajs connection makes one. */
function kafkaJsQueue<T>(enforceRequestTimeout: boolean): T {
  const RequestQueue = kafkaJsRequestQueue() as unknown as new (options: object) => T;
  return new RequestQueue({
    instrumentationEmitter: { emit() {} },
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout,
    clientId: 'test',
    broker: 'localhost:1',
    logger: { debug() {}, info() {}, warn() {}, error() {}, namespace: () => ({}) },
    isConnected: () => true,
  });
}

function queue(fields: Partial<RequestQueueState> = {}): RequestQueueState & { checks: number } {
  const state = {
    throttledUntil: -1,
    pending: [] as unknown[],
    throttleCheckTimeoutId: null as ReturnType<typeof setTimeout> | null,
    checks: 0,
    checkPendingRequests() {
      state.checks++;
      // As kafkajs does after every check.
      scheduleCheckPendingRequests.call(state);
    },
    ...fields,
  };
  return state;
}

describe('the request queue check of kafkajs', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('arms no timer when nothing waits and nothing is throttled', () => {
    const idle = queue();
    scheduleCheckPendingRequests.call(idle);
    expect(idle.throttleCheckTimeoutId).toBeNull();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('does not keep checking an idle queue after a check (the loop kafkajs 2.2.4 runs)', () => {
    const idle = queue();
    idle.checkPendingRequests();
    jest.advanceTimersByTime(1_000);
    expect(idle.checks).toBe(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('checks requests held back by the in-flight limit every 10 ms while they wait', () => {
    const held = queue({ pending: [{}] });
    scheduleCheckPendingRequests.call(held);
    jest.advanceTimersByTime(9);
    expect(held.checks).toBe(0);
    jest.advanceTimersByTime(1);
    expect(held.checks).toBe(1);
    jest.advanceTimersByTime(10);
    expect(held.checks).toBe(2);
    // Sent at last: the check already armed runs once more and arms none.
    held.pending.length = 0;
    jest.advanceTimersByTime(1_000);
    expect(held.checks).toBe(3);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('checks throttled requests when the throttle ends', () => {
    const throttled = queue({ pending: [{}], throttledUntil: Date.now() + 300 });
    scheduleCheckPendingRequests.call(throttled);
    jest.advanceTimersByTime(299);
    expect(throttled.checks).toBe(0);
    throttled.pending.length = 0;
    jest.advanceTimersByTime(1);
    expect(throttled.checks).toBe(1);
  });

  it('arms one timer at a time', () => {
    const held = queue({ pending: [{}] });
    scheduleCheckPendingRequests.call(held);
    scheduleCheckPendingRequests.call(held);
    expect(jest.getTimerCount()).toBe(1);
  });

  it('is what the kafkajs the gateway runs with uses once installed', () => {
    const RequestQueue = kafkaJsRequestQueue();
    fixRequestQueueTimer(RequestQueue);
    expect(RequestQueue.prototype.scheduleCheckPendingRequests).toBe(scheduleCheckPendingRequests);
    // The fields the check relies on are still the ones kafkajs sets.
    const instance = kafkaJsQueue<RequestQueueState>(false);
    expect(instance.throttledUntil).toBe(-1);
    expect(instance.pending).toEqual([]);
    expect(instance.throttleCheckTimeoutId ?? null).toBeNull();
  });
});

function timeoutQueue(requestTimeout: number, enforce = true) {
  const timedOut: number[] = [];
  let connected = true;
  const state: RequestTimeoutState & { disconnect(): void } = {
    enforceRequestTimeout: enforce,
    requestTimeout,
    inflight: new Map(),
    isConnected: () => connected,
    destroy() {
      clearInterval(state.requestTimeoutIntervalId);
    },
    disconnect() {
      connected = false;
    },
  };
  const send = (correlationId: number, timeout = requestTimeout) => {
    const request = {
      sentAt: Date.now(),
      requestTimeout: timeout,
      timeoutRequest() {
        timedOut.push(correlationId);
        state.inflight.delete(correlationId);
      },
    };
    state.inflight.set(correlationId, request);
  };
  return { state, send, timedOut };
}

describe('the request timeout check of kafkajs', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('looks every tenth of the timeout, between 100 ms and 1 s, never later than the timeout', () => {
    expect(requestTimeoutCheckMs(30_000)).toBe(1_000);
    expect(requestTimeoutCheckMs(5_000)).toBe(500);
    expect(requestTimeoutCheckMs(1_000)).toBe(100);
    expect(requestTimeoutCheckMs(300)).toBe(100);
    expect(requestTimeoutCheckMs(50)).toBe(50);
  });

  it('fails a request within a tenth of its timeout after it is due, and not before', () => {
    const { state, send, timedOut } = timeoutQueue(30_000);
    scheduleRequestTimeoutCheck.call(state);
    send(1);
    jest.advanceTimersByTime(30_000);
    expect(timedOut).toEqual([]);
    jest.advanceTimersByTime(1_000);
    expect(timedOut).toEqual([1]);
  });

  it('wakes up once a second on a 30 s timeout, not ten times', () => {
    const { state } = timeoutQueue(30_000);
    let checks = 0;
    const isConnected = state.isConnected;
    state.isConnected = () => {
      checks++;
      return isConnected();
    };
    scheduleRequestTimeoutCheck.call(state);
    jest.advanceTimersByTime(10_000);
    expect(checks).toBe(10);
  });

  it('honours longer timeouts of single requests (fetches, joins)', () => {
    const { state, send, timedOut } = timeoutQueue(30_000);
    scheduleRequestTimeoutCheck.call(state);
    send(1, 60_000);
    send(2);
    jest.advanceTimersByTime(31_000);
    expect(timedOut).toEqual([2]);
    jest.advanceTimersByTime(30_000);
    expect(timedOut).toEqual([2, 1]);
  });

  it('stops once the connection is gone, and replaces rather than adds a timer when armed again', () => {
    const { state } = timeoutQueue(30_000);
    scheduleRequestTimeoutCheck.call(state);
    scheduleRequestTimeoutCheck.call(state);
    expect(jest.getTimerCount()).toBe(1);
    state.disconnect();
    jest.advanceTimersByTime(1_000);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('arms nothing when timeouts are not enforced', () => {
    const { state } = timeoutQueue(30_000, false);
    scheduleRequestTimeoutCheck.call(state);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('runs on the RequestQueue of the kafkajs the gateway runs with, and times out its requests', () => {
    const RequestQueue = kafkaJsRequestQueue();
    fixRequestQueueTimer(RequestQueue);
    expect(RequestQueue.prototype.scheduleRequestTimeoutCheck).toBe(scheduleRequestTimeoutCheck);
    const instance = kafkaJsQueue<RequestTimeoutState>(true);
    // A request as kafkajs's own queue holds it, checked by kafkajs's own fields.
    let timedOut = false;
    instance.inflight.set(7, {
      sentAt: Date.now(),
      requestTimeout: 30_000,
      timeoutRequest: () => {
        timedOut = true;
        instance.inflight.delete(7);
      },
    });
    (instance as unknown as { scheduleRequestTimeoutCheck(): void }).scheduleRequestTimeoutCheck();
    jest.advanceTimersByTime(31_000);
    expect(timedOut).toBe(true);
    instance.destroy();
    expect(jest.getTimerCount()).toBe(0);
  });
});
