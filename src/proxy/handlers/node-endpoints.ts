import type { RawTaggedField } from '../../protocol/primitives';
import type { ApiHandler } from '../api-handler';
import { afterRegistering, rewriteAddresses, type AddressBook, type AddressField } from './address-book';
import { decodeResponse, encodeResponse, type BodyDecoder, type BodyEncoder } from './response-codec';

interface WithNodeEndpoints {
  nodeEndpoints: (AddressField & { nodeId: number; unknownTaggedFields: RawTaggedField[] })[];
}

/**
 * Produce, Fetch, ShareFetch and ShareAcknowledge responses name the new leader's address
 * (KIP-951) when leadership moved. Only those responses are re-encoded: the usual response has no
 * endpoints and leaves as the bytes that came, so record data is never copied for nothing.
 */
export function nodeEndpointsHandler<T extends WithNodeEndpoints>(
  book: AddressBook,
  decode: BodyDecoder<T>,
  encode: BodyEncoder<T>,
  minVersionWithEndpoints: number,
): Pick<ApiHandler, 'onResponse' | 'passesUntouched'> {
  return {
    passesUntouched: (route) => route.apiVersion < minVersionWithEndpoints,
    onResponse(frame, route) {
      if (route.apiVersion < minVersionWithEndpoints) return frame;
      const { header, body } = decodeResponse(frame, route, decode);
      if (body.nodeEndpoints.length === 0) return frame;
      const endpoints = rewriteAddresses(book, body.nodeEndpoints, (endpoint) => endpoint.nodeId);
      return afterRegistering(
        book,
        endpoints,
        encodeResponse(route, header, body, encode, frame.length + 64),
      );
    },
  };
}
