import net, { type AddressInfo, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import {
  encodeRequestHeader,
  encodeResponseHeader,
  decodeResponseHeader,
} from '../../../src/protocol/headers';
import {
  ApiKey,
  createFetchResponse,
  createProduceResponse,
  createProduceResponsePartitionProduceResponse,
  decodeFetchResponse,
  encodeFetchResponse,
  encodeProduceResponse,
  type FetchResponse,
  type ProduceResponse,
  ZERO_UUID,
} from '../../../src/protocol/messages';
import { Reader, Writer } from '../../../src/protocol/primitives';
import type { ApiHandlers } from '../../../src/proxy/api-handler';
import { createApiHandlers } from '../../../src/proxy/handlers';
import { Pipeline, type RecordTally } from '../../../src/pipeline/pipeline';
import { ProxyConnection } from '../../../src/proxy/proxy-connection';
import { adoptForRecycledReads } from '../../../src/proxy/accepted-socket';
import { RecycledReads } from '../../../src/proxy/recycled-reads';
import { createClientServer } from '../../../src/proxy/sockets';
import { UpstreamConnector } from '../../../src/proxy/upstream-connector';
import { createLogger } from '../../../src/observability/logger';
import { CapturedLogs } from '../../support/captured-logs';
import { produceFrame } from '../support/produce-frames';
import { batchOfValues } from '../support/record-batches';
import { staticAddressBook } from '../support/address-book';

// One ProxyConnection between a real client socket and a scripted broker on loopback: enough to
// see when bytes move, which is what cut-through is about.

const book = staticAddressBook('gw', 20473);

/** Buffers compared as bytes: jest's deep equality walks them element by element, far too slowly. */
function expectSameBytes(actual: Buffer, expected: Buffer): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.equals(expected)).toBe(true);
}

function sized(payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}

/** A Produce v9 response to correlation id 7 (what produceFrame sends), size prefix included. */
function produceAnswer(response: ProduceResponse): Buffer {
  const writer = new Writer();
  encodeResponseHeader(writer, { correlationId: 7 }, ApiKey.Produce, 9);
  encodeProduceResponse(writer, response, 9);
  return sized(writer.result());
}

/** Collects what arrives on a socket and lets a test wait for a byte count. */
class Received {
  chunks: Buffer[] = [];
  length = 0;
  private waiters: { bytes: number; resolve: () => void }[] = [];
  closed = false;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.length += chunk.length;
      this.waiters = this.waiters.filter((w) => (this.length >= w.bytes ? (w.resolve(), false) : true));
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters) w.resolve();
    });
  }

  async atLeast(bytes: number): Promise<Buffer> {
    if (this.length < bytes && !this.closed)
      await new Promise<void>((resolve) => this.waiters.push({ bytes, resolve }));
    return Buffer.concat(this.chunks);
  }
}

interface Rig {
  client: Socket;
  broker: Socket;
  /** The gateway's own two sockets: the accepted client connection and its broker connection. */
  gateway: { client: Socket; upstream: Socket; clientReads: RecycledReads | undefined };
  fromClient: Received;
  atBroker: Received;
  logs: CapturedLogs;
  close(): Promise<void>;
}

