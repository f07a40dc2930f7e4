import type { Socket } from 'node:net';
import { encodeRequestHeader } from '../protocol/headers';
import { ApiKey } from '../protocol/messages/generated/api-keys';
import {
  createMetadataRequest,
  decodeMetadataResponse,
  encodeMetadataRequest,
} from '../protocol/messages/generated/metadata';
import { ZERO_UUID } from '../protocol/messages/runtime';
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

function requestFrame(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  writeBody: (writer: Writer) => void,
): Buffer {
  const writer = new Writer(64);
  const size = writer.reserveInt32();
  encodeRequestHeader(writer, { apiKey, apiVersion, correlationId, clientId: CLIENT_ID });
  writeBody(writer);
  writer.setInt32(size, writer.offset - 4);
  return writer.result();
}

function metadataRequestFrame(correlationId: number): Buffer {
  return requestFrame(ApiKey.Metadata, METADATA_VERSION, correlationId, (writer) => {
    const request = createMetadataRequest();
    request.topics = null;
    request.allowAutoTopicCreation = false;
    encodeMetadataRequest(writer, request, METADATA_VERSION);
  });
}

/**
 * The broker answered ApiVersions and then closed the connection on Metadata: what a SASL
 * listener does with any other request before authentication. The gateway has no credentials of
 * its own, so only its clients' authenticated connections can learn the brokers.
 */
export class AuthenticationRequiredError extends Error {
  override readonly name = 'AuthenticationRequiredError';
}

const VERSIONS_CORRELATION_ID = 1;
const METADATA_CORRELATION_ID = 2;

/**
 * ApiVersions (v0, empty body, answered by every broker and by SASL listeners before
 * authentication) goes first only to tell "requires authentication" from "not Kafka here": an
 * SSL listener reached in plain text, for one, closes the connection without answering either.
 */
function askOne(connector: UpstreamConnector, target: BrokerEndpoint): ReturnType<ClusterMetadataFetcher> {
  return new Promise((resolve, reject) => {
    const where = `${target.host}:${target.port}`;
    const socket: Socket = connector.connect(target.host, target.port);
    const frames = new FrameReader(0x7fffffff);
    let versionsAnswered = false;
    let settled = false;
    const finish = (error: Error | null, value?: Awaited<ReturnType<ClusterMetadataFetcher>>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error instanceof AuthenticationRequiredError) reject(error);
      else if (error) reject(new Error(`${where}: ${error.message}`));
      else resolve(value!);
    };
    const timer = setTimeout(
      () => finish(new Error(`no metadata answer within ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
    socket.on('error', (error) => finish(error));
    // Without this a broker closing the connection unanswered left the promise pending forever:
    // destroying a closed socket at the timeout emits no error.
    socket.on('close', () =>
      finish(
        versionsAnswered
          ? new AuthenticationRequiredError(
              `${where} closed the connection on a metadata request: its listener requires SASL authentication`,
            )
          : new Error('the connection closed before the broker answered'),
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of frames.push(chunk)) {
          if (!versionsAnswered) {
            if (frame.length < 4 || frame.readInt32BE(0) !== VERSIONS_CORRELATION_ID) {
              throw new Error('the answer to ApiVersions is not a Kafka response');
            }
            versionsAnswered = true;
            socket.write(metadataRequestFrame(METADATA_CORRELATION_ID));
            continue;
          }
          const route = {
            apiKey: ApiKey.Metadata,
            apiVersion: METADATA_VERSION,
            correlationId: METADATA_CORRELATION_ID,
          };
          const { body } = decodeResponse(frame, route, decodeMetadataResponse);
          finish(null, {
            brokers: body.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
            topics: body.topics
              .filter((t) => t.name !== null && t.topicId !== ZERO_UUID)
              .map((t) => ({ id: t.topicId, name: t.name! })),
          });
          return;
        }
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.write(requestFrame(ApiKey.ApiVersions, 0, VERSIONS_CORRELATION_ID, () => undefined));
  });
}

/** Asks each candidate in turn until one answers; the error names every broker that did not. */
export const fetchClusterMetadata: ClusterMetadataFetcher = async (candidates, connector) => {
  const failures: string[] = [];
  let authenticationRequired = false;
  for (const candidate of candidates) {
    try {
      return await askOne(connector, candidate);
    } catch (error) {
      if (error instanceof AuthenticationRequiredError) authenticationRequired = true;
      failures.push((error as Error).message);
    }
  }
  const message = `no broker answered a metadata request: ${failures.join('; ')}`;
  throw authenticationRequired ? new AuthenticationRequiredError(message) : new Error(message);
};
