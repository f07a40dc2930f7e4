import type { ThrottleQuota } from '../../../src/config/gateway-config';
import { createLogger } from '../../../src/observability/logger';
import { Pipeline } from '../../../src/pipeline/pipeline';
import { QuotaManager } from '../../../src/quotas/quota-manager';
import { ErrorCode } from '../../../src/protocol/error-codes';
import { encodeRequestHeader } from '../../../src/protocol/headers';
import {
  ApiKey,
  createProduceRequest,
  createProduceRequestPartitionProduceData,
  createProduceRequestTopicProduceData,
  createProduceResponse,
  createProduceResponsePartitionProduceResponse,
  createProduceResponseTopicProduceResponse,
  decodeProduceResponse,
  encodeProduceRequest,
  encodeProduceResponse,
} from '../../../src/protocol/messages';
import { Writer } from '../../../src/protocol/primitives';
import { encodeRecordBatch } from '../../../src/protocol/records';
import type { ConnectionContext, RequestDecision, RequestRoute } from '../../../src/proxy/api-handler';
import { produceHandler } from '../../../src/proxy/handlers/produce';
import { decodeResponse, encodeResponse } from '../../../src/proxy/handlers/response-codec';
import { staticAddressBook } from '../support/address-book';

const TOPIC = 'metered';
const CLIENT_ID = 'metered-client';

const book = staticAddressBook();

/** A batch of one record whose value is `size` bytes. */
function batchOf(size: number): Buffer {
  return encodeRecordBatch(
    {
      baseOffset: 0n,
      partitionLeaderEpoch: -1,
      attributes: 0,
      lastOffsetDelta: 0,
      baseTimestamp: 1_700_000_000_000n,
      maxTimestamp: 1_700_000_000_000n,
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
    },
    [{ attributes: 0, timestampDelta: 0, offsetDelta: 0, key: null, value: Buffer.alloc(size), headers: [] }],
  );
}

function produceFrame(route: RequestRoute, records: Buffer, acks = 1, partitions = [0]): Buffer {
  const writer = new Writer();
  encodeRequestHeader(writer, {
    apiKey: ApiKey.Produce,
    apiVersion: route.apiVersion,
    correlationId: route.correlationId,
    clientId: CLIENT_ID,
  });
  const request = createProduceRequest();
  request.acks = acks;
  request.timeoutMs = 30_000;
  const topic = createProduceRequestTopicProduceData();
  topic.name = TOPIC;
  for (const index of partitions) {
    const partition = createProduceRequestPartitionProduceData();
    partition.index = index;
    partition.records = records;
    topic.partitionData.push(partition);
  }
  request.topicData.push(topic);
  encodeProduceRequest(writer, request, route.apiVersion);
  return Buffer.from(writer.result());
}

function brokerResponse(route: RequestRoute, throttleTimeMs = 0): Buffer {
  const response = createProduceResponse();
  response.throttleTimeMs = throttleTimeMs;
  const topic = createProduceResponseTopicProduceResponse();
  topic.name = TOPIC;
  const partition = createProduceResponsePartitionProduceResponse();
  partition.baseOffset = 42n;
  topic.partitionResponses.push(partition);
  response.responses.push(topic);
  return encodeResponse(route, { correlationId: route.correlationId }, response, encodeProduceResponse);
}

function readResponse(frame: Buffer, route: RequestRoute) {
  return decodeResponse(frame, route, decodeProduceResponse).body;
}

function quota(partial: Partial<ThrottleQuota> = {}): ThrottleQuota {
  return {
    name: 'metered',
    kind: 'clientId',
    shared: false,
    hardLimit: false,
    bytesPerSecond: 1000,
    ...partial,
  };
}

