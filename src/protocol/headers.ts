/**
 * Request and response headers. Their layout depends on the api key and version of the request
 * (flexible versions add a tagged-field section), so every function here takes those and derives
 * the header version from the generated api-key table.
 *
 * Frames the table does not describe must still be routable: the proxy forwards them untouched and
 * mostly needs the api key, api version and correlation id, which sit at fixed offsets in every
 * header version. For those frames the header version is inferred, never refused:
 *  - a known api key at a version outside its range is flexible iff version >= its first flexible
 *    version. Above the range this is right because Kafka never makes a flexible API rigid again;
 *    below it (versions Kafka has removed) because flexibility only ever came with newer versions.
 *    APIs Kafka removed altogether keep the flexible-from they last had, recorded in the table.
 *  - an unknown api key is taken as flexible: every API added since Kafka 2.4 (KIP-482) has been
 *    flexible from its first version, so any key newer than our table is.
 * Only what is not a Kafka header at all (negative api key or version, too few bytes) raises a
 * ProtocolError.
 */
import { ProtocolError, type RawTaggedField, type Reader, type Writer } from './primitives';
import { apiKeyInfo, requestHeaderVersion, responseHeaderVersion } from './messages/generated/api-keys';
import { decodeRequestHeaderData, encodeRequestHeaderData } from './messages/generated/request-header';
import { decodeResponseHeaderData, encodeResponseHeaderData } from './messages/generated/response-header';
import { NO_TAGGED_FIELDS } from './messages/runtime';

/** The fixed-position fields of a request header: enough to route or forward a frame. */
export interface RequestRoute {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
}

export interface RequestHeader extends RequestRoute {
  /** Null when the client sent none; empty for header v0, which has no client id. */
  clientId: string | null;
  headerVersion: number;
  unknownTaggedFields: RawTaggedField[];
  /** Offset in the decoded buffer at which the request body starts. */
  bodyOffset: number;
}

export interface ResponseHeader {
  correlationId: number;
  headerVersion: number;
  unknownTaggedFields: RawTaggedField[];
  /** Offset in the decoded buffer at which the response body starts. */
  bodyOffset: number;
}

const ROUTE_BYTES = 8;

function isFlexible(apiKey: number, apiVersion: number): boolean {
  const info = apiKeyInfo(apiKey);
  if (info === undefined) return true;
  return info.flexibleFrom !== null && apiVersion >= info.flexibleFrom;
}

/** Request header version for any api key and version, inferred for unknown ones (see above). */
export function requestHeaderVersionFor(apiKey: number, apiVersion: number): number {
  return requestHeaderVersion(apiKey, apiVersion) ?? (isFlexible(apiKey, apiVersion) ? 2 : 1);
}

/** Response header version for any api key and version, inferred for unknown ones (see above). */
export function responseHeaderVersionFor(apiKey: number, apiVersion: number): number {
  return responseHeaderVersion(apiKey, apiVersion) ?? (isFlexible(apiKey, apiVersion) ? 1 : 0);
}

/**
 * Reads api key, api version and correlation id of a request without decoding anything else.
 * `offset` is where the header starts (just past the frame's size prefix). The values are returned
 * as they are; decodeRequestHeader is the one that validates them.
 */
export function peekRequestRoute(buffer: Buffer, offset = 0): RequestRoute {
  if (offset < 0 || buffer.length - offset < ROUTE_BYTES) {
    throw new ProtocolError(
      `request header needs ${ROUTE_BYTES} bytes, frame has ${buffer.length - offset}`,
      offset,
    );
  }
  return {
    apiKey: buffer.readInt16BE(offset),
    apiVersion: buffer.readInt16BE(offset + 2),
    correlationId: buffer.readInt32BE(offset + 4),
  };
}

/** The header version of a request whose key and version were read at `start`, refusing negatives. */
function checkedHeaderVersion(start: number, apiKey: number, apiVersion: number): number {
  if (apiKey < 0) throw new ProtocolError(`invalid api key ${apiKey}`, start);
  if (apiVersion < 0) throw new ProtocolError(`invalid api version ${apiVersion}`, start + 2);
  return requestHeaderVersionFor(apiKey, apiVersion);
}

/** Decodes a request header at the reader's position and leaves the reader at the body. */
export function decodeRequestHeader(reader: Reader): RequestHeader {
  const { apiKey, apiVersion } = peekRequestRoute(reader.buffer, reader.offset);
  const headerVersion = checkedHeaderVersion(reader.offset, apiKey, apiVersion);
  const data = decodeRequestHeaderData(reader, headerVersion);
  return {
    apiKey,
    apiVersion,
    correlationId: data.correlationId,
    clientId: data.clientId,
    headerVersion,
    unknownTaggedFields: data.unknownTaggedFields,
    bodyOffset: reader.offset,
  };
}

/**
 * Moves the reader past a request header without building anything from it (no client id string):
 * for code that reads a field or two of a request's body on every request.
 */
export function skipRequestHeader(reader: Reader): void {
  const { apiKey, apiVersion } = peekRequestRoute(reader.buffer, reader.offset);
  const headerVersion = checkedHeaderVersion(reader.offset, apiKey, apiVersion);
  reader.skip(ROUTE_BYTES);
  if (headerVersion < 1) return; // v0 (ControlledShutdown v0): no client id
  // client_id: a NULLABLE_STRING with an int16 length in every later header version, flexible ones too.
  const clientIdLength = reader.int16();
  if (clientIdLength < -1) reader.fail(`invalid client id length ${clientIdLength}`, reader.offset - 2);
  if (clientIdLength > 0) reader.skip(clientIdLength);
  if (headerVersion >= 2) reader.skipTaggedFields();
}

export interface RequestHeaderInput extends RequestRoute {
  clientId: string | null;
  unknownTaggedFields?: RawTaggedField[];
  /** Derived from api key and version when absent. */
  headerVersion?: number;
}

export function encodeRequestHeader(writer: Writer, header: RequestHeaderInput): void {
  const headerVersion = header.headerVersion ?? requestHeaderVersionFor(header.apiKey, header.apiVersion);
  encodeRequestHeaderData(
    writer,
    {
      requestApiKey: header.apiKey,
      requestApiVersion: header.apiVersion,
      correlationId: header.correlationId,
      clientId: header.clientId,
      unknownTaggedFields: header.unknownTaggedFields ?? NO_TAGGED_FIELDS,
    },
    headerVersion,
  );
}

/**
 * Decodes the header of a response to a request with the given api key and version (responses do
 * not repeat them) and leaves the reader at the body.
 */
export function decodeResponseHeader(reader: Reader, apiKey: number, apiVersion: number): ResponseHeader {
  const headerVersion = responseHeaderVersionFor(apiKey, apiVersion);
  const data = decodeResponseHeaderData(reader, headerVersion);
  return {
    correlationId: data.correlationId,
    headerVersion,
    unknownTaggedFields: data.unknownTaggedFields,
    bodyOffset: reader.offset,
  };
}

export interface ResponseHeaderInput {
  correlationId: number;
  unknownTaggedFields?: RawTaggedField[];
}

export function encodeResponseHeader(
  writer: Writer,
  header: ResponseHeaderInput,
  apiKey: number,
  apiVersion: number,
): void {
  encodeResponseHeaderData(
    writer,
    {
      correlationId: header.correlationId,
      unknownTaggedFields: header.unknownTaggedFields ?? NO_TAGGED_FIELDS,
    },
    responseHeaderVersionFor(apiKey, apiVersion),
  );
}
