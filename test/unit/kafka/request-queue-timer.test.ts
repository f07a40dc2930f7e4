import {
  fixRequestQueueTimer,
  kafkaJsRequestQueue,
  scheduleCheckPendingRequests,
  type RequestQueueState,
} from '../../../src/kafka/request-queue-timer';

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
    const instance = new (RequestQueue as unknown as new (options: object) => RequestQueueState)({
      instrumentationEmitter: { emit() {} },
      maxInFlightRequests: 1,
      requestTimeout: 30_000,
      enforceRequestTimeout: false,
      clientId: 'test',
      broker: 'localhost:1',
      logger: { debug() {}, info() {}, warn() {}, error() {}, namespace: () => ({}) },
      isConnected: () => true,
    });
    expect(instance.throttledUntil).toBe(-1);
    expect(instance.pending).toEqual([]);
    expect(instance.throttleCheckTimeoutId ?? null).toBeNull();
  });
});
