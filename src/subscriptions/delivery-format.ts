import { isJsonContentType, type CloudEvent } from '../ingest/cloudevents';
import type { DeliveryFormat } from './subscription';

/** A record as kafkajs hands it to a consumer, with the topic and partition it came from. */
export interface DeliveredRecord {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  /** kafkajs IHeaders; a header with a null value arrives as null whatever the type says. */
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export interface OutgoingBody {
  headers: Record<string, string>;
  body: Buffer | null;
}

const STRUCTURED_TYPE = 'application/cloudevents+json';
const OCTET_STREAM = 'application/octet-stream';
/** The lower-case letters and digits the CloudEvents spec requires of every attribute name. */
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;
/** What a Content-Type may be sent as: it cannot be percent-encoded, so anything else is dropped. */
const SAFE_MEDIA_TYPE = /^[\x21-\x7e][\x20-\x7e]*$/;
/** Credentials a caller sent the gateway; the event is stored in Kafka, where they must not end up. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const PERCENT = Array.from({ length: 256 }, (_, b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`);

function isPlainByte(code: number): boolean {
  return code >= 0x21 && code <= 0x7e && code !== 0x22 && code !== 0x25;
}

/**
 * A value made safe for an HTTP header as the CloudEvents HTTP binding (3.1.3.2) asks: space,
 * '"', '%' and everything outside printable ASCII become the percent-encoding of their UTF-8
 * bytes. Bytes are encoded as they are, so a key that is not UTF-8 still decodes to itself.
 */
export function percentEncode(value: string | Buffer): string {
  if (typeof value === 'string') {
    let plain = true;
    for (let i = 0; plain && i < value.length; i++) plain = isPlainByte(value.charCodeAt(i));
    if (plain) return value;
  }
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const code = bytes[i];
    out += isPlainByte(code) ? String.fromCharCode(code) : PERCENT[code];
  }
  return out;
}

function decodeUtf8(bytes: Buffer): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/** A header's value as text; Kafka allows a header to repeat, and the last one wins, as in the Java SDK. */
function headerText(record: DeliveredRecord, name: string): string | undefined {
  const headers = record.headers;
  if (headers === undefined || !Object.hasOwn(headers, name)) return undefined;
  const raw = headers[name];
  const last = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (last === undefined || (last as unknown) === null) return undefined;
  return typeof last === 'string' ? last : last.toString('utf8');
}

function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

function isJsonType(contentType: string | undefined): boolean {
  return contentType !== undefined && isJsonContentType(contentType);
}

/** The text of `bytes` when it is JSON, as written: numbers beyond double precision stay as they are. */
function jsonText(bytes: Buffer): string | null {
  const text = decodeUtf8(bytes);
  if (text === null) return null;
  try {
    JSON.parse(text);
  } catch {
    return null;
  }
  return text.trim();
}

type Reading =
  | { mode: 'binary' }
  | { mode: 'structured'; object: Record<string, unknown>; text: string }
  | { mode: 'none' };

/**
 * How a record carries a CloudEvent, as the Kafka protocol binding tells them apart: the
 * content-type names the structured mode, and a ce_specversion header the binary mode (the test
 * the CloudEvents SDKs use). A structured value that is not a JSON object is not an event.
 */
function readRecord(record: DeliveredRecord): Reading {
  if (mediaType(headerText(record, 'content-type')) === STRUCTURED_TYPE) {
    const text = record.value === null ? null : decodeUtf8(record.value);
    if (text === null) return { mode: 'none' };
    try {
      const object = JSON.parse(text) as unknown;
      if (object !== null && typeof object === 'object' && !Array.isArray(object)) {
        return { mode: 'structured', object: object as Record<string, unknown>, text };
      }
    } catch {
      // Not JSON: not an event either.
    }
    return { mode: 'none' };
  }
  return headerText(record, 'ce_specversion') !== undefined ? { mode: 'binary' } : { mode: 'none' };
}

/** The CloudEvents type of a record, or undefined when it is not a CloudEvent. */
export function recordEventType(record: DeliveredRecord): string | undefined {
  const reading = readRecord(record);
  if (reading.mode === 'binary') return headerText(record, 'ce_type');
  if (reading.mode === 'structured') {
    const type = reading.object.type;
    return typeof type === 'string' ? type : undefined;
  }
  return undefined;
}

/** An event as delivery sees it: every attribute (datacontenttype included) as text, and the data's bytes. */
interface EventView {
  attributes: Map<string, string>;
  data: Buffer | null;
}

