/**
 * The baseline of bench/subscriptions.bench.ts: what delivering a topic to an HTTP endpoint looks
 * like written the plain way, without the gateway. A kafkajs consumer in a process of its own
 * (forked by the bench, so that /proc/PID/stat gives its CPU alone) reads the topic with the same
 * partitionsConsumedConcurrently as a gateway subscription, POSTs each record's value over a
 * keep-alive node:http agent whose maxSockets is the concurrency, records of one key one after
 * another and different keys side by side, and lets kafkajs commit each batch once it is done.
 * A non-2xx answer or a failed request is tried again after a second, without end.
 *
 *   node --import tsx bench/support/bare-deliverer.ts BROKERS TOPIC GROUP URL CONCURRENCY
 *
 * Runs as long as the bench does, as the gateway does, so that both deliver with code the JIT has
 * already compiled. Over the IPC channel: { type: 'start' } joins the group with a new consumer
 * (as a subscription resumed does), { type: 'stop' } leaves it and answers { type: 'stopped' };
 * the channel closing ends the process.
 */
import * as http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Consumer, type EachBatchPayload, type KafkaMessage } from 'kafkajs';

const [brokers, topic, groupId, url, concurrencyText] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
if (!url || !(concurrency > 0)) {
  process.stderr.write('usage: bare-deliverer.ts BROKERS TOPIC GROUP URL CONCURRENCY\n');
  process.exit(2);
}
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function post(value: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        hostname: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': String(value.length) },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(value);
  });
}

async function deliver(message: KafkaMessage): Promise<void> {
  for (;;) {
    const status = await post(message.value ?? Buffer.alloc(0)).catch(() => 0);
    if (status >= 200 && status < 300) return;
    await sleep(1_000);
  }
}

const kafka = new Kafka({
  clientId: 'bare-deliverer',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
});

async function deliverBatch({ batch }: EachBatchPayload): Promise<void> {
  const byKey = new Map<string, KafkaMessage[]>();
  for (const message of batch.messages) {
    const key = message.key?.toString('latin1') ?? '';
    const queue = byKey.get(key);
    if (queue === undefined) byKey.set(key, [message]);
    else queue.push(message);
  }
  await Promise.all(
    [...byKey.values()].map(async (messages) => {
      for (const message of messages) await deliver(message);
    }),
  );
}

async function start(): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ partitionsConsumedConcurrently: Math.min(concurrency, 16), eachBatch: deliverBatch });
  return consumer;
}

// Start and stop run one after the other, whatever order the messages arrive in.
let consumer: Promise<Consumer | null> = Promise.resolve(null);
const fail = (error: Error) => {
  process.stderr.write(`bare-deliverer: ${error.message}\n`);
  process.exit(1);
};
process.on('message', (message: { type: string }) => {
  if (message.type === 'start') consumer = consumer.then(async (running) => running ?? start());
  if (message.type === 'stop')
    consumer = consumer.then(async (running) => {
      await running?.disconnect();
      process.send?.({ type: 'stopped' });
      return null;
    });
  consumer.catch(fail);
});
process.on('disconnect', () => {
  void consumer.then((running) => running?.disconnect()).finally(() => process.exit(0));
});
