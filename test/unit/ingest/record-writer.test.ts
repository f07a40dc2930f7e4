import type { Kafka } from 'kafkajs';
import { createLogger } from '../../../src/observability/logger';
import { RecordWriter, type WritableRecord } from '../../../src/ingest/record-writer';

/**
 * A broker and a producer that keep idempotence the way Kafka and kafkajs do:
 * - the broker appends a batch whose first sequence number is the next one expected for its
 *   producer id, answers a repeat of the last batch (same first and last number) with that
 *   batch's offset without writing it, and refuses anything else;
 * - the producer numbers a batch when its turn on the connection comes (one request at a time),
 *   and takes the numbers back when the send fails, letting the next send go before its caller
 *   hears of the failure.
 * A send can be told to be written and then fail, as when the connection drops before the answer.
 */
class IdempotentCluster {
  readonly log: { value: string; producerId: number }[] = [];
  private readonly expected = new Map<string, number>();
  private readonly last = new Map<string, { first: number; count: number; offset: number }>();
  private nextProducerId = 1;
  readonly producers: FakeProducer[] = [];
  /** Fates for the next sends, in order; 'ok' once spent. */
  readonly fates: ('ok' | 'written-then-lost' | 'held-then-lost')[] = [];
  readonly held: (() => void)[] = [];
  concurrentPerPartition = 0;
  /** When set, every this many sends one is written and then lost. */
  lossEvery = 0;
  sends = 0;

  kafka(): Kafka {
    return {
      producer: () => {
        const producer = new FakeProducer(this);
        this.producers.push(producer);
        return producer;
      },
    } as unknown as Kafka;
  }

  newProducerId(): number {
    return this.nextProducerId++;
  }

  append(producerId: number, partition: number, first: number, values: string[]): number {
    const id = `${producerId}/${partition}`;
    const last = this.last.get(id);
    if (last !== undefined && last.first === first && last.count === values.length) return last.offset;
    if (first !== (this.expected.get(id) ?? 0))
      throw Object.assign(new Error('out of order'), { type: 'OUT_OF_ORDER_SEQUENCE_NUMBER' });
    const offset = this.log.length;
    for (const value of values) this.log.push({ value, producerId });
    this.expected.set(id, first + values.length);
    this.last.set(id, { first, count: values.length, offset });
    return offset;
  }
}

class FakeProducer {
  producerId = -1;
  private readonly sequences = new Map<number, number>();
  private turn: Promise<void> = Promise.resolve();
  private readonly sending = new Set<number>();

  constructor(private readonly cluster: IdempotentCluster) {}

  async connect(): Promise<void> {
    this.producerId = this.cluster.newProducerId();
  }

  async disconnect(): Promise<void> {}

