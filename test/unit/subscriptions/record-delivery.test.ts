import { ConcurrencyLimit } from '../../../src/subscriptions/concurrency-limit';
import type { DeadLetterReason, DeadLetters } from '../../../src/subscriptions/dead-letters';
import type { DeliveredRecord } from '../../../src/subscriptions/delivery-format';
import {
  deliverRecord,
  type DeliveryObserver,
  type DeliveryTarget,
} from '../../../src/subscriptions/record-delivery';
import { RequestPacer } from '../../../src/subscriptions/request-pacer';
import { resolveRetry, type RetrySettings } from '../../../src/subscriptions/subscription';
import { TargetClient } from '../../../src/subscriptions/target-client';
import type { DeliveryAttempt } from '../../../src/subscriptions/target-client';
import { TargetPolicy } from '../../../src/subscriptions/target-policy';
import { record } from './delivery-records';
import { closedPort, startServer, type TestServer } from './http-server';

const LOCAL = new TargetPolicy(['127.0.0.1']);
/** Backoffs of a few milliseconds: the retries are real, the waits need not be. */
const QUICK: RetrySettings = { maxAttempts: 5, initialBackoffMs: 5, maxBackoffMs: 10 };

const servers: TestServer[] = [];
const clients: TargetClient[] = [];

