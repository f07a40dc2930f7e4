import { ProtocolError, Reader, Writer, type RawTaggedField } from '../../protocol/primitives';
import { withApi } from '../../protocol/messages/runtime';
import { TaggedTailScanner, type Layout } from '../../protocol/tagged-tail';
import type { ApiHandler, ResponseWatch } from '../api-handler';
import type { BrokerEndpoint } from '../broker-directory';
import { afterRegistering, rewriteAddresses, type AddressBook, type AddressField } from './address-book';
import { decodeResponse, encodeResponse, type BodyDecoder, type BodyEncoder } from './response-codec';

interface WithNodeEndpoints {
  nodeEndpoints: (AddressField & { nodeId: number; unknownTaggedFields: RawTaggedField[] })[];
}

/** The tag of NodeEndpoints among a Produce or Fetch response's own tagged fields. */
const NODE_ENDPOINTS_TAG = 0;
/** An empty tagged-field section: the tail of nearly every response. */
const NO_TAGS = 0;

interface NodeEndpoint extends AddressField {
  nodeId: number;
  rack: string | null;
  unknownTaggedFields: RawTaggedField[];
}

function readNodeEndpoints(data: Buffer): NodeEndpoint[] {
  const reader = new Reader(data);
  const count = reader.compactArrayLength(11);
  if (count < 0) reader.fail('node endpoints must not be null');
  const endpoints: NodeEndpoint[] = [];
  for (let i = 0; i < count; i++) {
    endpoints.push({
      nodeId: reader.int32(),
      host: reader.compactString(),
      port: reader.int32(),
      rack: reader.compactNullableString(),
      unknownTaggedFields: reader.taggedFields(),
    });
  }
  if (reader.remaining() !== 0) reader.fail(`${reader.remaining()} trailing bytes after the node endpoints`);
  return endpoints;
}

function writeNodeEndpoints(endpoints: readonly NodeEndpoint[]): Buffer {
  const writer = new Writer(64 * endpoints.length + 8);
  writer.compactArrayLength(endpoints.length);
  for (const endpoint of endpoints) {
    writer
      .int32(endpoint.nodeId)
      .compactString(endpoint.host)
      .int32(endpoint.port)
      .compactNullableString(endpoint.rack)
      .taggedFields(endpoint.unknownTaggedFields);
  }
  return writer.result();
}

interface RewrittenTail {
  fields: RawTaggedField[];
  /** The brokers the endpoints named, as the broker gave them. */
  endpoints: BrokerEndpoint[];
}

/**
 * Reads a response's own tagged fields and points the node endpoints among them at the gateway.
 * Undefined when there are none (the tail then passes as it came).
 */
function rewriteTail(tail: Buffer, book: AddressBook): RewrittenTail | undefined {
  if (tail.length === 1 && tail[0] === NO_TAGS) return undefined;
  const reader = new Reader(tail);
  const fields = reader.taggedFields();
  if (reader.remaining() !== 0) reader.fail(`${reader.remaining()} trailing bytes after the response`);
  const index = fields.findIndex((field) => field.tag === NODE_ENDPOINTS_TAG);
  if (index < 0) return undefined;
  const nodeEndpoints = readNodeEndpoints(fields[index].data);
  const endpoints = rewriteAddresses(book, nodeEndpoints, (endpoint) => endpoint.nodeId);
  const rewritten = [...fields];
  rewritten[index] = { tag: NODE_ENDPOINTS_TAG, data: writeNodeEndpoints(nodeEndpoints) };
  return { fields: rewritten, endpoints };
}

function encodeTags(fields: readonly RawTaggedField[]): Buffer {
  return new Writer(16 + fields.reduce((sum, field) => sum + field.data.length + 10, 0))
    .taggedFields(fields)
    .result();
}