/** A produce handler over quotas on a clock the test moves (timers are faked to match). */
function setUp(quotas: ThrottleQuota[] = [quota()]) {
  const clock = { now: 0 };
  const manager = new QuotaManager(
    { quotas, maxThrottleMs: 60_000, maxBuckets: 100 },
    { now: () => clock.now },
  );
  const pipeline = new Pipeline([]);
  const handler = produceHandler({ book, pipeline: () => pipeline, quotas: manager });
  const connection: ConnectionContext = {
    id: 1,
    clientAddress: '10.0.0.1:5555',
    listener: 'broker-1',
    logger: createLogger('silent'),
    clientId: null,
  };
  let correlationId = 0;
  const route = (apiVersion: number): RequestRoute => ({
    apiKey: ApiKey.Produce,
    apiVersion,
    correlationId: ++correlationId,
  });
  // What the connection keeps per forwarded request and hands back with its response.
  const exchanges = new Map<number, unknown>();
  const request = (r: RequestRoute, size: number, acks = 1) => {
    const decision = handler.onRequest!(produceFrame(r, batchOf(size), acks), r, connection);
    const remember = (d: RequestDecision) => {
      if (d.action === 'forward') exchanges.set(r.correlationId, d.exchange);
      return d;
    };
    return decision instanceof Promise ? decision.then(remember) : remember(decision);
  };
  const respond = (r: RequestRoute, throttleTimeMs = 0) => {
    const exchange = exchanges.get(r.correlationId);
    exchanges.delete(r.correlationId);
    return handler.onResponse!(brokerResponse(r, throttleTimeMs), r, connection, exchange);
  };
  /** Moves the quota clock and the timers together. */
  const advance = async (ms: number) => {
    clock.now += ms;
    await jest.advanceTimersByTimeAsync(ms);
  };
  return { handler, connection, route, request, respond, advance, manager };
}

/** Whether a promise has settled, after letting pending callbacks run. */
async function isSettled(value: unknown): Promise<boolean> {
  if (!(value instanceof Promise)) return true;
  let settled = false;
  void value.then(
    () => (settled = true),
    () => (settled = true),
  );
  await jest.advanceTimersByTimeAsync(0);
  return settled;
}

beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] }));
afterEach(() => jest.useRealTimers());

describe('produce throttling (KIP-219 clients, Produce v6+)', () => {
  it('forwards a request over the quota and answers at once with our throttle time', () => {
    const { route, request, respond } = setUp();
    const first = route(9);
    expect(request(first, 900)).toEqual({ action: 'forward', expectResponse: true });
    const unthrottled = brokerResponse(first);
    expect(respond(first)).toEqual(unthrottled);

    const second = route(9);
    expect(request(second, 1000)).toEqual({
      action: 'forward',
      expectResponse: true,
      // The throttle travels with the request to its response.
      exchange: expect.objectContaining({
        throttled: expect.objectContaining({ throttleMs: expect.any(Number) }),
      }),
    });
    const answer = respond(second);
    expect(answer).toBeInstanceOf(Buffer);
    const body = readResponse(answer as Buffer, second);
    // The record batch carries ~70 bytes of framing over the value: about one second of debt.
    expect(body.throttleTimeMs).toBeGreaterThan(1000);
    expect(body.throttleTimeMs).toBeLessThan(1200);
    expect(body.responses[0].partitionResponses[0].baseOffset).toBe(42n);
  });

  it("keeps the broker's throttle time when it is the longer one, and the broker's bytes with it", () => {
    const { route, request, respond } = setUp();
    request(route(9), 2000);
    const second = route(9);
    request(second, 10);
    const frame = brokerResponse(second, 60_000);
    expect(respond(second, 60_000)).toEqual(frame);
  });

  it("holds the connection's next produce request until the throttle time has passed", async () => {
    const { route, request, respond, advance } = setUp();
    const first = route(9);
    request(first, 2000);
    const throttleMs = readResponse(respond(first) as Buffer, first).throttleTimeMs;
    expect(throttleMs).toBeGreaterThan(1000);

    const next = request(route(9), 10);
    expect(next).toBeInstanceOf(Promise);
    await advance(throttleMs - 1);
    expect(await isSettled(next)).toBe(false);
    await advance(1);
    expect(await isSettled(next)).toBe(true);
    expect(await next).toMatchObject({ action: 'forward' });
  });

  it('holds the connection after a throttled acks=0 request, which has no response to say so', async () => {
    const { route, request, advance } = setUp();
    expect(request(route(9), 2000, 0)).toEqual({ action: 'forward', expectResponse: false });
    const next = request(route(9), 10, 0);
    expect(await isSettled(next)).toBe(false);
    await advance(60_000);
    expect(await next).toEqual({ action: 'forward', expectResponse: false });
  });
});