  async sendBatch(request: {
    topicMessages: { topic: string; messages: { partition: number; value: Buffer }[] }[];
  }): Promise<{ topicName: string; partition: number; errorCode: number; baseOffset: string }[]> {
    const [{ topic, messages }] = request.topicMessages;
    const partition = messages[0].partition;
    const lost = this.cluster.lossEvery > 0 && ++this.cluster.sends % this.cluster.lossEvery === 0;
    const fate = this.cluster.fates.shift() ?? (lost ? 'written-then-lost' : 'ok');
    let release!: () => void;
    const previous = this.turn;
    this.turn = new Promise((resolve) => (release = resolve));
    await previous;
    if (this.sending.has(partition)) this.cluster.concurrentPerPartition++;
    this.sending.add(partition);
    const first = this.sequences.get(partition) ?? 0;
    this.sequences.set(partition, first + messages.length);
    const values = messages.map((message) => message.value.toString());
    try {
      const offset = this.cluster.append(this.producerId, partition, first, values);
      if (fate === 'held-then-lost') await new Promise<void>((resolve) => this.cluster.held.push(resolve));
      if (fate !== 'ok')
        throw Object.assign(new Error('Connection closed'), { name: 'KafkaJSConnectionError' });
      return [{ topicName: topic, partition, errorCode: 0, baseOffset: String(offset) }];
    } catch (error) {
      this.sequences.set(partition, (this.sequences.get(partition) ?? 0) - messages.length);
      throw error;
    } finally {
      this.sending.delete(partition);
      release();
      // The next send takes its turn before this one's caller hears how it ended.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

const settings = {
  lingerMs: 0,
  maxBatchRecords: 500,
  compression: 'none' as const,
  requestTimeoutMs: 60_000,
  retries: 0,
  maxUnacknowledgedBytes: 1 << 20,
};

const record = (value: string): WritableRecord => ({
  topic: 't',
  partition: 0,
  key: null,
  value: Buffer.from(value),
  headers: [],
  timestamp: 1,
});

async function started(cluster: IdempotentCluster): Promise<RecordWriter> {
  const writer = new RecordWriter(cluster.kafka(), settings, createLogger('silent'));
  await writer.connect();
  return writer;
}

test('after a write that may have landed fails, the next record is written under a new producer id, not taken for a retry', async () => {
  const cluster = new IdempotentCluster();
  const writer = await started(cluster);
  cluster.fates.push('written-then-lost');
  expect(await writer.write(record('a'))).toMatchObject({ status: 'failed', error: { status: 503 } });
  const b = await writer.write(record('b'));
  expect(b.status).toBe('written');
  expect(cluster.log.map((entry) => entry.value)).toEqual(['a', 'b']);
  expect(b).toMatchObject({ offset: '1' });
  expect(new Set(cluster.log.map((entry) => entry.producerId)).size).toBe(2);
  await writer.stop();
});

test('a partition has one write in flight: a record queued behind a failing write is not numbered like it', async () => {
  const cluster = new IdempotentCluster();
  const writer = await started(cluster);
  cluster.fates.push('held-then-lost');
  const a = writer.write(record('a'));
  await new Promise((resolve) => setTimeout(resolve, 5));
  const b = writer.write(record('b'));
  await new Promise((resolve) => setTimeout(resolve, 5));
  for (const release of cluster.held.splice(0)) release();
  expect((await a).status).toBe('failed');
  const written = await b;
  expect(written.status).toBe('written');
  expect(cluster.log.map((entry) => entry.value)).toEqual(['a', 'b']);
  expect(cluster.concurrentPerPartition).toBe(0);
  await writer.stop();
});

test('every record answered written is in the log, under many failures', async () => {
  const cluster = new IdempotentCluster();
  // Batches of one record: a batch taken for a retry of a lost one is then always a match.
  const writer = new RecordWriter(
    cluster.kafka(),
    { ...settings, maxBatchRecords: 1 },
    createLogger('silent'),
  );
  await writer.connect();
  cluster.lossEvery = 4;
  const answers: Promise<{ value: string; status: string }>[] = [];
  for (let i = 0; i < 300; i++) {
    const value = `r${i}`;
    answers.push(
      writer
        .write({ ...record(value), partition: i % 3 })
        .then((outcome) => ({ value, status: outcome.status })),
    );
    if (i % 2 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const settled = await Promise.all(answers);
  const stored = new Set(cluster.log.map((entry) => entry.value));
  expect(settled.filter((one) => one.status === 'written' && !stored.has(one.value))).toEqual([]);
  // Both kinds of answer happened, so the check above had something to check.
  expect(settled.filter((one) => one.status === 'written').length).toBeGreaterThan(50);
  expect(settled.filter((one) => one.status === 'failed').length).toBeGreaterThan(10);
  await writer.stop();
});

test('a record answered 503 while it waited behind a stalled write is not written later', async () => {
  const cluster = new IdempotentCluster();
  const writer = new RecordWriter(
    cluster.kafka(),
    { ...settings, requestTimeoutMs: 50 },
    createLogger('silent'),
  );
  await writer.connect();
  cluster.fates.push('held-then-lost');
  const a = writer.write(record('a'));
  await new Promise((resolve) => setTimeout(resolve, 5));
  const b = writer.write(record('b'));
  expect(await b).toMatchObject({
    status: 'failed',
    error: { status: 503, kafkaError: 'REQUEST_TIMED_OUT' },
  });
  expect(await a).toMatchObject({
    status: 'failed',
    error: { message: expect.stringContaining('may still be written') },
  });
  for (const release of cluster.held.splice(0)) release();
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(cluster.log.map((entry) => entry.value)).toEqual(['a']);
  await writer.stop();
});