afterEach(async () => {
  clients.splice(0).forEach((client) => client.close());
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A target on 127.0.0.1 that answers the statuses of `statuses` in turn, the last one from then on. */
async function answering(...statuses: number[]): Promise<TestServer> {
  let next = 0;
  const server = await startServer((_request, response) => {
    const status = statuses[Math.min(next++, statuses.length - 1)];
    response.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`);
  });
  servers.push(server);
  return server;
}

function deliveryTarget(
  url: string,
  options: { retry?: RetrySettings; policy?: TargetPolicy; limit?: ConcurrencyLimit } = {},
): DeliveryTarget {
  const client = new TargetClient({
    target: { url, timeoutMs: 2_000 },
    policy: options.policy ?? LOCAL,
    maxConnections: 2,
    maxResponseBytes: 1024,
  });
  clients.push(client);
  return {
    subscription: 'orders-to-hooks',
    client,
    format: 'raw',
    retry: resolveRetry(options.retry ?? QUICK),
    deadLetterTopic: 'orders.dlq',
    pacer: new RequestPacer(undefined),
    limit: options.limit ?? new ConcurrencyLimit(2),
  };
}

interface Written {
  topic: string;
  record: DeliveredRecord;
  reason: DeadLetterReason;
}

/** Stands in for the Kafka producer behind DeadLetters: records each write and answers `accepts`. */
function deadLetters(accepts = true): { stub: DeadLetters; written: Written[] } {
  const written: Written[] = [];
  const stub = {
    write: (topic: string, record: DeliveredRecord, reason: DeadLetterReason) => {
      written.push({ topic, record, reason });
      return Promise.resolve(accepts);
    },
  };
  return { stub: stub as unknown as DeadLetters, written };
}

interface Seen {
  attempted: string[];
  delivered: { record: DeliveredRecord; attempts: number }[];
  retrying: { attempt: DeliveryAttempt; delayMs: number }[];
  deadLettered: { record: DeliveredRecord; error: string }[];
}

function observer(onRetrying?: () => void): { observer: DeliveryObserver; seen: Seen } {
  const seen: Seen = { attempted: [], delivered: [], retrying: [], deadLettered: [] };
  return {
    seen,
    observer: {
      attempted: (result) => seen.attempted.push(result),
      delivered: (record, attempts) => seen.delivered.push({ record, attempts }),
      retrying: (_record, attempt, delayMs) => {
        seen.retrying.push({ attempt, delayMs });
        onRetrying?.();
      },
      deadLettered: (record, error) => seen.deadLettered.push({ record, error }),
    },
  };
}

const RECORD = record({ key: Buffer.from('order-7'), value: Buffer.from('{"id":7}') });

/** Delivers RECORD to `target` with the stand-ins above, dead letters accepted or not. */
async function deliverOnce(target: DeliveryTarget, deadLettersAccepted = true) {
  const dead = deadLetters(deadLettersAccepted);
  const { observer: watching, seen } = observer();
  const end = await deliverRecord(RECORD, target, dead.stub, watching, new AbortController().signal);
  return { end, dead, seen };
}

describe('deliverRecord', () => {
  it('is done when the target answers 2xx, telling the observer after one attempt', async () => {
    const server = await answering(202);
    const { end, dead, seen } = await deliverOnce(deliveryTarget(`${server.origin}/hooks`));
    expect(end).toBe('done');
    expect(seen.delivered).toEqual([{ record: RECORD, attempts: 1 }]);
    expect(seen.attempted).toEqual(['2xx']);
    expect(seen.retrying).toEqual([]);
    expect(dead.written).toEqual([]);
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]).toMatchObject({ method: 'POST', url: '/hooks', body: '{"id":7}' });
  });

  it('retries a 500 after a backoff, and is done when the next attempt is taken', async () => {
    const server = await answering(500, 200);
    const { end, dead, seen } = await deliverOnce(deliveryTarget(server.origin));
    expect(end).toBe('done');
    expect(server.seen).toHaveLength(2);
    expect(seen.attempted).toEqual(['5xx', '2xx']);
    expect(seen.retrying).toHaveLength(1);
    expect(seen.retrying[0].attempt).toMatchObject({ kind: 'answered', status: 500 });
    // Equal jitter on the first step: between half of initialBackoffMs and all of it.
    expect(seen.retrying[0].delayMs).toBeGreaterThanOrEqual(2);
    expect(seen.retrying[0].delayMs).toBeLessThanOrEqual(5);
    expect(seen.delivered).toEqual([{ record: RECORD, attempts: 2 }]);
    expect(dead.written).toEqual([]);
  });

  it('sends a 4xx to the dead-letter topic at once, with the status and one attempt', async () => {
    const server = await answering(400, 200);
    const dead = deadLetters();
    const { observer: watching, seen } = observer();
    const before = Date.now();
    const end = await deliverRecord(
      RECORD,
      deliveryTarget(server.origin),
      dead.stub,
      watching,
      new AbortController().signal,
    );
    expect(end).toBe('done');
    expect(server.seen).toHaveLength(1);
    expect(dead.written).toHaveLength(1);
    const [{ topic, record: written, reason }] = dead.written;
    expect(topic).toBe('orders.dlq');
    expect(written).toBe(RECORD);
    expect(reason).toMatchObject({
      subscription: 'orders-to-hooks',
      status: 400,
      error: 'the target answered 400',
      attempts: 1,
    });
    expect(reason.firstAttemptAt).toBeGreaterThanOrEqual(before);
    expect(reason.lastAttemptAt).toBeGreaterThanOrEqual(reason.firstAttemptAt);
    expect(seen.deadLettered).toEqual([{ record: RECORD, error: 'the target answered 400' }]);
    expect(seen.retrying).toEqual([]);
    expect(seen.delivered).toEqual([]);
  });

  it('gives up when maxAttempts is reached, saying so in the dead letter', async () => {
    const server = await answering(503);
    const { end, dead, seen } = await deliverOnce(
      deliveryTarget(server.origin, { retry: { ...QUICK, maxAttempts: 3 } }),
    );
    expect(end).toBe('done');
    expect(server.seen).toHaveLength(3);
    expect(seen.retrying).toHaveLength(2);
    expect(dead.written).toHaveLength(1);
    const { reason } = dead.written[0];
    expect(reason).toMatchObject({ status: 503, attempts: 3 });
    expect(reason.error).toContain('the target answered 503');
    expect(reason.error).toContain('max attempts reached (3 of 3)');
    expect(seen.deadLettered).toEqual([{ record: RECORD, error: reason.error }]);
  });

  it('retries a target nobody listens on, and dead-letters it without a status when attempts run out', async () => {
    const port = await closedPort();
    const { end, dead, seen } = await deliverOnce(
      deliveryTarget(`http://127.0.0.1:${port}/`, { retry: { ...QUICK, maxAttempts: 2 } }),
    );
    expect(end).toBe('done');
    expect(seen.attempted).toEqual(['unreachable', 'unreachable']);
    expect(dead.written).toHaveLength(1);
    expect(dead.written[0].reason).not.toHaveProperty('status');
    expect(dead.written[0].reason).toMatchObject({ attempts: 2 });
    expect(dead.written[0].reason.error).toContain('max attempts reached (2 of 2)');
  });

  it('dead-letters a target the policy refuses, without sending anything or retrying', async () => {
    const server = await answering(200);
    const { end, dead, seen } = await deliverOnce(
      deliveryTarget(server.origin, { policy: new TargetPolicy(['10.1.2.3']) }),
    );
    expect(end).toBe('done');
    expect(server.seen).toEqual([]);
    expect(seen.attempted).toEqual(['refused']);
    expect(seen.retrying).toEqual([]);
    expect(dead.written).toHaveLength(1);
    const { reason } = dead.written[0];
    expect(reason).not.toHaveProperty('status');
    expect(reason.attempts).toBe(1);
    expect(reason.error).toContain('127.0.0.1');
    expect(reason.error).toContain('allowedTargets');
  });

  it('is abandoned when the signal aborts during a backoff, writing no dead letter', async () => {
    const server = await answering(500);
    const dead = deadLetters();
    const controller = new AbortController();
    const { observer: watching, seen } = observer(() => controller.abort());
    const end = await deliverRecord(
      RECORD,
      // A long backoff: only the abort can end it within the test's time.
      deliveryTarget(server.origin, { retry: { initialBackoffMs: 60_000, maxBackoffMs: 60_000 } }),
      dead.stub,
      watching,
      controller.signal,
    );
    expect(end).toBe('abandoned');
    expect(server.seen).toHaveLength(1);
    expect(seen.retrying).toHaveLength(1);
    expect(seen.delivered).toEqual([]);
    expect(seen.deadLettered).toEqual([]);
    expect(dead.written).toEqual([]);
  });

  it('is abandoned, sending nothing, when the signal has aborted before it starts', async () => {
    const server = await answering(200);
    const dead = deadLetters();
    const { observer: watching, seen } = observer();
    const end = await deliverRecord(
      RECORD,
      deliveryTarget(server.origin),
      dead.stub,
      watching,
      AbortSignal.abort(),
    );
    expect(end).toBe('abandoned');
    expect(server.seen).toEqual([]);
    expect(seen.attempted).toEqual([]);
  });

  it('is abandoned when the signal aborts while it waits for a free slot', async () => {
    const server = await answering(200);
    const limit = new ConcurrencyLimit(1);
    const release = await limit.acquire();
    const dead = deadLetters();
    const { observer: watching } = observer();
    const controller = new AbortController();
    const delivery = deliverRecord(
      RECORD,
      deliveryTarget(server.origin, { limit }),
      dead.stub,
      watching,
      controller.signal,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    expect(await delivery).toBe('abandoned');
    expect(server.seen).toEqual([]);
    // The waiting delivery took nothing with it: the slot is still the one holder's to give back.
    release();
    await expect(limit.acquire(AbortSignal.timeout(1_000))).resolves.toEqual(expect.any(Function));
  });

  it('is abandoned, not done, when the dead letter could not be written', async () => {
    const server = await answering(404);
    const { end, dead, seen } = await deliverOnce(deliveryTarget(server.origin), false);
    expect(end).toBe('abandoned');
    expect(dead.written).toHaveLength(1);
    // Only a written dead letter counts as one: the record stays uncommitted, to be delivered again.
    expect(seen.deadLettered).toEqual([]);
    expect(seen.delivered).toEqual([]);
  });

  it('holds its slot of the limit only while an attempt is in flight, not while it backs off', async () => {
    let failedOnce = false;
    const server = await startServer((request, response) => {
      const fail = request.body === 'first' && !failedOnce;
      failedOnce ||= fail;
      response.writeHead(fail ? 500 : 200).end();
    });
    servers.push(server);
    const target = deliveryTarget(server.origin, {
      limit: new ConcurrencyLimit(1),
      retry: { initialBackoffMs: 200, maxBackoffMs: 200 },
    });
    const dead = deadLetters();
    const { observer: watching, seen } = observer();
    const deliver = (value: string) =>
      deliverRecord(
        record({ value: Buffer.from(value) }),
        target,
        dead.stub,
        watching,
        new AbortController().signal,
      );
    expect(await Promise.all([deliver('first'), deliver('second')])).toEqual(['done', 'done']);
    // The second went while the first waited to try again.
    expect(server.seen.map((request) => request.body)).toEqual(['first', 'second', 'first']);
    expect(seen.delivered.map(({ attempts }) => attempts)).toEqual([1, 2]);
  });
});
