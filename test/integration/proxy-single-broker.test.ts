/**
 * The gateway in front of the single test broker (127.0.0.1:9092), driven by real clients: kcat
 * (librdkafka), kafkajs and the Java console tools. Clients only ever get the gateway's address;
 * the broker's own address is used only to check what really reached it.
 *
 * Ports: the main gateway listens on 23100 (broker 1 on 23101), the one stopped mid-flight by the
 * shutdown test on 23120 (broker 1 on 23121).
 */
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import {
  AssignerProtocol,
  Kafka,
  logLevel,
  type Admin,
  type Consumer,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import {
  createApiVersionsRequest,
  decodeApiVersionsResponse,
  decodeFetchResponse,
  decodeProduceResponse,
  encodeApiVersionsRequest,
} from '../../src/protocol/messages';
import { readRecordBatches } from '../../src/protocol/records';
import {
  closesWithin,
  LEVEL,
  RawKafkaConnection,
  startTestGateway,
  type LogLine,
  type TestGateway,
} from './support/gateway-harness';
import {
  BOOTSTRAP,
  eventually,
  kafkaClient,
  kafkaTool,
  kcat,
  readMessages,
  uniqueTopic,
} from './support/kafka-harness';
import { COMPRESSION_TYPE, KAFKAJS_COMPRESSION, registerKafkaJsCodecs } from './support/kafkajs-codecs';
import { fetchPartition } from './support/record-batches';
import { API_FETCH, API_PRODUCE, API_VERSIONS, fetchBody, produceBody } from './support/requests';
import { CODECS, recordBatch } from './support/validating-gateway';

jest.setTimeout(60_000);

const GATEWAY_PORT = 23100;
const SHUTDOWN_GATEWAY_PORT = 23120;

registerKafkaJsCodecs();

let gateway: TestGateway;
/** A kafkajs client that knows only the gateway. */
let viaGateway: Kafka;
let admin: Admin;

beforeAll(async () => {
  // debug: the reason every connection closed is logged at that level, and tests assert on it.
  gateway = await startTestGateway({ bootstrapPort: GATEWAY_PORT, logLevel: 'debug' });
  viaGateway = kafkaClient(gateway.bootstrap, 'proxy-single-broker');
  admin = viaGateway.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await gateway?.stop();
});

async function createTopic(topic: string, numPartitions = 1): Promise<void> {
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  expect(created).toBe(true);
}

/** Offsets the broker handed out, summed over partitions: how many records the topic really holds. */
async function recordsInTopic(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const text = (b: Buffer | null | undefined) => (b === null || b === undefined ? null : b.toString('utf8'));

describe('kcat', () => {
  test('metadata (-L -J) names only gateway addresses', async () => {
    const { stdout } = await kcat(['-b', gateway.bootstrap, '-L', '-J', '-m', '10']);
    const metadata = JSON.parse(stdout) as { brokers: { id: number; name: string }[]; controllerid: number };
    expect(metadata.brokers).toEqual([{ id: 1, name: gateway.brokerAddress(1) }]);
    expect(metadata.brokers.every((b) => gateway.isGatewayAddress(b.name))).toBe(true);
    expect(stdout).not.toContain(BOOTSTRAP);
  });

  test('produces and consumes keyed records through the gateway', async () => {
    const topic = uniqueTopic('gw-kcat');
    await createTopic(topic);
    const lines = Array.from({ length: 50 }, (_, i) => `key-${i % 5}\tvalue-${i}-${'x'.repeat(i)}`);
    await kcat(
      ['-b', gateway.bootstrap, '-t', topic, '-P', '-K', '\t', '-X', 'acks=all'],
      `${lines.join('\n')}\n`,
    );

    const { stdout } = await kcat([
      '-b',
      gateway.bootstrap,
      '-t',
      topic,
      '-C',
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%k\t%s\n',
    ]);
    expect(stdout.split('\n').filter((l) => l !== '')).toEqual(lines);
  });

  test('acks=0 produce (-X acks=0) arrives', async () => {
    const topic = uniqueTopic('gw-kcat-acks0');
    await createTopic(topic);
    const lines = Array.from({ length: 40 }, (_, i) => `fire-and-forget-${i}`);
    await kcat(['-b', gateway.bootstrap, '-t', topic, '-P', '-X', 'acks=0'], `${lines.join('\n')}\n`);

    const { stdout } = await kcat(
      [
        '-b',
        gateway.bootstrap,
        '-t',
        topic,
        '-C',
        '-o',
        'beginning',
        '-c',
        String(lines.length),
        '-q',
        '-f',
        '%s\n',
      ],
      undefined,
      20_000,
    );
    expect(stdout.split('\n').filter((l) => l !== '')).toEqual(lines);
  });
});

describe('kafkajs', () => {
  test.each(CODECS)(
    'idempotent producer, acks=-1, compression %s: a consumer reads every record back exactly',
    async (name) => {
      const topic = uniqueTopic(`gw-kafkajs-${name}`);
      await createTopic(topic, 3);
      const sent = Array.from({ length: 300 }, (_, i) => ({
        key: `key-${i % 7}`,
        value: JSON.stringify({ seq: i, codec: name, pad: 'lorem ipsum '.repeat(20 + (i % 30)) }),
        headers: { seq: String(i), codec: name },
      }));
      const producer = viaGateway.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        for (let i = 0; i < sent.length; i += 50) {
          const results = await producer.send({
            topic,
            acks: -1,
            compression: KAFKAJS_COMPRESSION[name],
            messages: sent.slice(i, i + 50),
          });
          expect(results.every((r) => r.errorCode === 0)).toBe(true);
        }
      } finally {
        await producer.disconnect();
      }

      const received = await readMessages(viaGateway, topic, sent.length);
      const asSent = (m: KafkaMessage) => ({
        key: text(m.key),
        value: text(m.value),
        headers: { seq: text(m.headers?.seq as Buffer), codec: text(m.headers?.codec as Buffer) },
      });
      const bySeq = (a: { headers: { seq: string | null } }, b: { headers: { seq: string | null } }) =>
        Number(a.headers.seq) - Number(b.headers.seq);
      expect(received.map(asSent).sort(bySeq)).toEqual(sent);
      // Nothing beyond what was sent: an idempotent producer's retries must not have duplicated.
      expect(await recordsInTopic(topic)).toBe(sent.length);

      // The batches on the broker really use the codec and carry a producer id (idempotence).
      const batches = readRecordBatches((await fetchPartition(topic)).records ?? Buffer.alloc(0), {
        allowPartialTrailingBatch: true,
      });
      expect(batches.length).toBeGreaterThan(0);
      const expectedType = COMPRESSION_TYPE[name];
      for (const batch of batches) {
        if (batch.magic !== 2) throw new Error(`legacy message format (magic ${batch.magic}) on the broker`);
        expect(batch.compression).toBe(expectedType);
        expect(batch.producerId).toBeGreaterThanOrEqual(0n);
      }
    },
  );

  test('a consumer group of 3 on 6 partitions rebalances when one member leaves; every record is consumed exactly once', async () => {
    const topic = uniqueTopic('gw-group');
    const groupId = uniqueTopic('gw-group');
    const PARTITIONS = 6;
    await createTopic(topic, PARTITIONS);

    interface Consumed {
      member: number;
      partition: number;
      offset: string;
      value: string;
    }
    const consumed: Consumed[] = [];
    const assignments: number[][] = [[], [], []];
    const consumers: Consumer[] = [];
    const producer = viaGateway.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();

    const produce = async (phase: string, count: number) => {
      const messages = Array.from({ length: count }, (_, i) => ({ key: `k-${i}`, value: `${phase}-${i}` }));
      for (let i = 0; i < messages.length; i += 50) {
        await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 50) });
      }
      return messages.map((m) => m.value);
    };

    /** Waits until the group is stable with exactly `members` members, between them owning every partition. */
    const stableWith = (members: number[]) =>
      eventually(async () => {
        const [group] = (await admin.describeGroups([groupId])).groups;
        if (group.state !== 'Stable' || group.members.length !== members.length) return undefined;
        const owned = group.members.flatMap(
          (m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic] ?? [],
        );
        const fromEvents = members.flatMap((i) => assignments[i]);
        const all = (list: number[]) => [...list].sort((a, b) => a - b).join(',');
        const expected = Array.from({ length: PARTITIONS }, (_, p) => p).join(',');
        return all(owned) === expected && all(fromEvents) === expected ? group : undefined;
      }, 45_000);

    /** Waits until the group has committed everything the topic holds, so a rebalance cannot replay. */
    const committedAll = () =>
      eventually(async () => {
        const high = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
        const done = high.every(
          (p) => committed.partitions.find((c) => c.partition === p.partition)?.offset === p.high,
        );
        return done ? true : undefined;
      }, 30_000);

    try {
      for (let member = 0; member < 3; member++) {
        const consumer = viaGateway.consumer({
          groupId,
          heartbeatInterval: 500,
          sessionTimeout: 10_000,
          maxWaitTimeInMs: 250,
        });
        consumer.on(consumer.events.GROUP_JOIN, (event) => {
          assignments[member] = event.payload.memberAssignment[topic] ?? [];
        });
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ partition, message }) => {
            consumed.push({ member, partition, offset: message.offset, value: text(message.value) ?? '' });
          },
        });
        consumers.push(consumer);
      }
      await stableWith([0, 1, 2]);
      expect(assignments.map((a) => a.length)).toEqual([2, 2, 2]);

      const phase1 = await produce('before-leave', 300);
      await eventually(async () => (consumed.length >= phase1.length ? true : undefined), 30_000);
      await committedAll();

      // Member 0 leaves the group (LeaveGroup through the gateway); the others take over its partitions.
      const leaving = consumers.shift()!;
      await leaving.disconnect();
      assignments[0] = [];
      await stableWith([1, 2]);
      expect(assignments[1].length + assignments[2].length).toBe(PARTITIONS);
      expect(assignments[1].length).toBeGreaterThanOrEqual(2);
      expect(assignments[2].length).toBeGreaterThanOrEqual(2);

      const phase2 = await produce('after-leave', 300);
      await eventually(
        async () => (consumed.length >= phase1.length + phase2.length ? true : undefined),
        30_000,
      );
      // A moment longer: a duplicate delivered late must not escape the check below.
      await sleep(1_000);

      const keys = consumed.map((c) => `${c.partition}/${c.offset}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(consumed.map((c) => c.value).sort()).toEqual([...phase1, ...phase2].sort());
      // Before the leave all three members consumed; after it only the two that stayed.
      expect(new Set(consumed.filter((c) => c.value.startsWith('before-')).map((c) => c.member))).toEqual(
        new Set([0, 1, 2]),
      );
      expect(consumed.filter((c) => c.value.startsWith('after-') && c.member === 0)).toEqual([]);
    } finally {
      await Promise.all(consumers.map((c) => c.disconnect()));
      await producer.disconnect();
    }
  }, 120_000);

  test('admin: createTopics, describeCluster and fetchTopicMetadata see only the gateway', async () => {
    const topic = uniqueTopic('gw-admin');
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 4, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    expect(created).toBe(true);
    // A second create of the same topic is reported as not created rather than failing.
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })).toBe(false);

    const cluster = await admin.describeCluster();
    expect(cluster.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: GATEWAY_PORT + 1 }]);
    expect(cluster.controller).toBe(1);
    expect(cluster.clusterId).toEqual(expect.any(String));

    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics).toHaveLength(1);
    expect(topics[0].name).toBe(topic);
    expect(topics[0].partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3]);
    for (const p of topics[0].partitions) {
      expect(p.partitionErrorCode).toBe(0);
      expect(p.leader).toBe(1);
      expect(p.replicas).toEqual([1]);
    }
  });
});

describe('Java console tools', () => {
  test('console producer and console consumer (classic and KIP-848 groups) through the gateway', async () => {
    const topic = uniqueTopic('gw-java');
    await createTopic(topic);
    const lines = Array.from({ length: 25 }, (_, i) => `java-line-${i} ${'é'.repeat(i % 4)}`);
    await kafkaTool(['console-producer', '--bootstrap-server', gateway.bootstrap, '--topic', topic], {
      input: `${lines.join('\n')}\n`,
      timeoutMs: 60_000,
    });

    for (const protocol of ['classic', 'consumer']) {
      const { stdout } = await kafkaTool(
        [
          'console-consumer',
          '--bootstrap-server',
          gateway.bootstrap,
          '--topic',
          topic,
          '--from-beginning',
          '--max-messages',
          String(lines.length),
          '--timeout-ms',
          '30000',
          '--consumer-property',
          `group.protocol=${protocol}`,
          '--group',
          uniqueTopic(`gw-java-${protocol}`),
        ],
        { timeoutMs: 60_000 },
      );
      // Kafka 4.x prints a deprecation notice for --consumer-property on stdout; older releases
      // know no other spelling, so the option stays and the notice is dropped.
      const output = stdout.split('\n').filter((l) => l !== '' && !/^Option --\S+ is deprecated/.test(l));
      expect(output).toEqual(lines);
    }
  }, 120_000);
});

describe('hostile input on the bootstrap port', () => {
  let producer: Producer;
  let topic: string;
  let running = true;
  let acknowledged = 0;
  const failures: string[] = [];
  let loop: Promise<void>;

  beforeAll(async () => {
    topic = uniqueTopic('gw-hostile');
    await createTopic(topic);
    producer = viaGateway.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    loop = (async () => {
      for (let i = 0; running; i++) {
        try {
          await producer.send({ topic, acks: -1, messages: [{ value: `steady-${i}` }] });
          acknowledged++;
        } catch (error) {
          failures.push(`send ${i}: ${(error as Error).message}`);
        }
        await sleep(10);
      }
    })();
  });

  afterAll(async () => {
    running = false;
    await loop;
    await producer?.disconnect();
  });

  /** Each hostile connection must overlap real traffic: waits for `n` more acknowledged sends. */
  async function producerKeepsGoing(n = 5): Promise<void> {
    const target = acknowledged + n;
    await eventually(
      async () => (acknowledged >= target || failures.length > 0 ? true : undefined),
      10_000,
      10,
    );
    expect(failures).toEqual([]);
  }

  /** Opens a connection to the bootstrap port, sends `bytes`; `client` is how the gateway's log names it. */
  async function sendRaw(bytes: Buffer, end = false): Promise<{ socket: net.Socket; client: string }> {
    const socket = net.connect({ host: '127.0.0.1', port: GATEWAY_PORT });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const client = `127.0.0.1:${socket.localPort}`;
    socket.write(bytes);
    if (end) socket.end();
    return { socket, client };
  }

  const about = (client: string, msg: string) => (line: LogLine) =>
    line.client === client && line.msg.includes(msg);

  test('random bytes: the gateway closes the connection and logs why', async () => {
    await producerKeepsGoing(1);
    const mark = gateway.logs.mark();
    const garbage = randomBytes(4096);
    // Random, except that the first byte makes the size prefix negative, so no run of this test
    // can draw a plausible frame size and wait for more bytes instead.
    garbage[0] |= 0x80;
    const { socket, client } = await sendRaw(garbage);
    expect(await closesWithin(socket, 5_000)).toBe(true);
    const line = await gateway.logs.waitFor(about(client, 'malformed frame'), mark);
    expect(line.level).toBe(LEVEL.warn);
    expect(String(line.err)).toMatch(/negative frame size/);
    await producerKeepsGoing();
  });

  test('random bytes inside a well-formed frame: the broker refuses them and the gateway closes the client', async () => {
    await producerKeepsGoing(1);
    const mark = gateway.logs.mark();
    const payload = randomBytes(200);
    // An API key no broker knows, so the frame can only be refused, whatever the random rest is.
    payload.writeInt16BE(0x7abc, 0);
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    const { socket, client } = await sendRaw(Buffer.concat([size, payload]));
    expect(await closesWithin(socket, 10_000)).toBe(true);
    const line = await gateway.logs.waitFor(about(client, 'connection closed'), mark);
    expect(line.reason).toBe('broker closed the connection');
    await producerKeepsGoing();
  });

  test('a truncated frame (size 100, then 10 bytes and a half-close) closes only that connection', async () => {
    await producerKeepsGoing(1);
    const mark = gateway.logs.mark();
    const frame = Buffer.alloc(14);
    frame.writeInt32BE(100, 0);
    randomBytes(10).copy(frame, 4);
    const { socket, client } = await sendRaw(frame, true);
    expect(await closesWithin(socket, 5_000)).toBe(true);
    const line = await gateway.logs.waitFor(about(client, 'connection closed'), mark);
    expect(line.reason).toBe('client closed the connection');
    // Still serving: a fresh client gets metadata.
    const { stdout } = await kcat(['-b', gateway.bootstrap, '-L', '-J', '-m', '10']);
    expect(JSON.parse(stdout).brokers).toHaveLength(1);
    await producerKeepsGoing();
  });

  test('a frame announcing 2 GB is refused before any of it is buffered', async () => {
    await producerKeepsGoing(1);
    const mark = gateway.logs.mark();
    const header = Buffer.alloc(4 + 64);
    header.writeInt32BE(0x7fffffff, 0);
    const { socket, client } = await sendRaw(header);
    // Keep writing as a real attacker would: the gateway must close, not keep accepting bytes.
    const flood = setInterval(() => {
      if (!socket.destroyed) socket.write(Buffer.alloc(64 * 1024));
    }, 5);
    try {
      expect(await closesWithin(socket, 5_000)).toBe(true);
    } finally {
      clearInterval(flood);
    }
    const line = await gateway.logs.waitFor(about(client, 'malformed frame'), mark);
    expect(line.level).toBe(LEVEL.warn);
    expect(String(line.err)).toMatch(/2147483647 bytes exceeds/);
    await producerKeepsGoing();
  });

  test('the concurrent producer was unaffected: every send succeeded and every record is there', async () => {
    running = false;
    await loop;
    expect(failures).toEqual([]);
    expect(acknowledged).toBeGreaterThanOrEqual(4 * 5);
    const received = await readMessages(viaGateway, topic, acknowledged);
    expect(received.map((m) => text(m.value))).toEqual(
      Array.from({ length: acknowledged }, (_, i) => `steady-${i}`),
    );
    expect(await recordsInTopic(topic)).toBe(acknowledged);
    // No error-level line: hostile input is a warning, never an internal failure.
    expect(gateway.logs.find((l) => l.level >= LEVEL.error)).toBeUndefined();
  });
});

describe('acks=0', () => {
  const PRODUCE_VERSION = 9;

  /** One uncompressed batch of `values`, without producer id (acks=0 cannot be idempotent). */
  function writeProduce(topic: string, acks: number, values: string[]) {
    const records = recordBatch(values.map((value) => ({ value })));
    return produceBody(PRODUCE_VERSION, [{ topic, partitions: [{ index: 0, records }] }], acks);
  }

  test('on one connection: acks=0 produces get no response, and the requests after them get theirs', async () => {
    const topic = uniqueTopic('gw-acks0-raw');
    await createTopic(topic);
    const connection = await RawKafkaConnection.connect(gateway.brokerAddress(1));
    try {
      for (let i = 0; i < 5; i++) {
        expect(
          await connection.request(
            API_PRODUCE,
            PRODUCE_VERSION,
            writeProduce(topic, 0, [`zero-${i}-a`, `zero-${i}-b`]),
            false,
          ),
        ).toBeNull();
      }
      const versions = decodeApiVersionsResponse(
        (await connection.request(API_VERSIONS, 3, (w) =>
          encodeApiVersionsRequest(
            w,
            { ...createApiVersionsRequest(), clientSoftwareName: 'raw', clientSoftwareVersion: '1' },
            3,
          ),
        ))!,
        3,
      );
      expect(versions.errorCode).toBe(0);
      const acked = decodeProduceResponse(
        (await connection.request(API_PRODUCE, PRODUCE_VERSION, writeProduce(topic, 1, ['acked'])))!,
        PRODUCE_VERSION,
      );
      const partition = acked.responses[0].partitionResponses[0];
      expect(partition.errorCode).toBe(0);
      // The five acks=0 batches (two records each) were written before it, in order.
      expect(partition.baseOffset).toBe(10n);
      expect(connection.unexpected).toEqual([]);
      expect(connection.isOpen).toBe(true);
    } finally {
      await connection.close();
    }
    const received = await readMessages(viaGateway, topic, 11);
    expect(received.map((m) => text(m.value))).toEqual([
      ...Array.from({ length: 5 }, (_, i) => [`zero-${i}-a`, `zero-${i}-b`]).flat(),
      'acked',
    ]);
  });

  test('kafkajs: acks=0 sends, then acks=1 sends on the same producer are answered', async () => {
    const topic = uniqueTopic('gw-acks0-kafkajs');
    await createTopic(topic);
    const producer = viaGateway.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      for (let i = 0; i < 10; i++) await producer.send({ topic, acks: 0, messages: [{ value: `a0-${i}` }] });
      const [result] = await producer.send({ topic, acks: 1, messages: [{ value: 'a1' }] });
      expect(result.errorCode).toBe(0);
      expect(result.baseOffset).toBe('10');
    } finally {
      await producer.disconnect();
    }
  });
});

describe('clean shutdown', () => {
  test('stop() lets in-flight requests finish: a long-polling fetch is answered and no acknowledged record is lost', async () => {
    const topic = uniqueTopic('gw-shutdown');
    await createTopic(topic);
    // Nothing is ever written here, so a fetch at offset 0 waits at the broker for its maxWaitMs.
    const idleTopic = uniqueTopic('gw-shutdown-idle');
    await createTopic(idleTopic);
    const stopping = await startTestGateway({
      bootstrapPort: SHUTDOWN_GATEWAY_PORT,
      logLevel: 'debug',
      drainTimeoutMs: 10_000,
    });
    const client = new Kafka({
      clientId: 'shutdown-test',
      brokers: [stopping.bootstrap],
      logLevel: logLevel.NOTHING,
      // Few retries: once the gateway is gone, sends should fail fast rather than hold the test.
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 300 },
    });
    const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    const longPoll = await RawKafkaConnection.connect(stopping.brokerAddress(1));
    let producing = true;
    const acknowledged: string[] = [];
    try {
      await producer.connect();
      const loop = (async () => {
        for (let i = 0; producing; i++) {
          const messages = Array.from({ length: 20 }, (_, j) => ({ value: `m-${i}-${j}` }));
          try {
            await producer.send({ topic, acks: -1, messages });
            acknowledged.push(...messages.map((m) => m.value));
          } catch {
            // Expected once the gateway has stopped; such records were never acknowledged.
            await sleep(50);
          }
        }
      })();
      await eventually(async () => (acknowledged.length >= 200 ? true : undefined), 20_000, 20);

      const WAIT_MS = 3_000;
      const fetchVersion = 12;
      const fetchSent = Date.now();
      const fetched = longPoll.request(
        API_FETCH,
        fetchVersion,
        fetchBody(
          {
            topic: idleTopic,
            maxWaitMs: WAIT_MS,
            minBytes: 1,
            maxBytes: 1024 * 1024,
            partitionMaxBytes: 1024,
          },
          fetchVersion,
        ),
      );
      // Awaited only after stop(); until then a rejection must not count as unhandled.
      fetched.catch(() => undefined);
      await sleep(300);

      const stopStarted = Date.now();
      await stopping.stop();
      const stopTook = Date.now() - stopStarted;
      producing = false;
      await loop;

      // The fetch was answered (with its own correlation id) before the gateway let go of it.
      const response = decodeFetchResponse((await fetched)!, fetchVersion);
      expect(response.errorCode).toBe(0);
      expect(response.responses[0].partitions[0].errorCode).toBe(0);
      expect(Date.now() - fetchSent).toBeGreaterThanOrEqual(WAIT_MS - 200);
      expect(stopTook).toBeGreaterThanOrEqual(WAIT_MS - 300 - 300);
      expect(stopTook).toBeLessThan(10_000);
      // ...and afterwards the connection was closed, not left open.
      expect(await closesWithin(longPoll.socket, 3_000)).toBe(true);
      expect(longPoll.unexpected).toEqual([]);
      expect(
        stopping.logs.find((l) => l.msg === 'connection closed' && l.reason === 'gateway shutting down'),
      ).toBeDefined();

      // New connections are refused once stopped.
      const refused = await new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: SHUTDOWN_GATEWAY_PORT });
        socket.once('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(true));
      });
      expect(refused).toBe(true);
    } finally {
      producing = false;
      await producer.disconnect().catch(() => undefined);
      await longPoll.close();
      await stopping.stop();
    }

    // Every acknowledged record is on the broker (read through the still-running main gateway).
    expect(acknowledged.length).toBeGreaterThanOrEqual(200);
    const stored = await recordsInTopic(topic);
    expect(stored).toBeGreaterThanOrEqual(acknowledged.length);
    const received = await readMessages(viaGateway, topic, stored);
    const values = new Set(received.map((m) => text(m.value)));
    expect(acknowledged.filter((v) => !values.has(v))).toEqual([]);
  }, 60_000);
});
