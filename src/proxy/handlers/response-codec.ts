import { decodeResponseHeader, encodeResponseHeader, type ResponseHeader } from '../../protocol/headers';
import { ProtocolError, Reader, Writer } from '../../protocol/primitives';
import type { RequestRoute } from '../api-handler';
import { withApi } from '../../protocol/messages/runtime';

export type BodyDecoder<T> = (reader: Reader, version: number) => T;
export type BodyEncoder<T> = (writer: Writer, message: T, version: number) => void;

export interface DecodedResponse<T> {
  header: ResponseHeader;
  body: T;
}

/** Decodes a whole response payload; trailing bytes mean we misread it, so they are an error. */
export function decodeResponse<T>(
  frame: Buffer,
  route: RequestRoute,
  decode: BodyDecoder<T>,
): DecodedResponse<T> {
  try {
    const reader = new Reader(frame);
    const header = decodeResponseHeader(reader, route.apiKey, route.apiVersion);
    const body = decode(reader, route.apiVersion);
    if (reader.remaining() !== 0)
      throw new ProtocolError(`${reader.remaining()} trailing bytes after the response`, reader.offset);
    return { header, body };
  } catch (error) {
    throw withApi(error, route.apiKey, route.apiVersion);
  }
}

/** Encodes a response payload (header and body) for the version the client asked for. */
export function encodeResponse<T>(
  route: RequestRoute,
  header: { correlationId: number; unknownTaggedFields?: ResponseHeader['unknownTaggedFields'] },
  body: T,
  encode: BodyEncoder<T>,
  sizeHint = 256,
): Buffer {
  const writer = new Writer(sizeHint);
  encodeResponseHeader(writer, header, route.apiKey, route.apiVersion);
  encode(writer, body, route.apiVersion);
  return writer.result();
}
