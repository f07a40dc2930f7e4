import type { Kafka } from 'kafkajs';
import { RenewingProducer } from '../../../src/kafka/renewing-producer';
import { createLogger } from '../../../src/observability/logger';

/** Producers whose sends fail with the errors queued in `failures`, and that count themselves. */
function cluster(failures: object[]) {
  const created: { sends: number; disconnected: boolean }[] = [];
  let concurrent = 0;
  let mostConcurrent = 0;
  const kafka = {
    producer: () => {
      const producer = {
        sends: 0,
        disconnected: false,
        connect: async () => undefined,
        disconnect: async () => {
          producer.disconnected = true;
        },
        sendBatch: async () => {
          producer.sends++;
          mostConcurrent = Math.max(mostConcurrent, ++concurrent);
          await new Promise((resolve) => setTimeout(resolve, 2));
          concurrent--;
          const failure = failures.shift();
          if (failure !== undefined) throw failure;
          return [{ topicName: 't', partition: 0, errorCode: 0, baseOffset: '0' }];
        },
      };
      created.push(producer);
      return producer;
    },
  } as unknown as Kafka;
  return { kafka, created, mostConcurrent: () => mostConcurrent };
}

const batch = (topic: string) => ({ acks: -1, topicMessages: [{ topic, messages: [{ value: 'v' }] }] });

test('a batch the broker refused whole keeps the producer; a send that may have landed replaces it', async () => {
  const refused = Object.assign(new Error('invalid'), { type: 'INVALID_RECORD' });
  const lost = Object.assign(new Error('retries given up'), { cause: { name: 'KafkaJSConnectionError' } });
  const { kafka, created } = cluster([refused, lost]);
  const producer = new RenewingProducer(kafka, undefined, createLogger('silent'), 'test');
  await producer.connect();
  await expect(producer.send(batch('t'))).rejects.toThrow('invalid');
  expect(created).toHaveLength(1);
  await expect(producer.send(batch('t'))).rejects.toThrow('retries given up');
  expect(created).toHaveLength(2);
  expect(created[0].disconnected).toBe(true);
  await expect(producer.send(batch('t'))).resolves.toHaveLength(1);
  expect(created[1].sends).toBe(1);
  await producer.stop();
});

test('sends to one topic go one at a time; other topics do not wait', async () => {
  const { kafka, mostConcurrent } = cluster([]);
  const producer = new RenewingProducer(kafka, undefined, createLogger('silent'), 'test');
  await producer.connect();
  await Promise.all([producer.send(batch('a')), producer.send(batch('a')), producer.send(batch('a'))]);
  expect(mostConcurrent()).toBe(1);
  await Promise.all([producer.send(batch('a')), producer.send(batch('b'))]);
  expect(mostConcurrent()).toBe(2);
  await producer.stop();
});