describe('produce throttling (older clients, Produce v3-v5)', () => {
  it('holds the response itself until the throttle time has passed, and leaves the connection open', async () => {
    const { route, request, respond, advance } = setUp();
    const first = route(5);
    request(first, 2000);
    const answer = respond(first);
    expect(answer).toBeInstanceOf(Promise);
    expect(await isSettled(answer)).toBe(false);
    // Requests keep flowing: the held response is what slows the producer.
    expect(request(route(5), 10)).toEqual({
      action: 'forward',
      expectResponse: true,
      // The throttle travels with the request to its response.
      exchange: expect.objectContaining({
        throttled: expect.objectContaining({ throttleMs: expect.any(Number) }),
      }),
    });
    await advance(1000);
    expect(await isSettled(answer)).toBe(false);
    await advance(2000);
    const body = readResponse(await answer, first);
    expect(body.throttleTimeMs).toBeGreaterThan(1000);
  });
});

describe('hard limits', () => {
  it('refuse every partition with THROTTLING_QUOTA_EXCEEDED and say when to retry; nothing is forwarded', () => {
    const { route, request } = setUp([quota({ hardLimit: true })]);
    expect(request(route(9), 1500)).toEqual({ action: 'forward', expectResponse: true });
    const refused = route(9);
    const decision = request(refused, 10) as RequestDecision;
    expect(decision.action).toBe('respond');
    if (decision.action !== 'respond') return;
    const body = readResponse(decision.response, refused);
    expect(body.throttleTimeMs).toBeGreaterThan(500);
    expect(body.responses[0].partitionResponses).toEqual([
      expect.objectContaining({
        index: 0,
        errorCode: ErrorCode.ThrottlingQuotaExceeded,
        baseOffset: -1n,
        errorMessage: expect.stringMatching(
          /^client id 'metered-client' is over the produce quota 'metered' \(1000 bytes\/s\); retry in \d+ ms$/,
        ),
        recordErrors: [],
      }),
    ]);
  });

  it('refuse every partition of the request alike', () => {
    const { route, request, connection, handler } = setUp([quota({ hardLimit: true })]);
    request(route(3), 1500);
    const refused = route(3);
    const decision = handler.onRequest!(
      produceFrame(refused, batchOf(10), 1, [0, 1, 2]),
      refused,
      connection,
    );
    if (!('response' in decision)) throw new Error('expected a local answer');
    const codes = readResponse(decision.response, refused).responses[0].partitionResponses.map((p) => [
      p.index,
      p.errorCode,
    ]);
    expect(codes).toEqual([
      [0, ErrorCode.ThrottlingQuotaExceeded],
      [1, ErrorCode.ThrottlingQuotaExceeded],
      [2, ErrorCode.ThrottlingQuotaExceeded],
    ]);
  });

  it('close the connection of an acks=0 producer, which cannot be told', () => {
    const { route, request } = setUp([quota({ hardLimit: true })]);
    request(route(9), 1500, 0);
    expect(request(route(9), 10, 0)).toMatchObject({ action: 'close' });
  });
});

it('leaves producers no quota covers alone, their responses untouched', () => {
  const { route, request, respond } = setUp([quota({ match: ['someone-else'] })]);
  const r = route(9);
  expect(request(r, 100_000)).toEqual({ action: 'forward', expectResponse: true });
  const frame = brokerResponse(r);
  expect(respond(r)).toEqual(frame);
});
