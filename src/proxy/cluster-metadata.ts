import type { Socket } from 'node:net';
import { encodeRequestHeader } from '../protocol/headers';
import {
  ApiKey,
  createMetadataRequest,
  decodeMetadataResponse,
  encodeMetadataRequest,
  ZERO_UUID,
} from '../protocol/messages';
import { Writer } from '../protocol/primitives';
import type { BrokerEndpoint } from './broker-directory';
import { FrameReader } from './frame-reader';
import type { ClusterMetadataFetcher } from './gateway';
import { decodeResponse } from './handlers/response-codec';
import type { UpstreamConnector } from './upstream-connector';

/** Every broker since Kafka 2.8 (and every 3.x/4.x) answers Metadata v12. */
const METADATA_VERSION = 12;
const CLIENT_ID = 'event-gateway';
const TIMEOUT_MS = 10_000;

function metadataRequestFrame(correlationId: number): Buffer {
  const writer = new Writer(64);
  const size = writer.reserveInt32();
  encodeRequestHeader(writer, {
    apiKey: ApiKey.Metadata,
    apiVersion: METADATA_VERSION,
    correlationId,
    clientId: CLIENT_ID,
  });
  const request = createMetadataRequest();
  request.topics = null;
  request.allowAutoTopicCreation = false;
  encodeMetadataRequest(writer, request, METADATA_VERSION);
  writer.setInt32(size, writer.offset - 4);
  return writer.result();
}

function askOne(connector: UpstreamConnector, target: BrokerEndpoint): ReturnType<ClusterMetadataFetcher> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connector.connect(target.host, target.port);
    const frames = new FrameReader(0x7fffffff);
    const timer = setTimeout(
      () => socket.destroy(new Error(`no metadata answer within ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
    const finish = (error: Error | null, value?: Awaited<ReturnType<ClusterMetadataFetcher>>) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(new Error(`${target.host}:${target.port}: ${error.message}`));
      else resolve(value!);
    };
    socket.on('error', (error) => finish(error));
    socket.on('data', (chunk: Buffer) => {
      try {
        const [frame] = frames.push(chunk);
        if (frame === undefined) return;
        const route = { apiKey: ApiKey.Metadata, apiVersion: METADATA_VERSION, correlationId: 1 };
        const { body } = decodeResponse(frame, route, decodeMetadataResponse);
        finish(null, {
          brokers: body.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
          topics: body.topics
            .filter((t) => t.name !== null && t.topicId !== ZERO_UUID)
            .map((t) => ({ id: t.topicId, name: t.name! })),
        });
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.write(metadataRequestFrame(1));
  });
}

/** Asks each candidate in turn until one answers; the error names every broker that did not. */
export const fetchClusterMetadata: ClusterMetadataFetcher = async (candidates, connector) => {
  const failures: string[] = [];
  for (const candidate of candidates) {
    try {
      return await askOne(connector, candidate);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  throw new Error(`no broker answered a metadata request: ${failures.join('; ')}`);
};
