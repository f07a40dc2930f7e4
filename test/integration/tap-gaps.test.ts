/**
 * The tap misses nothing a client could expect to see: records produced while its consumer joins
 * its group (right after start, right after a new topic appears), and history a client asks for
 * with `from`, handed over to live records without a gap or a duplicate.
 *
 * Ports: bootstrap 31200, HTTP 31290.
 */
import * as http from 'node:http';
import type { Producer } from 'kafkajs';
import type { TapRecord } from '../../src/http/tap/tap-record';
import { BOOTSTRAP, kafkaClient, uniqueTopic } from './support/kafka-harness';
import { position, sleep, startTapGateway, type TapGateway } from './support/tap-gateway';
import { createTopics } from './support/validating-gateway';
import { TapRefused, type TapClient } from './support/ws-client';

jest.setTimeout(60_000);

const BOOTSTRAP_PORT = 31200;
const MAX_REPLAY = 40;
const PREFIX = uniqueTopic('tap-gaps');
const NEW_TOPICS = `/^${PREFIX}-new-/`;
const topics = {
  atStart: `${PREFIX}-at-start`,
  replay: `${PREFIX}-replay`,
  timed: `${PREFIX}-timed`,
  bounded: `${PREFIX}-bounded`,
};

let gateway: TapGateway;
let producer: Producer;
/** Connected right after the gateway started, before anything waited for the tap. */
let early: TapClient;

async function send(topic: string, keys: readonly string[], timestamp?: number): Promise<void> {
  await producer.send({
    topic,
    messages: keys.map((key) => ({
      key,
      value: JSON.stringify({ key }),
      ...(timestamp !== undefined && { timestamp: String(timestamp) }),
    })),
  });
}

const range = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`);

const ofTopic = (topic: string) => (record: TapRecord) => record.topic === topic;

/** What a client saw of a topic: keys in arrival order, and whether any position came twice. */
function seen(client: TapClient, topic: string): { keys: (string | null)[]; duplicates: string[] } {
  const records = client.records(ofTopic(topic)).map((r) => r.record);
  const positions = records.map(position);
  return {
    keys: records.map((r) => r.key),
    duplicates: positions.filter((p, i) => positions.indexOf(p) !== i),
  };
}

/** Per partition, offsets strictly increasing. */
function inOffsetOrder(client: TapClient, topic: string): boolean {
  const last = new Map<number, bigint>();
  for (const { record } of client.records(ofTopic(topic))) {
    const offset = BigInt(record.offset);
    if ((last.get(record.partition) ?? -1n) >= offset) return false;
    last.set(record.partition, offset);
  }
  return true;
}

/** The status and body of a refused upgrade (the ws client keeps only the status). */
function upgradeAnswer(pathAndQuery: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`http://${gateway.httpAddress}${pathAndQuery}`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    request.on('upgrade', (_response, socket) => {
      socket.destroy();
      reject(new Error('the upgrade was accepted'));
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

beforeAll(async () => {
  await createTopics([topics.atStart]);
  await createTopics([topics.replay, topics.timed, topics.bounded], 2);
  producer = kafkaClient(BOOTSTRAP, 'tap-gaps-producer').producer();
  await producer.connect();
  // History produced before the gateway starts: replayable, never live.
  await send(topics.replay, range('old', 0, 10));
  gateway = await startTapGateway({
    bootstrapPort: BOOTSTRAP_PORT,
    tap: {
      topics: [topics.atStart, topics.replay, topics.timed, topics.bounded, NEW_TOPICS],
      topicRefreshMs: 1_000,
      maxReplayRecords: MAX_REPLAY,
    },
  });
  early = await gateway.connect({ topic: topics.atStart });
  await send(topics.atStart, ['right-after-start']);
  await sleep(100);
  await send(topics.atStart, ['plus-100-ms']);
}, 60_000);

afterAll(async () => {
  await producer?.disconnect();
  await gateway?.stop();
});