function fromBinary(record: DeliveredRecord): EventView {
  const attributes = new Map<string, string>();
  for (const header of Object.keys(record.headers ?? {})) {
    if (!header.startsWith('ce_')) continue;
    const name = header.slice(3);
    // datacontenttype travels as content-type; data is reserved.
    if (!ATTRIBUTE_NAME.test(name) || name === 'datacontenttype' || name === 'data') continue;
    const value = headerText(record, header);
    if (value !== undefined) attributes.set(name, value);
  }
  const contentType = headerText(record, 'content-type');
  if (contentType !== undefined) attributes.set('datacontenttype', contentType);
  return { attributes, data: record.value };
}

function fromStructured(object: Record<string, unknown>, text: string): EventView {
  const attributes = new Map<string, string>();
  for (const [name, value] of Object.entries(object)) {
    if (!ATTRIBUTE_NAME.test(name) || name === 'data') continue;
    // The JSON format reads null as unset; objects and arrays are no attribute type.
    if (typeof value === 'string') attributes.set(name, value);
    else if (typeof value === 'number' || typeof value === 'boolean') attributes.set(name, String(value));
  }
  const contentType = attributes.get('datacontenttype');
  let data: Buffer | null = null;
  if (typeof object.data_base64 === 'string') {
    data = Buffer.from(object.data_base64, 'base64');
    if (contentType === undefined) attributes.set('datacontenttype', OCTET_STREAM);
  } else if (Object.hasOwn(object, 'data')) {
    if (typeof object.data === 'string' && !isJsonContentType(contentType)) {
      data = Buffer.from(object.data, 'utf8');
    } else {
      const span = memberSpan(text, 'data');
      data = Buffer.from(
        span === undefined ? JSON.stringify(object.data) : text.slice(span[0], span[1]),
        'utf8',
      );
      // The JSON format implies JSON data when no type is given; over HTTP it has to be said.
      if (contentType === undefined) attributes.set('datacontenttype', 'application/json');
    }
  }
  return { attributes, data };
}

/** The event the gateway makes up for a record that is not one, so every target sees CloudEvents. */
function madeUp(record: DeliveredRecord): EventView {
  const attributes = new Map<string, string>([
    ['specversion', '1.0'],
    ['id', `${record.topic}-${record.partition}-${record.offset}`],
    ['source', `/topics/${record.topic}`],
    ['type', 'kafka.record'],
  ]);
  const millis = Number(record.timestamp);
  // -1 is Kafka's "no timestamp"; Date cannot show what lies beyond ±8.64e15 ms.
  if (Number.isFinite(millis) && millis >= 0 && millis <= 8.64e15) {
    attributes.set('time', new Date(millis).toISOString());
  }
  let contentType = headerText(record, 'content-type');
  // An HTTP receiver would take such a Content-Type to mean the body is the event itself.
  if (mediaType(contentType).startsWith('application/cloudevents')) contentType = undefined;
  if (contentType === undefined && record.value !== null) {
    contentType = jsonText(record.value) !== null ? 'application/json' : OCTET_STREAM;
  }
  if (contentType !== undefined) attributes.set('datacontenttype', contentType);
  const key = record.key === null ? null : decodeUtf8(record.key);
  if (key !== null) attributes.set('partitionkey', key);
  attributes.set('kafkatopic', record.topic);
  attributes.set('kafkapartition', String(record.partition));
  attributes.set('kafkaoffset', record.offset);
  return { attributes, data: record.value };
}

function eventView(record: DeliveredRecord): EventView {
  const reading = readRecord(record);
  if (reading.mode === 'binary') return fromBinary(record);
  if (reading.mode === 'structured') return fromStructured(reading.object, reading.text);
  return madeUp(record);
}

function safeMediaType(contentType: string | undefined): string | undefined {
  const trimmed = contentType?.trim();
  return trimmed !== undefined && SAFE_MEDIA_TYPE.test(trimmed) ? trimmed : undefined;
}

function binaryBody(view: EventView): OutgoingBody {
  const headers: Record<string, string> = {};
  for (const [name, value] of view.attributes) {
    if (name === 'datacontenttype') {
      // A media type cannot be percent-encoded; one that is not plain ASCII is no media type.
      headers['content-type'] = safeMediaType(value) ?? OCTET_STREAM;
    } else headers[`ce-${name}`] = percentEncode(value);
  }
  return { headers, body: view.data };
}

function structuredData(view: EventView): string | undefined {
  if (view.data === null) return undefined;
  const contentType = view.attributes.get('datacontenttype');
  if (isJsonType(contentType)) {
    const text = jsonText(view.data);
    if (text !== null) return `"data":${text}`;
  }
  if (mediaType(contentType).startsWith('text/')) {
    const text = decodeUtf8(view.data);
    if (text !== null) return `"data":${JSON.stringify(text)}`;
  }
  return `"data_base64":${JSON.stringify(view.data.toString('base64'))}`;
}

