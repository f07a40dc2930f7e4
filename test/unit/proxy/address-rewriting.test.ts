import { decodeResponseHeader, encodeResponseHeader } from '../../../src/protocol/headers';
import {
  ApiKey,
  apiKeyInfo,
  createApiVersionsResponse,
  createFetchResponse,
  createFindCoordinatorResponse,
  createMetadataResponse,
  decodeApiVersionsResponse,
  decodeFetchResponse,
  decodeFindCoordinatorResponse,
  decodeMetadataResponse,
  encodeApiVersionsResponse,
  encodeFetchResponse,
  encodeFindCoordinatorResponse,
  encodeMetadataResponse,
} from '../../../src/protocol/messages';
import { Reader, Writer } from '../../../src/protocol/primitives';
import type { ApiHandler, ConnectionContext, RequestRoute } from '../../../src/proxy/api-handler';
import type { BrokerEndpoint } from '../../../src/proxy/broker-directory';
import { createApiHandlers } from '../../../src/proxy/handlers';
import type { AddressBook } from '../../../src/proxy/handlers/address-book';
import { createLogger } from '../../../src/observability/logger';

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