/**
 * Encodes tagged fields into exactly `length` bytes by appending fields no client of these
 * versions knows (tags after NodeEndpoints are undefined up to the versions the gateway lets
 * clients use), filled with zeros. Null when they do not fit, or when the gap is a single byte,
 * which no tagged field can fill.
 */
export function encodeTagsPadded(fields: readonly RawTaggedField[], length: number): Buffer | null {
  const plain = encodeTags(fields);
  if (plain.length === length) return plain;
  const gap = length - plain.length;
  if (gap < 2) return null;
  const firstTag = fields.length === 0 ? NODE_ENDPOINTS_TAG + 1 : fields[fields.length - 1].tag + 1;
  // A filler's size varint grows a byte at 128, 16384, ...: some gaps need an empty field first.
  for (const empties of [0, 1]) {
    const padding = Array.from({ length: empties }, (_, i) => ({ tag: firstTag + i, data: Buffer.alloc(0) }));
    for (let size = gap - 2; size >= 0 && size >= gap - 12; size--) {
      const padded = encodeTags([
        ...fields,
        ...padding,
        { tag: firstTag + empties, data: Buffer.alloc(size) },
      ]);
      if (padded.length === length) return padded;
    }
  }
  return null;
}

/**
 * Produce (v10+) and Fetch (v16+) responses name the new leader's address (KIP-951) in their own
 * tagged fields, after everything else. The gateway finds that tail by walking the response's
 * layout without decoding it, so the usual response (no endpoints) leaves as the bytes that came,
 * and a large Fetch response streams to the client as it arrives: only its tail is held back and,
 * when it carries endpoints, rewritten in place (padded to its original length, because the
 * response's size went out with its first bytes).
 */
export function tailEndpointsHandler(
  book: AddressBook,
  layoutFor: (version: number) => Layout | undefined,
  minVersionWithEndpoints: number,
): Pick<ApiHandler, 'onResponse' | 'passesUntouched' | 'watchResponse'> {
  return {
    passesUntouched: (route) => route.apiVersion < minVersionWithEndpoints,
    onResponse(frame, route) {
      const layout = layoutFor(route.apiVersion);
      if (layout === undefined) return frame;
      try {
        const tailAt = TaggedTailScanner.find(frame, layout);
        const rewritten = rewriteTail(frame.subarray(tailAt), book);
        if (rewritten === undefined) return frame;
        const payload = Buffer.concat([frame.subarray(0, tailAt), encodeTags(rewritten.fields)]);
        return afterRegistering(book, rewritten.endpoints, payload);
      } catch (error) {
        throw withApi(error, route.apiKey, route.apiVersion);
      }
    },
    watchResponse(route): ResponseWatch | undefined {
      const layout = layoutFor(route.apiVersion);
      if (layout === undefined) return undefined;
      const scanner = new TaggedTailScanner(layout);
      return {
        take: (bytes) => {
          try {
            return scanner.push(bytes);
          } catch (error) {
            throw withApi(error, route.apiKey, route.apiVersion);
          }
        },
        finish(tail) {
          try {
            if (!scanner.reachedTail) throw new ProtocolError('response ends before its tagged fields', 0);
            const rewritten = rewriteTail(tail, book);
            if (rewritten === undefined) return tail;
            const padded = encodeTagsPadded(rewritten.fields, tail.length);
            return padded === null ? null : afterRegistering(book, rewritten.endpoints, padded);
          } catch (error) {
            throw withApi(error, route.apiKey, route.apiVersion);
          }
        },
      };
    },
  };
}

/**
 * ShareFetch and ShareAcknowledge responses carry node endpoints as an ordinary field. Only the
 * responses that name some are re-encoded; the others leave as the bytes that came.
 */
export function nodeEndpointsHandler<T extends WithNodeEndpoints>(
  book: AddressBook,
  decode: BodyDecoder<T>,
  encode: BodyEncoder<T>,
): Pick<ApiHandler, 'onResponse'> {
  return {
    onResponse(frame, route) {
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