function structuredBody(view: EventView): OutgoingBody {
  const members: string[] = [];
  for (const [name, value] of view.attributes)
    members.push(`${JSON.stringify(name)}:${JSON.stringify(value)}`);
  const data = structuredData(view);
  if (data !== undefined) members.push(data);
  return {
    headers: { 'content-type': STRUCTURED_TYPE },
    body: Buffer.from(`{${members.join(',')}}`, 'utf8'),
  };
}

function rawBody(record: DeliveredRecord): OutgoingBody {
  const headers: Record<string, string> = {};
  if (record.value !== null) {
    headers['content-type'] = safeMediaType(headerText(record, 'content-type')) ?? OCTET_STREAM;
  }
  headers['x-kafka-topic'] = percentEncode(record.topic);
  headers['x-kafka-partition'] = String(record.partition);
  headers['x-kafka-offset'] = percentEncode(record.offset);
  if (record.key !== null) headers['x-kafka-key'] = percentEncode(record.key);
  headers['x-kafka-timestamp'] = percentEncode(record.timestamp);
  return { headers, body: record.value };
}

/** The HTTP request body and headers that deliver a record in a subscription's format. */
export function outgoingBody(record: DeliveredRecord, format: DeliveryFormat): OutgoingBody {
  if (format === 'raw') return rawBody(record);
  if (format === 'structured') {
    const reading = readRecord(record);
    // Already an event in the JSON format: sent as written, so nothing in it changes on the way.
    if (reading.mode === 'structured')
      return { headers: { 'content-type': STRUCTURED_TYPE }, body: record.value };
    return structuredBody(reading.mode === 'binary' ? fromBinary(record) : madeUp(record));
  }
  return binaryBody(eventView(record));
}

/** The CloudEvents type of a sync subscription's request; its source is the path called. */
export const HTTP_REQUEST_TYPE = 'http.request';

export interface HttpRequestParts {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | null;
  contentType?: string;
}

/** The event a synchronous call is written to Kafka as: the request, minus the caller's credentials. */
export function httpRequestEvent(request: HttpRequestParts, id: string, source: string): CloudEvent {
  // No prototype: a header may be called __proto__.
  const headers = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !SECRET_HEADERS.has(name.toLowerCase())) headers[name] = value;
  }
  const head = JSON.stringify({ method: request.method, path: request.path, query: request.query, headers });
  let body = '';
  if (request.body !== null && request.body.length > 0) {
    const rawType = request.contentType ?? request.headers['content-type'];
    const contentType = Array.isArray(rawType) ? rawType[0] : rawType;
    const json = isJsonType(contentType) ? jsonText(request.body) : null;
    const text =
      json === null && mediaType(contentType).startsWith('text/') ? decodeUtf8(request.body) : null;
    if (json !== null) body = `,"body":${json}`;
    else if (text !== null) body = `,"body":${JSON.stringify(text)}`;
    else body = `,"bodyBase64":${JSON.stringify(request.body.toString('base64'))}`;
  }
  return {
    specversion: '1.0',
    id,
    source,
    type: HTTP_REQUEST_TYPE,
    datacontenttype: 'application/json',
    time: new Date().toISOString(),
    data: Buffer.from(`${head.slice(0, -1)}${body}}`, 'utf8'),
    extensions: {},
  };
}

// The raw text of one member of a JSON object, so data is passed on as written rather than
// parsed and printed again. The text has been through JSON.parse, so only boundaries matter.

function skipSpace(text: string, i: number): number {
  while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  return i;
}

function skipString(text: string, i: number): number {
  for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
  return i + 1;
}

function skipValue(text: string, i: number): number {
  if (text[i] === '"') return skipString(text, i);
  if (text[i] !== '{' && text[i] !== '[') {
    while (i < text.length && !',]} \t\n\r'.includes(text[i])) i++;
    return i;
  }
  let depth = 0;
  for (; i < text.length; i++) {
    const char = text[i];
    if (char === '"') i = skipString(text, i) - 1;
    else if (char === '{' || char === '[') depth++;
    else if ((char === '}' || char === ']') && --depth === 0) return i + 1;
  }
  return i;
}

/** Where the member `name` of the object `text` holds lies; the last one, as JSON.parse keeps the last. */
function memberSpan(text: string, name: string): [number, number] | undefined {
  let found: [number, number] | undefined;
  let i = skipSpace(text, skipSpace(text, 0) + 1);
  while (i < text.length && text[i] !== '}') {
    const keyEnd = skipString(text, i);
    const raw = text.slice(i + 1, keyEnd - 1);
    const key = raw.includes('\\') ? (JSON.parse(text.slice(i, keyEnd)) as string) : raw;
    const from = skipSpace(text, skipSpace(text, keyEnd) + 1);
    const to = skipValue(text, from);
    if (key === name) found = [from, to];
    i = skipSpace(text, to);
    if (text[i] === ',') i = skipSpace(text, i + 1);
  }
  return found;
}
