import { decodeResponseHeader, encodeResponseHeader } from '../../../src/protocol/headers';
import {
  ApiKey,
  apiKeyInfo,
  createApiVersionsResponse,
  createFetchResponse,
  createFindCoordinatorResponse,
  createMetadataResponse,
  createProduceResponse,
  decodeApiVersionsResponse,
  decodeFetchResponse,
  decodeFindCoordinatorResponse,
  decodeMetadataResponse,
  decodeProduceResponse,
  encodeApiVersionsResponse,
  encodeFetchResponse,
  encodeFindCoordinatorResponse,
  encodeMetadataResponse,
  encodeProduceResponse,
  type FetchResponse,
} from '../../../src/protocol/messages';
import { Reader, Writer } from '../../../src/protocol/primitives';
import type { ApiHandler, ConnectionContext, RequestRoute } from '../../../src/proxy/api-handler';
import type { BrokerEndpoint } from '../../../src/proxy/broker-directory';
import { createApiHandlers } from '../../../src/proxy/handlers';
import type { AddressBook } from '../../../src/proxy/handlers/address-book';
import { createLogger } from '../../../src/observability/logger';
import { encodeTagsPadded } from '../../../src/proxy/handlers/node-endpoints';

const registered: BrokerEndpoint[] = [];
const topics = new Map<string, string>();
const book: AddressBook = {
  advertisedHost: 'gateway.local',
  gatewayPortFor: (id) => 20473 + id,
  registerBrokers: (endpoints) => {
    registered.push(...endpoints);
    return Promise.resolve();
  },
  rememberTopic: (id, name) => void topics.set(id, name),
  topicName: (id) => topics.get(id),
};
const handlers = createApiHandlers(book);
const context: ConnectionContext = {
  id: 1,
  clientAddress: 'x',
  listener: 'bootstrap',
  logger: createLogger('silent'),
  clientId: null,
};

function frame<T>(route: RequestRoute, body: T, encode: (w: Writer, m: T, v: number) => void): Buffer {
  const writer = new Writer();
  encodeResponseHeader(writer, { correlationId: route.correlationId }, route.apiKey, route.apiVersion);
  encode(writer, body, route.apiVersion);
  return Buffer.from(writer.result());
}

async function respond(route: RequestRoute, payload: Buffer): Promise<Buffer> {
  const handler = handlers[route.apiKey] as ApiHandler;
  return handler.onResponse!(payload, route, context);
}

function body<T>(route: RequestRoute, payload: Buffer, decode: (r: Reader, v: number) => T): T {
  const reader = new Reader(payload);
  decodeResponseHeader(reader, route.apiKey, route.apiVersion);
  return decode(reader, route.apiVersion);
}