describe('live records', () => {
  it('reach a client that connected right after the gateway started', async () => {
    await send(topics.atStart, ['later']);
    await early.waitForRecords(3, ofTopic(topics.atStart), 20_000);
    expect(seen(early, topics.atStart)).toEqual({
      keys: ['right-after-start', 'plus-100-ms', 'later'],
      duplicates: [],
    });
  });

  it('reach a client that connected right after a new mirrored topic appeared', async () => {
    await gateway.running.tap!.ready();
    const topic = `${PREFIX}-new-${Date.now().toString(36)}`;
    await createTopics([topic]);
    const client = await gateway.connect({ topic });
    await sleep(100);
    await send(topic, ['first']);
    await sleep(100);
    await send(topic, ['second']);
    await client.waitForRecords(2, ofTopic(topic), 20_000);
    await send(topic, ['third']);
    await client.waitForRecords(3, ofTopic(topic), 10_000);
    expect(seen(client, topic)).toEqual({ keys: ['first', 'second', 'third'], duplicates: [] });
  });

  it('reach a client 100 ms after its WebSocket opened', async () => {
    await gateway.running.tap!.ready();
    for (let round = 0; round < 5; round++) {
      const client = await gateway.connect({ topic: topics.atStart });
      await sleep(100);
      await send(topics.atStart, [`round-${round}`]);
      await client.waitForRecords(1, (r) => r.key === `round-${round}`, 5_000);
      await client.close();
    }
  });
});

describe('history (?from=)', () => {
  it('replays a topic from the earliest record, then hands over to live records', async () => {
    await gateway.running.tap!.ready();
    await send(topics.replay, range('before', 0, 10));
    const client = await gateway.connect({ topic: topics.replay, from: 'earliest' });
    // Produced while the replay runs: each must come once, either from the replay or live.
    const during = (async () => {
      for (let i = 0; i < 10; i++) {
        await send(topics.replay, [`during-${i}`]);
        await sleep(20);
      }
    })();
    await during;
    await client.waitForRecords(30, ofTopic(topics.replay), 20_000);
    await send(topics.replay, range('after', 0, 5));
    await client.waitForRecords(35, ofTopic(topics.replay), 10_000);
    await sleep(300);
    const { keys, duplicates } = seen(client, topics.replay);
    expect(duplicates).toEqual([]);
    expect([...keys].sort()).toEqual(
      [
        ...range('old', 0, 10),
        ...range('before', 0, 10),
        ...range('during', 0, 10),
        ...range('after', 0, 5),
      ].sort(),
    );
    expect(inOffsetOrder(client, topics.replay)).toBe(true);
    // Everything that existed before the client connected came before anything produced after.
    const at = (key: string) => keys.indexOf(key);
    expect(Math.max(...range('before', 0, 10).map(at))).toBeLessThan(
      Math.min(...range('after', 0, 5).map(at)),
    );
  });

  it('replays from a point in time', async () => {
    const now = Date.now();
    await send(topics.timed, range('hour-ago', 0, 5), now - 3_600_000);
    await send(topics.timed, range('minute-ago', 0, 5), now - 60_000);
    const from = new Date(now - 120_000).toISOString();
    const client = await gateway.connect({ topic: topics.timed, from });
    await client.waitForRecords(5, ofTopic(topics.timed), 20_000);
    await send(topics.timed, ['live']);
    await client.waitForRecords(6, ofTopic(topics.timed), 10_000);
    await sleep(300);
    const { keys, duplicates } = seen(client, topics.timed);
    expect(duplicates).toEqual([]);
    expect(keys.slice(0, 5).sort()).toEqual(range('minute-ago', 0, 5));
    expect(keys.slice(5)).toEqual(['live']);
    expect(inOffsetOrder(client, topics.timed)).toBe(true);
  });

  it('replays at most tap.maxReplayRecords records per partition', async () => {
    await producer.send({
      topic: topics.bounded,
      messages: range('b', 0, 100).map((key, i) => ({ key, value: '{}', partition: i % 2 })),
    });
    const client = await gateway.connect({ topic: topics.bounded, from: 'earliest' });
    await client.waitForRecords(2 * MAX_REPLAY, ofTopic(topics.bounded), 20_000);
    await sleep(500);
    const records = client.records(ofTopic(topics.bounded)).map((r) => r.record);
    expect(records).toHaveLength(2 * MAX_REPLAY);
    for (const partition of [0, 1]) {
      const offsets = records.filter((r) => r.partition === partition).map((r) => Number(r.offset));
      expect(offsets).toEqual(Array.from({ length: MAX_REPLAY }, (_, i) => 50 - MAX_REPLAY + i));
    }
  });

  it.each(['yesterday', '2024-13-45T00:00:00Z', '', '1700000000000'])(
    'refuses from=%j with 400 and a reason',
    async (from) => {
      const refused = await gateway.connect({ topic: topics.replay, from }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(TapRefused);
      expect((refused as TapRefused).status).toBe(400);
      const answer = await upgradeAnswer(`/ws?topic=${topics.replay}&from=${encodeURIComponent(from)}`);
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body)).toEqual({ status: 400, error: expect.stringMatching(/^from must be/) });
    },
  );
});
