/**
 * Sanity checks of the test harness itself against the single broker from scripts/with-kafka.sh:
 * if these fail, failures in the gateway's integration tests say nothing about the gateway.
 */
import { Partitioners, type Producer } from 'kafkajs';
import { BOOTSTRAP, kafkaClient, kcat, readMessages, uniqueTopic } from './support/kafka-harness';

const COUNT = 50;

function lines(prefix: string): string[] {
  return Array.from({ length: COUNT }, (_, i) => `${prefix}-${i}`);
}

/** Consumes a whole topic with kcat, one payload per line, and exits at the end of the log. */
async function kcatConsume(topic: string, expected: number): Promise<string[]> {
  const { stdout } = await kcat([
    '-C',
    '-b',
    BOOTSTRAP,
    '-t',
    topic,
    '-o',
    'beginning',
    '-c',
    String(expected),
    '-e',
    '-q',
  ]);
  return stdout.split('\n').filter((l) => l.length > 0);
}

describe('kcat against the real broker', () => {
  test('consumes exactly the lines it produced', async () => {
    const topic = uniqueTopic('harness-kcat');
    const sent = lines('kcat');
    await kcat(['-P', '-b', BOOTSTRAP, '-t', topic, '-X', 'acks=all'], sent.join('\n') + '\n');
    expect(await kcatConsume(topic, COUNT)).toEqual(sent);
  });
});

describe('kafkajs against the real broker', () => {
  const kafka = kafkaClient(BOOTSTRAP, 'harness-test');
  let producer: Producer;

  beforeAll(async () => {
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
  });

  test('a kafkajs consumer reads what a kafkajs producer wrote', async () => {
    const topic = uniqueTopic('harness-kafkajs');
    const sent = lines('kafkajs');
    await producer.send({ topic, acks: -1, messages: sent.map((value, i) => ({ key: `k${i}`, value })) });
    const received = await readMessages(kafka, topic, COUNT);
    expect(received.map((m) => m.value?.toString())).toEqual(sent);
    expect(received.map((m) => m.key?.toString())).toEqual(sent.map((_, i) => `k${i}`));
  });

  test('a kafkajs consumer reads keys, values and headers produced by kcat', async () => {
    const topic = uniqueTopic('harness-kcat-to-kafkajs');
    const sent = lines('cross');
    const input = sent.map((value, i) => `key-${i}:${value}`).join('\n') + '\n';
    await kcat(['-P', '-b', BOOTSTRAP, '-t', topic, '-K', ':', '-H', 'origin=kcat'], input);
    const received = await readMessages(kafka, topic, COUNT);
    expect(received.map((m) => m.value?.toString())).toEqual(sent);
    expect(received.map((m) => m.key?.toString())).toEqual(sent.map((_, i) => `key-${i}`));
    expect(received.every((m) => m.headers?.origin?.toString() === 'kcat')).toBe(true);
  });

  test('kcat reads what kafkajs produced', async () => {
    const topic = uniqueTopic('harness-kafkajs-to-kcat');
    const sent = lines('reverse');
    await producer.send({ topic, acks: -1, messages: sent.map((value) => ({ value })) });
    expect(await kcatConsume(topic, COUNT)).toEqual(sent);
  });
});