describe('address rewriting', () => {
  beforeEach(() => {
    registered.length = 0;
  });

  it.each([1, 9, 12, 13])(
    'points every Metadata v%i broker at the gateway and registers the real ones',
    async (version) => {
      const route = { apiKey: ApiKey.Metadata, apiVersion: version, correlationId: 3 };
      const metadata = createMetadataResponse();
      metadata.brokers = [1, 2, 3].map((nodeId) => ({
        nodeId,
        host: `kafka-${nodeId}.internal`,
        port: 9092,
        rack: null,
        unknownTaggedFields: [],
      }));
      const out = body(
        route,
        await respond(route, frame(route, metadata, encodeMetadataResponse)),
        decodeMetadataResponse,
      );
      expect(out.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`)).toEqual([
        '1@gateway.local:20474',
        '2@gateway.local:20475',
        '3@gateway.local:20476',
      ]);
      expect(registered).toEqual(
        [1, 2, 3].map((nodeId) => ({ nodeId, host: `kafka-${nodeId}.internal`, port: 9092 })),
      );
    },
  );

  it('rewrites single (v3) and batched (v4+) coordinators', async () => {
    for (const version of [3, 4, 6]) {
      const route = { apiKey: ApiKey.FindCoordinator, apiVersion: version, correlationId: 4 };
      const response = createFindCoordinatorResponse();
      if (version < 4) Object.assign(response, { nodeId: 2, host: 'kafka-2', port: 9093 });
      else
        response.coordinators = [
          {
            key: 'g',
            nodeId: 2,
            host: 'kafka-2',
            port: 9093,
            errorCode: 0,
            errorMessage: null,
            unknownTaggedFields: [],
          },
        ];
      const out = body(
        route,
        await respond(route, frame(route, response, encodeFindCoordinatorResponse)),
        decodeFindCoordinatorResponse,
      );
      const endpoint = version < 4 ? out : out.coordinators[0];
      expect([endpoint.host, endpoint.port]).toEqual(['gateway.local', 20475]);
    }
  });

  it('passes a Fetch response without node endpoints as the same buffer, and rewrites one with them', async () => {
    const route = { apiKey: ApiKey.Fetch, apiVersion: 16, correlationId: 5 };
    const plain = frame(route, createFetchResponse(), encodeFetchResponse);
    expect(await respond(route, plain)).toBe(plain);
    const moved = createFetchResponse();
    moved.nodeEndpoints = [{ nodeId: 3, host: 'kafka-3', port: 9094, rack: null, unknownTaggedFields: [] }];
    const out = body(
      route,
      await respond(route, frame(route, moved, encodeFetchResponse)),
      decodeFetchResponse,
    );
    expect(out.nodeEndpoints.map((e) => [e.host, e.port])).toEqual([['gateway.local', 20476]]);
  });

  it('rewrites node endpoints of Produce v10+ responses and passes the others as the same buffer', async () => {
    for (const version of [9, 10, 12, 13]) {
      const route = { apiKey: ApiKey.Produce, apiVersion: version, correlationId: 8 };
      const response = createProduceResponse();
      response.responses = [
        {
          name: version < 13 ? 'orders' : '',
          topicId: version < 13 ? '00000000000000000000000000000000' : '6a1bd5a17f8e4c2b9d3e2f4a5b6c7d8e',
          partitionResponses: [
            {
              ...createProduceResponse().responses[0]?.partitionResponses[0],
              index: 0,
              errorCode: 6,
              baseOffset: -1n,
              logAppendTimeMs: -1n,
              logStartOffset: -1n,
              recordErrors: [],
              errorMessage: 'not leader',
              currentLeader: { leaderId: 2, leaderEpoch: 5, unknownTaggedFields: [] },
              unknownTaggedFields: [],
            },
          ],
          unknownTaggedFields: [],
        },
      ];
      const plain = frame(route, response, encodeProduceResponse);
      expect(await respond(route, plain)).toBe(plain);
      if (version < 10) continue;
      response.nodeEndpoints = [
        { nodeId: 2, host: 'kafka-2.internal', port: 9093, rack: 'r1', unknownTaggedFields: [] },
      ];
      const out = body(
        route,
        await respond(route, frame(route, response, encodeProduceResponse)),
        decodeProduceResponse,
      );
      expect(out.nodeEndpoints).toEqual([
        { nodeId: 2, host: 'gateway.local', port: 20475, rack: 'r1', unknownTaggedFields: [] },
      ]);
      expect(out.responses).toEqual(response.responses);
      expect(registered).toContainEqual({ nodeId: 2, host: 'kafka-2.internal', port: 9093 });
    }
  });

  describe('a Fetch v16+ response streamed to the client', () => {
    const route = { apiKey: ApiKey.Fetch, apiVersion: 17, correlationId: 9 };
    const topicId = '6a1bd5a17f8e4c2b9d3e2f4a5b6c7d8e';

    function fetchResponse(endpointHost: string | null): FetchResponse {
      const response = createFetchResponse();
      response.responses = [
        {
          topic: '',
          topicId,
          partitions: [0, 1].map((partitionIndex) => ({
            partitionIndex,
            errorCode: partitionIndex === 1 ? 6 : 0,
            highWatermark: 100n,
            lastStableOffset: 100n,
            logStartOffset: 0n,
            divergingEpoch: { epoch: -1, endOffset: -1n, unknownTaggedFields: [] },
            currentLeader:
              partitionIndex === 1
                ? { leaderId: 3, leaderEpoch: 7, unknownTaggedFields: [] }
                : { leaderId: -1, leaderEpoch: -1, unknownTaggedFields: [] },
            snapshotId: { endOffset: -1n, epoch: -1, unknownTaggedFields: [] },
            abortedTransactions: null,
            preferredReadReplica: -1,
            records: partitionIndex === 0 ? Buffer.alloc(5000, 0x42) : null,
            unknownTaggedFields: [],
          })),
          unknownTaggedFields: [],
        },
      ];
      if (endpointHost !== null)
        response.nodeEndpoints = [
          { nodeId: 3, host: endpointHost, port: 9094, rack: null, unknownTaggedFields: [] },
        ];
      return response;
    }

    /** Feeds the payload to a watch in pieces as the connection does; returns what the client gets. */
    async function stream(payload: Buffer, piece: number): Promise<Buffer | null> {
      const watch = (handlers[ApiKey.Fetch] as ApiHandler).watchResponse!(route, context)!;
      const sent: Buffer[] = [];
      const held: Buffer[] = [];
      for (let at = 0; at < payload.length; at += piece) {
        const bytes = payload.subarray(at, Math.min(payload.length, at + piece));
        const passed = held.length === 0 ? watch.take(bytes) : 0;
        sent.push(bytes.subarray(0, passed));
        if (passed < bytes.length) held.push(bytes.subarray(passed));
      }
      const tail = await watch.finish(Buffer.concat(held));
      return tail === null ? null : Buffer.concat([...sent, tail]);
    }

    it.each([1, 7, 100, 4096])(
      'passes the bytes unchanged when there are no endpoints (pieces of %i)',
      async (piece) => {
        const payload = frame(route, fetchResponse(null), encodeFetchResponse);
        expect(await stream(payload, piece)).toEqual(payload);
      },
    );

    it.each([1, 13, 4096])(
      'rewrites endpoints in place, padded to the same length (pieces of %i)',
      async (piece) => {
        const payload = frame(route, fetchResponse('broker-3.kafka.svc.cluster.local'), encodeFetchResponse);
        const out = await stream(payload, piece);
        expect(out).not.toBeNull();
        expect(out!.length).toBe(payload.length);
        const decoded = body(route, out!, decodeFetchResponse);
        expect(decoded.nodeEndpoints.map((e) => [e.nodeId, e.host, e.port])).toEqual([
          [3, 'gateway.local', 20476],
        ]);
        expect(decoded.unknownTaggedFields.map((f) => f.tag)).toEqual([1]);
        expect(decoded.responses).toEqual(fetchResponse(null).responses);
      },
    );

    it('gives up (null) when the gateway address does not fit in the space the broker used', async () => {
      const payload = frame(route, fetchResponse('k3'), encodeFetchResponse);
      expect(await stream(payload, 64)).toBeNull();
    });
  });

  it('pads tagged fields to any length two or more bytes longer, and refuses a one-byte gap', () => {
    const fields = [{ tag: 0, data: Buffer.from([1, 2, 3]) }];
    const plain = encodeTagsPadded(fields, 6)!;
    expect(plain).toEqual(Buffer.from([1, 0, 3, 1, 2, 3]));
    for (let length = plain.length + 2; length < plain.length + 300; length++) {
      const padded = encodeTagsPadded(fields, length)!;
      expect(padded).not.toBeNull();
      expect(padded.length).toBe(length);
      const reader = new Reader(padded);
      const [first, ...padding] = reader.taggedFields();
      expect(first).toEqual(fields[0]);
      expect(padding.map((field) => field.tag)).toEqual(padding.length === 1 ? [1] : [1, 2]);
      for (const field of padding) expect(field.data.every((byte) => byte === 0)).toBe(true);
      expect(reader.remaining()).toBe(0);
    }
    expect(encodeTagsPadded(fields, plain.length + 1)).toBeNull();
    expect(encodeTagsPadded(fields, plain.length - 1)).toBeNull();
  });

  it('narrows ApiVersions to the versions the gateway can read, leaving other APIs alone', async () => {
    const route = { apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 6 };
    const response = createApiVersionsResponse();
    const metadataMax = apiKeyInfo(ApiKey.Metadata)!.response!.max;
    response.apiKeys = [
      { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: metadataMax + 5, unknownTaggedFields: [] },
      { apiKey: ApiKey.OffsetCommit, minVersion: 0, maxVersion: 99, unknownTaggedFields: [] },
    ];
    const out = body(
      route,
      await respond(route, frame(route, response, encodeApiVersionsResponse)),
      decodeApiVersionsResponse,
    );
    expect(out.apiKeys.map((a) => [a.apiKey, a.maxVersion])).toEqual([
      [ApiKey.Metadata, metadataMax],
      [ApiKey.OffsetCommit, 99],
    ]);
    const untouched = frame(
      route,
      { ...response, apiKeys: [response.apiKeys[1]] },
      encodeApiVersionsResponse,
    );
    expect(await respond(route, untouched)).toBe(untouched);
  });
});