async function rig(recycled: boolean, handlers: ApiHandlers = createApiHandlers(book)): Promise<Rig> {
  const brokerServer: Server = net.createServer();
  brokerServer.listen(0, '127.0.0.1');
  await once(brokerServer, 'listening');
  const logs = new CapturedLogs();
  const logger = createLogger('debug', logs);
  const brokerSide = once(brokerServer, 'connection') as Promise<[Socket]>;
  // The sockets are made as the gateway makes them, so their buffering is the gateway's.
  const connector = new UpstreamConnector({
    connectTimeoutMs: 5000,
    tls: { enabled: false, rejectUnauthorized: true },
  });
  let gateway: Rig['gateway'] | undefined;
  const gatewayServer: Server = createClientServer(null, (socket: Socket) => {
    const port = (brokerServer.address() as AddressInfo).port;
    const reads = recycled ? new RecycledReads() : undefined;
    const accepted = recycled ? adoptForRecycledReads(socket) : { socket, reads: undefined };
    const upstream = connector.connect('127.0.0.1', port, reads);
    gateway = { client: accepted.socket, upstream, clientReads: accepted.reads };
    new ProxyConnection(accepted.socket, upstream, {
      upstreamReads: reads,
      clientReads: accepted.reads,
      id: 1,
      listener: 'bootstrap',
      maxFrameBytes: 10 * 1024 * 1024,
      handlers,
      logger,
    });
    accepted.socket.resume();
  });
  gatewayServer.listen(0, '127.0.0.1');
  await once(gatewayServer, 'listening');
  const client = net.connect((gatewayServer.address() as AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  const [broker] = await brokerSide;
  const fromClient = new Received(client);
  const atBroker = new Received(broker);
  return {
    client,
    broker,
    gateway: gateway!,
    fromClient,
    atBroker,
    logs,
    async close() {
      client.destroy();
      broker.destroy();
      brokerServer.close();
      gatewayServer.close();
    },
  };
}

/** A v2 batch of `count` records of `valueBytes` each. */
function batchOf(count: number, valueBytes: number): Buffer {
  return batchOfValues(Array.from({ length: count }, (_, i) => Buffer.alloc(valueBytes, 0x41 + i)));
}

/** Handlers whose pipeline has one middleware that reads topic `checked` only; tallies land in `tallies`. */
function handlersCheckingOneTopic(tallies: RecordTally[]): ApiHandlers {
  const pipeline = new Pipeline(
    [{ name: 'checks-one-topic', wants: (topic) => topic === 'checked', onRecord() {} }],
    {
      tallyRecords: true,
    },
  );
  return createApiHandlers(book, {
    pipeline: () => pipeline,
    produceObserver: { counted: (tally) => tallies.push(...tally) },
  });
}

function fetchRequest(version: number, correlationId: number): Buffer {
  // The gateway reads only the header of a Fetch request; the body travels as it is.
  const writer = new Writer();
  encodeRequestHeader(writer, { apiKey: ApiKey.Fetch, apiVersion: version, correlationId, clientId: 'unit' });
  writer.raw(Buffer.alloc(40, 1));
  return sized(writer.result());
}

function fetchResponse(
  correlationId: number,
  version: number,
  recordBytes: number,
  endpointHost?: string,
): Buffer {
  const response: FetchResponse = createFetchResponse();
  response.responses = [
    {
      topic: '',
      topicId: '6a1bd5a17f8e4c2b9d3e2f4a5b6c7d8e',
      partitions: [
        {
          partitionIndex: 0,
          errorCode: 0,
          highWatermark: 10n,
          lastStableOffset: 10n,
          logStartOffset: 0n,
          divergingEpoch: { epoch: -1, endOffset: -1n, unknownTaggedFields: [] },
          currentLeader: { leaderId: -1, leaderEpoch: -1, unknownTaggedFields: [] },
          snapshotId: { endOffset: -1n, epoch: -1, unknownTaggedFields: [] },
          abortedTransactions: null,
          preferredReadReplica: -1,
          records: Buffer.alloc(recordBytes, 0x61),
          unknownTaggedFields: [],
        },
      ],
      unknownTaggedFields: [],
    },
  ];
  if (endpointHost !== undefined)
    response.nodeEndpoints = [
      { nodeId: 2, host: endpointHost, port: 9093, rack: null, unknownTaggedFields: [] },
    ];
  const writer = new Writer(recordBytes + 256);
  encodeResponseHeader(writer, { correlationId }, ApiKey.Fetch, version);
  encodeFetchResponse(writer, response, version);
  return sized(writer.result());
}

describe.each([
  ['reading into fresh buffers', false],
  ['reading client and broker bytes into recycled memory', true],
])('ProxyConnection cut-through, %s', (_mode, recycled) => {
  let current: Rig | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  it('sends a large produce request upstream while it is still arriving, byte for byte', async () => {
    const r = (current = await rig(recycled));
    const request = sized(
      produceFrame(9, [{ topic: 'orders', partition: 0, records: Buffer.alloc(200_000, 7) }], 1),
    );
    r.client.write(request.subarray(0, 20_000));
    // The broker sees the start before the client has sent the rest.
    const early = await r.atBroker.atLeast(20_000);
    expect(early.length).toBe(20_000);
    r.client.write(request.subarray(20_000));
    expectSameBytes(await r.atBroker.atLeast(request.length), request);

    const answer = produceAnswer(createProduceResponse());
    r.broker.write(answer);
    expectSameBytes(await r.fromClient.atLeast(answer.length), answer);
  });

  it('streams a large Fetch v16+ response and rewrites its node endpoints in place', async () => {
    const r = (current = await rig(recycled));
    r.client.write(fetchRequest(17, 41));
    await r.atBroker.atLeast(1);
    const response = fetchResponse(41, 17, 300_000, 'kafka-2.brokers.example.internal');
    r.broker.write(response.subarray(0, 100_000));
    // The client gets the first part before the broker has sent the rest.
    const early = await r.fromClient.atLeast(100_000 - 100);
    expect(early.length).toBeLessThan(response.length);
    expectSameBytes(early, response.subarray(0, early.length));
    r.broker.write(response.subarray(100_000));
    const got = await r.fromClient.atLeast(response.length);
    expect(got.length).toBe(response.length);
    const reader = new Reader(got.subarray(4));
    decodeResponseHeader(reader, ApiKey.Fetch, 17);
    const decoded = decodeFetchResponse(reader, 17);
    expect(decoded.nodeEndpoints.map((e) => [e.nodeId, e.host, e.port])).toEqual([[2, 'gw', 20475]]);
    expectSameBytes(decoded.responses[0].partitions[0].records!, Buffer.alloc(300_000, 0x61));
  });

  it('passes a request and a response that fit the write queue on without pausing either side', async () => {
    const r = (current = await rig(recycled));
    const clientPaused = jest.spyOn(r.gateway.client, 'pause');
    const brokerPaused = jest.spyOn(r.gateway.upstream, 'pause');
    // Both are larger than Node's default high-water mark (16 KiB) and smaller than the gateway's.
    const request = sized(
      produceFrame(9, [{ topic: 't', partition: 0, records: Buffer.alloc(200_000, 1) }], 0),
    );
    r.client.write(request);
    await r.atBroker.atLeast(request.length);
    const fetch = fetchRequest(17, 1);
    r.client.write(fetch);
    await r.atBroker.atLeast(request.length + fetch.length);
    const response = fetchResponse(1, 17, 200_000);
    r.broker.write(response);
    expectSameBytes(await r.fromClient.atLeast(response.length), response);
    expect(clientPaused).not.toHaveBeenCalled();
    expect(brokerPaused).not.toHaveBeenCalled();
  });

  it('passes a request for a topic no middleware wants upstream as it arrives, and counts its records', async () => {
    const tallies: RecordTally[] = [];
    const r = (current = await rig(recycled, handlersCheckingOneTopic(tallies)));
    const records = Buffer.concat([batchOf(3, 30_000), batchOf(4, 20_000), batchOf(1, 10)]);
    const request = sized(produceFrame(9, [{ topic: 'unchecked', partition: 0, records }], 1));
    r.client.write(request.subarray(0, 20_000));
    const early = await r.atBroker.atLeast(20_000);
    expect(early.length).toBe(20_000);
    expect(tallies).toEqual([]);
    r.client.write(request.subarray(20_000));
    expectSameBytes(await r.atBroker.atLeast(request.length), request);
    expect(tallies).toEqual([{ topic: 'unchecked', outcome: 'unvalidated', count: 8 }]);
  });

  it('counts the records of a whole request for a topic no middleware wants as it forwards it', async () => {
    const tallies: RecordTally[] = [];
    const r = (current = await rig(recycled, handlersCheckingOneTopic(tallies)));
    const request = sized(
      produceFrame(9, [{ topic: 'unchecked', partition: 0, records: batchOf(5, 10) }], 1),
    );
    r.client.write(request);
    expectSameBytes(await r.atBroker.atLeast(request.length), request);
    expect(tallies).toEqual([{ topic: 'unchecked', outcome: 'unvalidated', count: 5 }]);
  });

  it('holds a request for a topic a middleware wants until it is whole', async () => {
    const tallies: RecordTally[] = [];
    const r = (current = await rig(recycled, handlersCheckingOneTopic(tallies)));
    const request = sized(
      produceFrame(9, [{ topic: 'checked', partition: 0, records: batchOf(2, 50_000) }], 1),
    );
    r.client.write(request.subarray(0, 20_000));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(r.atBroker.length).toBe(0);
    r.client.write(request.subarray(20_000));
    // The middleware changed nothing: the request leaves as it came, and its records were read.
    expectSameBytes(await r.atBroker.atLeast(request.length), request);
    expect(tallies).toEqual([{ topic: 'checked', outcome: 'unvalidated', count: 2 }]);
  });

  it('keeps responses in order behind a streamed one', async () => {
    const r = (current = await rig(recycled));
    r.client.write(Buffer.concat([fetchRequest(17, 1), fetchRequest(17, 2)]));
    await r.atBroker.atLeast(2 * fetchRequest(17, 1).length);
    const first = fetchResponse(1, 17, 200_000);
    const second = fetchResponse(2, 17, 10);
    r.broker.write(first.subarray(0, 50_000));
    await r.fromClient.atLeast(40_000);
    r.broker.write(Buffer.concat([first.subarray(50_000), second]));
    expectSameBytes(await r.fromClient.atLeast(first.length + second.length), Buffer.concat([first, second]));
  });

  it('delivers every byte intact to a client that stops reading for a while', async () => {
    const r = (current = await rig(recycled));
    r.client.pause();
    // More than the kernel's socket buffers hold, so that writes to the client queue in the gateway.
    const count = 8;
    const requests = Array.from({ length: count }, (_, i) => fetchRequest(17, 100 + i));
    r.client.write(Buffer.concat(requests));
    await r.atBroker.atLeast(requests.reduce((sum, q) => sum + q.length, 0));
    // Distinct contents per response, so that memory reused too early would show.
    const responses = requests.map((_, i) => {
      const response = fetchResponse(100 + i, 17, 4_000_000 + i * 1000);
      response.fill(0x30 + i, 200, response.length - 10);
      return response;
    });
    for (const response of responses) r.broker.write(response);
    await new Promise((resolve) => setTimeout(resolve, 500));
    r.client.resume();
    const all = Buffer.concat(responses);
    expectSameBytes(await r.fromClient.atLeast(all.length), all);
  });

  it('assembles a response that spans reads from intact pieces', async () => {
    const r = (current = await rig(recycled));
    // A Produce response is held whole (its handler reads it), so its first piece waits for the next read.
    const request = sized(
      produceFrame(9, [{ topic: 'orders', partition: 0, records: Buffer.alloc(100, 1) }], 1),
    );
    r.client.write(request);
    await r.atBroker.atLeast(request.length);
    const response = createProduceResponse();
    response.responses = [
      {
        name: 'orders',
        topicId: ZERO_UUID,
        partitionResponses: Array.from({ length: 200 }, (_, index) => ({
          ...createProduceResponsePartitionProduceResponse(),
          index,
          baseOffset: BigInt(index * 1000),
          errorMessage: `partition ${index}`,
        })),
        unknownTaggedFields: [],
      },
    ];
    const answer = produceAnswer(response);
    const cut = Math.floor(answer.length / 2);
    r.broker.write(answer.subarray(0, cut));
    await new Promise((resolve) => setTimeout(resolve, 50));
    r.broker.write(answer.subarray(cut));
    expectSameBytes(await r.fromClient.atLeast(answer.length), answer);
  });

  it('closes the connection when endpoints cannot be rewritten in the space the broker used', async () => {
    const r = (current = await rig(recycled));
    r.client.write(fetchRequest(17, 5));
    await r.atBroker.atLeast(1);
    const response = fetchResponse(5, 17, 100_000, 'k');
    r.broker.write(response.subarray(0, 30_000));
    await r.fromClient.atLeast(20_000);
    r.broker.write(response.subarray(30_000));
    await once(r.client, 'close');
    expect(r.fromClient.length).toBeLessThan(response.length);
    expect(r.logs.lines.map((line) => line.msg)).toContain(
      'a streamed response could not be rewritten in place; closing the connection so that the client retries',
    );
  });
});

describe('ProxyConnection reading client bytes into recycled memory', () => {
  let current: Rig | undefined;
  afterEach(async () => {
    await current?.close();
    jest.restoreAllMocks();
    current = undefined;
  });

  /** A Fetch request of `bodyBytes` filled with `fill`, size prefix included. */
  function fetchOf(correlationId: number, bodyBytes: number, fill: number): Buffer {
    const writer = new Writer();
    encodeRequestHeader(writer, { apiKey: ApiKey.Fetch, apiVersion: 16, correlationId, clientId: 'unit' });
    writer.raw(Buffer.alloc(bodyBytes, fill));
    return sized(writer.result());
  }

  /** Sends each request on its own, waiting for the broker to have it, so each is its own read. */
  async function sendOneByOne(r: Rig, requests: Buffer[]): Promise<void> {
    let total = r.atBroker.length;
    for (const request of requests) {
      r.client.write(request);
      total += request.length;
      await r.atBroker.atLeast(total);
    }
  }

  it('reads request after request into the same memory when nothing keeps them', async () => {
    const r = (current = await rig(true, []));
    expect(r.gateway.clientReads).toBeDefined();
    const requests = Array.from({ length: 60 }, (_, i) => fetchOf(i, 8_000, i));
    await sendOneByOne(r, requests.slice(0, 5));
    // Counted once the connection is set up: only reads that could not reuse memory allocate.
    const allocations = jest.spyOn(Buffer, 'allocUnsafeSlow');
    await sendOneByOne(r, requests.slice(5));
    expect(allocations.mock.calls.length).toBeLessThan(5);
    expectSameBytes(await r.atBroker.atLeast(0), Buffer.concat(requests));
  });

  it('delivers every byte intact to a broker that stops reading for a while', async () => {
    const r = (current = await rig(true, []));
    r.broker.pause();
    const requests = Array.from({ length: 80 }, (_, i) => fetchOf(i, 100_000, i));
    // More than the sockets' buffers hold: the gateway's writes upstream queue while reads go on.
    for (const request of requests) r.client.write(request);
    await new Promise((resolve) => setTimeout(resolve, 300));
    r.broker.resume();
    const expected = Buffer.concat(requests);
    expectSameBytes((await r.atBroker.atLeast(expected.length)).subarray(0, expected.length), expected);
  });

  it('assembles a request that arrives in small reads from intact pieces', async () => {
    const r = (current = await rig(true, []));
    const requests = Array.from({ length: 3 }, (_, i) => fetchOf(i, 2_000, 0x30 + i));
    for (const request of requests) {
      // Pieces shorter than the head the gateway decides on are held, each in the memory of its read.
      for (let at = 0; at < 400; at += 40) {
        r.client.write(request.subarray(at, at + 40));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      r.client.write(request.subarray(400));
    }
    const expected = Buffer.concat(requests);
    expectSameBytes(await r.atBroker.atLeast(expected.length), expected);
  });

  it('leaves the memory of a read to a handler that saw a whole request, which keeps it intact', async () => {
    const kept: Buffer[] = [];
    const handlers: ApiHandlers = [];
    (handlers as (ApiHandlers[number] | undefined)[])[ApiKey.Fetch] = {
      onRequest(frame) {
        // As a handler may: a view of the request, read after later requests have arrived.
        kept.push(frame);
        return { action: 'forward', expectResponse: false };
      },
    };
    const r = (current = await rig(true, handlers));
    const requests = Array.from({ length: 40 }, (_, i) => fetchOf(i, 8_000, i));
    const allocations = jest.spyOn(Buffer, 'allocUnsafeSlow');
    await sendOneByOne(r, requests);
    expect(kept).toHaveLength(requests.length);
    for (let i = 0; i < requests.length; i++) expectSameBytes(kept[i], requests[i].subarray(4));
    // Kept reads follow one another in shared memory rather than each taking a buffer of its own.
    expect(allocations.mock.calls.length).toBeLessThan(10);
  });

  it('reads into the same memory again after a handler that saw a whole request but holds nothing of it', async () => {
    const handlers: ApiHandlers = [];
    let decided = 0;
    (handlers as (ApiHandlers[number] | undefined)[])[ApiKey.Fetch] = {
      onRequest() {
        decided++;
        return { action: 'forward', expectResponse: false, holdsNothing: true };
      },
    };
    const r = (current = await rig(true, handlers));
    const requests = Array.from({ length: 60 }, (_, i) => fetchOf(i, 8_000, i));
    await sendOneByOne(r, requests.slice(0, 5));
    const allocations = jest.spyOn(Buffer, 'allocUnsafeSlow');
    await sendOneByOne(r, requests.slice(5));
    expect(decided).toBe(requests.length);
    expect(allocations.mock.calls.length).toBeLessThan(2);
    expectSameBytes(await r.atBroker.atLeast(0), Buffer.concat(requests));
  });

  it('falls back to reading the usual way when the accepted socket has no handle it can take', async () => {
    const accepted = new net.Socket();
    const adopted = adoptForRecycledReads(accepted);
    expect(adopted.socket).toBe(accepted);
    expect(adopted.reads).toBeUndefined();
  });
});
