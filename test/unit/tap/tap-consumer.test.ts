import { EventEmitter } from 'node:events';
import type { Kafka } from 'kafkajs';
import { resolveConfig } from '../../../src/config/load-config';
import { TapConsumer, type TapRestartReason } from '../../../src/tap/tap-consumer';
import { createLogger } from '../../../src/observability/logger';

const EVENTS = { CRASH: 'crash', GROUP_JOIN: 'join', FETCH: 'fetch' };

/** The part of a kafkajs consumer the tap uses, driven by the test. */
class FakeConsumer extends EventEmitter {
  readonly events = EVENTS;
  subscribed: string[] = [];
  disconnected = false;
  constructor(readonly groupId: string) {
    super();
  }
  override on(event: string | symbol, listener: (...args: unknown[]) => void): this {
    return super.on(event, listener);
  }
  connect = async () => undefined;
  subscribe = async ({ topics }: { topics: string[] }) => {
    this.subscribed = topics;
  };
  eachMessage:
    ((payload: { topic: string; partition: number; message: object }) => Promise<void>) | undefined;
  run = async (options: { eachMessage: FakeConsumer['eachMessage'] }) => {
    this.eachMessage = options.eachMessage;
    this.emit(EVENTS.GROUP_JOIN, {});
    this.emit(EVENTS.FETCH, {});
  };
  disconnect = async () => {
    this.disconnected = true;
  };
  crash(message: string): void {
    this.emit(EVENTS.CRASH, { payload: { error: new Error(message) } });
  }
}

function fakeKafka() {
  const consumers: FakeConsumer[] = [];
  const setOffsets: { groupId: string; topic: string; partitions: unknown[] }[] = [];
  const kafka = {
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      listTopics: async () => ['mirrored', 'other'],
      fetchTopicOffsets: async () => [{ partition: 0, offset: '7', high: '7', low: '0' }],
      setOffsets: async (request: { groupId: string; topic: string; partitions: unknown[] }) => {
        setOffsets.push(request);
      },
      deleteGroups: async () => undefined,
    }),
    consumer: ({ groupId }: { groupId: string }) => {
      const consumer = new FakeConsumer(groupId);
      consumers.push(consumer);
      return consumer;
    },
  };
  return { kafka: kafka as unknown as Kafka, consumers, setOffsets };
}

const config = resolveConfig({
  kafka: { bootstrapServers: ['b:9092'] },
  tap: { topics: ['mirrored'], stuckAfterMs: 1_000 },
});

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('TapConsumer', () => {
  let tap: TapConsumer;
  afterEach(async () => {
    await tap?.stop();
  });

  it('positions topics present at start before its group first joins', async () => {
    const { kafka, consumers, setOffsets } = fakeKafka();
    tap = new TapConsumer(config, createLogger('silent'), () => undefined, { kafka });
    await tap.start();
    expect(setOffsets).toEqual([
      { groupId: consumers[0].groupId, topic: 'mirrored', partitions: [{ partition: 0, offset: '7' }] },
    ]);
    expect(consumers[0].subscribed).toEqual(['mirrored']);
  });

  it('replaces a crashed consumer, in the same group, with backoff, and counts it', async () => {
    const { kafka, consumers } = fakeKafka();
    const restarts: TapRestartReason[] = [];
    tap = new TapConsumer(config, createLogger('silent'), () => undefined, {
      kafka,
      onRestart: (reason) => restarts.push(reason),
    });
    await tap.start();
    await until(() => tap.health().running);
    consumers[0].crash('This server does not host this topic-partition');
    expect(restarts).toEqual(['crash']);
    expect(tap.health()).toEqual({
      running: false,
      detail: expect.stringMatching(/^restarting in \d+ ms after: This server does not host/),
    });
    await until(() => consumers.length === 2 && tap.health().running);
    expect(consumers[1].groupId).toBe(consumers[0].groupId);
    expect(consumers[1].subscribed).toEqual(['mirrored']);
  });

  it('replaces a consumer that stops fetching', async () => {
    const { kafka, consumers } = fakeKafka();
    const restarts: TapRestartReason[] = [];
    tap = new TapConsumer(config, createLogger('silent'), () => undefined, {
      kafka,
      onRestart: (reason) => restarts.push(reason),
    });
    await tap.start();
    await until(() => restarts.length > 0, 5_000);
    expect(restarts[0]).toBe('stuck');
    expect(consumers[0].disconnected).toBe(true);
    await until(() => consumers.length >= 2);
  });

  it('publishes each offset once when a restarted consumer reads again what was not committed', async () => {
    const { kafka, consumers } = fakeKafka();
    const published: string[] = [];
    tap = new TapConsumer(config, createLogger('silent'), (_t, _p, m) => published.push(m.offset), { kafka });
    await tap.start();
    const read = async (consumer: FakeConsumer, offsets: string[]) => {
      for (const offset of offsets) {
        await consumer.eachMessage!({
          topic: 'mirrored',
          partition: 0,
          message: { key: null, value: null, offset, timestamp: '0' },
        });
      }
    };
    await until(() => consumers[0]?.eachMessage !== undefined);
    await read(consumers[0], ['7', '8']);
    consumers[0].crash('connection lost');
    await until(() => consumers.length === 2 && consumers[1].eachMessage !== undefined);
    await read(consumers[1], ['7', '8', '9']);
    expect(published).toEqual(['7', '8', '9']);
  });
});
