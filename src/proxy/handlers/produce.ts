import { decodeRequestHeader } from '../../protocol/headers';
import { decodeProduceResponse, encodeProduceResponse } from '../../protocol/messages';
import { ProtocolError, Reader } from '../../protocol/primitives';
import type { ApiHandler, RequestDecision, RequestRoute } from '../api-handler';
import type { AddressBook } from './address-book';
import { nodeEndpointsHandler } from './node-endpoints';

const FIRST_FLEXIBLE_VERSION = 9;
const FIRST_VERSION_WITH_NODE_ENDPOINTS = 10;

const FORWARD_WITH_RESPONSE: RequestDecision = Object.freeze({ action: 'forward', expectResponse: true });
const FORWARD_WITHOUT_RESPONSE: RequestDecision = Object.freeze({ action: 'forward', expectResponse: false });

/**
 * Reads a produce request's acks without decoding its records: transactional id and acks come
 * first in the body of every version.
 */
export function readProduceAcks(frame: Buffer, route: RequestRoute): number {
  try {
    const reader = new Reader(frame);
    decodeRequestHeader(reader);
    if (route.apiVersion >= FIRST_FLEXIBLE_VERSION) reader.compactNullableString();
    else reader.nullableString();
    return reader.int16();
  } catch (error) {
    throw error instanceof ProtocolError ? error.withApi(route.apiKey, route.apiVersion) : error;
  }
}

/** Produce passes through; acks=0 requests get no response from the broker, so none is awaited. */
export function produceHandler(book: AddressBook): ApiHandler {
  return {
    onRequest(frame, route) {
      return readProduceAcks(frame, route) === 0 ? FORWARD_WITHOUT_RESPONSE : FORWARD_WITH_RESPONSE;
    },
    ...nodeEndpointsHandler(book, decodeProduceResponse, encodeProduceResponse, FIRST_VERSION_WITH_NODE_ENDPOINTS),
  };
}
