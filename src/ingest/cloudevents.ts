import type { IncomingHttpHeaders } from 'node:http';
import { isStrictDateTime } from '../asyncapi/rfc3339';

/**
 * A CloudEvent 1.0 as the HTTP door received it, every attribute held in its canonical string
 * form: that is the form the Kafka binding writes, so nothing is converted twice.
 */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  datacontenttype?: string;
  dataschema?: string;
  subject?: string;
  time?: string;
  /** The data bytes as they will be the record value; absent for an event without data. */
  data?: Buffer;
  /** Every other attribute, as its canonical string form. */
  extensions: Record<string, string>;
}

/** A refusal of one event; `field` names the attribute (or `data`, or `(root)` for the document). */
export class CloudEventError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'CloudEventError';
  }
}

export interface KafkaRecordParts {
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer }[];
}

/** The default for parseBatch's `max`: the configured default of ingest.maxRecordsPerRequest. */
export const DEFAULT_MAX_BATCH_EVENTS = 1000;

const CORE = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
]);
const MAX_NAME_LENGTH = 20;
/** Refusals quote at most this much of a value: a 1 MiB attribute must not come back in the answer. */
const QUOTE_LIMIT = 64;
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

function quote(value: string): string {
  return JSON.stringify(value.length > QUOTE_LIMIT ? `${value.slice(0, QUOTE_LIMIT)}…` : value);
}

function isLowerAlnum(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39);
}

function checkName(name: string): void {
  let ok = name.length >= 1 && name.length <= MAX_NAME_LENGTH;
  for (let i = 0; ok && i < name.length; i++) ok = isLowerAlnum(name.charCodeAt(i));
  if (!ok) {
    throw new CloudEventError(
      name,
      `attribute name ${quote(name)} must be 1 to ${MAX_NAME_LENGTH} lower-case letters or digits`,
    );
  }
  if (name === 'data') throw new CloudEventError(name, "'data' is reserved and cannot be an attribute");
}

/** The CloudEvents String type: no control characters, no noncharacters, no unpaired surrogates. */
function checkString(field: string, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    let problem: string | undefined;
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) problem = 'a control character';
    else if (code >= 0xfdd0 && code <= 0xfdef) problem = 'a Unicode noncharacter';
    else if (code >= 0xd800 && code <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) problem = 'an unpaired surrogate';
      else {
        // A supplementary plane's last two code points are noncharacters too.
        const low = next & 0x3ff;
        if ((code & 0x3f) === 0x3f && low >= 0x3fe) problem = 'a Unicode noncharacter';
        i++;
      }
    } else if (code >= 0xdc00 && code <= 0xdfff) problem = 'an unpaired surrogate';
    else if (code === 0xfffe || code === 0xffff) problem = 'a Unicode noncharacter';
    if (problem !== undefined) {
      throw new CloudEventError(field, `'${field}' contains ${problem} at position ${i}`);
    }
  }
}

function isAlpha(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isHex(code: number): boolean {
  return isDigit(code) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

/** RFC 3986 unreserved, sub-delims, ':' and '@': what a path, query or fragment may hold unescaped. */
const PCHAR_EXTRA = new Set([..."-._~!$&'()*+,;=:@"].map((c) => c.charCodeAt(0)));

/**
 * Whether a string is an RFC 3986 URI-reference (or, with `absolute`, a URI with a scheme). One
 * pass over the characters: the grammar's pieces that matter here are the scheme, the set of
 * characters each part may hold, well-formed percent escapes, brackets only around an authority's
 * IP literal, and a relative reference whose first segment must not hold a colon.
 */
function uriProblem(value: string, absolute: boolean): string | undefined {
  if (value.length === 0) return 'must not be empty';
  let end = 0;
  while (end < value.length && !':/?#'.includes(value[end])) end++;
  let i = 0;
  if (end < value.length && value[end] === ':') {
    if (!isAlpha(value.charCodeAt(0))) return 'has a scheme that does not start with a letter';
    for (let k = 1; k < end; k++) {
      const code = value.charCodeAt(k);
      if (!(isAlpha(code) || isDigit(code) || code === 0x2b || code === 0x2d || code === 0x2e)) {
        return `has an invalid character in its scheme at position ${k}`;
      }
    }
    i = end + 1;
  } else if (absolute) {
    return 'must be an absolute URI (with a scheme)';
  }
  // 'authority' while between '//' and the next '/', '?' or '#'; brackets are allowed only there.
  let part: 'authority' | 'path' | 'query' | 'fragment' = value.startsWith('//', i) ? 'authority' : 'path';
  if (part === 'authority') i += 2;
  for (; i < value.length; i++) {
    const code = value.charCodeAt(i);
    const char = value[i];
    if (char === '%') {
      if (!(isHex(value.charCodeAt(i + 1)) && isHex(value.charCodeAt(i + 2)))) {
        return `has a '%' not followed by two hexadecimal digits at position ${i}`;
      }
      i += 2;
    } else if (char === '#') {
      if (part === 'fragment') return `has a second '#' at position ${i}`;
      part = 'fragment';
    } else if (char === '?') {
      if (part === 'authority' || part === 'path') part = 'query';
    } else if (char === '/') {
      if (part === 'authority') part = 'path';
    } else if (char === '[' || char === ']') {
      if (part !== 'authority') return `has '${char}' outside an IP literal at position ${i}`;
    } else if (!(isAlpha(code) || isDigit(code) || PCHAR_EXTRA.has(code))) {
      return `has a character a URI cannot hold unescaped at position ${i}`;
    }
  }
  return undefined;
}

function checkUri(field: string, value: string, absolute: boolean): void {
  const problem = uriProblem(value, absolute);
  if (problem !== undefined) {
    throw new CloudEventError(field, `'${field}' ${problem}${absolute ? '' : ' (a URI-reference)'}`);
  }
}

/** RFC 7230 tchar: what a media type's type, subtype and parameter names are made of. */
function isTokenChar(code: number): boolean {
  return isAlpha(code) || isDigit(code) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(code));
}

function skipToken(value: string, i: number): number {
  while (i < value.length && isTokenChar(value.charCodeAt(i))) i++;
  return i;
}

function skipSpaces(value: string, i: number): number {
  while (value[i] === ' ' || value[i] === '\t') i++;
  return i;
}

/** RFC 2046 (with RFC 7231's syntax): type "/" subtype *( OWS ";" OWS name "=" (token | quoted) ). */
function isMediaType(value: string): boolean {
  let i = skipToken(value, 0);
  if (i === 0 || value[i] !== '/') return false;
  const subtype = i + 1;
  i = skipToken(value, subtype);
  if (i === subtype) return false;
  for (;;) {
    i = skipSpaces(value, i);
    if (i === value.length) return true;
    if (value[i] !== ';') return false;
    i = skipSpaces(value, i + 1);
    // RFC 7231 allows an empty parameter ("text/plain;"), as browsers send.
    if (i === value.length) return true;
    const name = i;
    i = skipToken(value, i);
    if (i === name || value[i] !== '=') return false;
    i++;
    if (value[i] === '"') {
      for (i++; i < value.length && value[i] !== '"'; i++) if (value[i] === '\\') i++;
      if (i >= value.length) return false;
      i++;
    } else {
      const start = i;
      i = skipToken(value, i);
      if (i === start) return false;
    }
  }
}

/** `*\/json` or `*\/*+json`, parameters aside: the JSON format's test for JSON data. */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const semicolon = contentType.indexOf(';');
  const media = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  const slash = media.indexOf('/');
  if (slash === -1) return false;
  const subtype = media.slice(slash + 1);
  return subtype === 'json' || subtype.endsWith('+json');
}

/** Checks one attribute's canonical string form against the type the spec gives it. */
function checkAttribute(name: string, value: string): void {
  checkString(name, value);
  switch (name) {
    case 'specversion':
      if (value !== '1.0') {
        throw new CloudEventError(
          name,
          `'specversion' must be "1.0" (the version supported), not ${quote(value)}`,
        );
      }
      return;
    case 'id':
    case 'type':
    case 'subject':
      if (value.length === 0) throw new CloudEventError(name, `'${name}' must not be empty`);
      return;
    case 'source':
      checkUri(name, value, false);
      return;
    case 'dataschema':
      // The spec's type for dataschema is URI, which must be absolute.
      checkUri(name, value, true);
      return;
    case 'time':
      if (!isStrictDateTime(value)) {
        throw new CloudEventError(name, `'time' must be an RFC 3339 timestamp, not ${quote(value)}`);
      }
      return;
    case 'datacontenttype':
      if (!isMediaType(value)) {
        throw new CloudEventError(name, `'datacontenttype' must be a media type, not ${quote(value)}`);
      }
      return;
  }
}

/** Builds the event from checked attributes; `time` is filled in when the publisher left it out. */
function assemble(attributes: Map<string, string>, data: Buffer | undefined): CloudEvent {
  for (const required of ['specversion', 'id', 'source', 'type']) {
    if (!attributes.has(required)) throw new CloudEventError(required, `'${required}' is required`);
  }
  const extensions: Record<string, string> = {};
  for (const [name, value] of attributes) if (!CORE.has(name)) extensions[name] = value;
  const optional = (name: string) => attributes.get(name);
  const event: CloudEvent = {
    specversion: '1.0',
    id: attributes.get('id')!,
    source: attributes.get('source')!,
    type: attributes.get('type')!,
    time: optional('time') ?? new Date().toISOString(),
    extensions,
  };
  const datacontenttype = optional('datacontenttype');
  if (datacontenttype !== undefined) event.datacontenttype = datacontenttype;
  const dataschema = optional('dataschema');
  if (dataschema !== undefined) event.dataschema = dataschema;
  const subject = optional('subject');
  if (subject !== undefined) event.subject = subject;
  if (data !== undefined) event.data = data;
  return event;
}

// ---------------------------------------------------------------------------------------------
// HTTP binary content mode

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A ce- header's value as its attribute: a double-quoted value is unquoted first (older senders
 * quoted rather than escaped), then one round of percent-decoding, whose bytes must be UTF-8.
 * Node reads header bytes as Latin-1, so a character up to U+00FF is one byte of the original.
 */
function decodeHeaderValue(field: string, raw: string): string {
  let text = raw.trim();
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    let unquoted = '';
    for (let i = 1; i < text.length - 1; i++) {
      if (text[i] === '\\' && i + 1 < text.length - 1) i++;
      unquoted += text[i];
    }
    text = unquoted;
  }
  const bytes = Buffer.allocUnsafe(text.length);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25) {
      if (!(isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2)))) {
        throw new CloudEventError(field, `'${field}' has a '%' not followed by two hexadecimal digits`);
      }
      bytes[length++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else if (code > 0xff) {
      throw new CloudEventError(field, `'${field}' has a character no HTTP header can carry`);
    } else {
      bytes[length++] = code;
    }
  }
  try {
    return UTF8.decode(bytes.subarray(0, length));
  } catch {
    throw new CloudEventError(field, `'${field}' is not UTF-8 once percent-decoded`);
  }
}

/**
 * HTTP binary content mode: attributes from `ce-*` headers, `datacontenttype` from Content-Type,
 * the body as the data. An empty body is an event without data.
 */
export function parseBinary(headers: IncomingHttpHeaders, body: Buffer): CloudEvent {
  const attributes = new Map<string, string>();
  for (const [header, raw] of Object.entries(headers)) {
    const lower = header.toLowerCase();
    if (!lower.startsWith('ce-') || raw === undefined) continue;
    const name = lower.slice(3);
    checkName(name);
    if (name === 'datacontenttype') {
      throw new CloudEventError(
        name,
        "'datacontenttype' travels as Content-Type; a ce-datacontenttype header is not allowed",
      );
    }
    if (Array.isArray(raw) || attributes.has(name)) {
      throw new CloudEventError(name, `'${name}' appears more than once`);
    }
    const value = decodeHeaderValue(name, raw);
    checkAttribute(name, value);
    attributes.set(name, value);
  }
  const contentType = headers['content-type'];
  if (typeof contentType === 'string' && contentType.trim() !== '') {
    const value = contentType.trim();
    checkAttribute('datacontenttype', value);
    attributes.set('datacontenttype', value);
  }
  return assemble(attributes, body.length === 0 ? undefined : body);
}

// ---------------------------------------------------------------------------------------------
// JSON format (structured and batched modes)

/**
 * Where each member of the JSON object at `start` lies in `text`. The text has already been parsed
 * by JSON.parse, so this walk only needs to find boundaries: strings are skipped by their escapes,
 * containers by counting brackets outside strings. Every character is visited once.
 */
function scanMembers(text: string, start: number): { key: string; from: number; to: number }[] {
  const members: { key: string; from: number; to: number }[] = [];
  let i = skipJsonSpace(text, start + 1);
  if (text[i] === '}') return members;
  for (;;) {
    const keyEnd = skipJsonString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipJsonSpace(text, keyEnd) + 1; // past ':'
    const from = skipJsonSpace(text, i);
    const to = skipJsonValue(text, from);
    members.push({ key, from, to });
    i = skipJsonSpace(text, to);
    if (text[i] === '}') return members;
    i = skipJsonSpace(text, i + 1); // past ','
  }
}

/** Where each element of the JSON array at `start` lies in `text` (already valid JSON). */
function scanElements(text: string, start: number): number[] {
  const starts: number[] = [];
  let i = skipJsonSpace(text, start + 1);
  if (text[i] === ']') return starts;
  for (;;) {
    starts.push(i);
    i = skipJsonSpace(text, skipJsonValue(text, i));
    if (text[i] === ']') return starts;
    i = skipJsonSpace(text, i + 1);
  }
}

function skipJsonSpace(text: string, i: number): number {
  while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  return i;
}

function skipJsonString(text: string, i: number): number {
  for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
  return i + 1;
}

function skipJsonValue(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return skipJsonString(text, i);
  if (first !== '{' && first !== '[') {
    while (i < text.length && !',]} \t\n\r'.includes(text[i])) i++;
    return i;
  }
  let depth = 0;
  for (; i < text.length; i++) {
    const char = text[i];
    if (char === '"') i = skipJsonString(text, i) - 1;
    else if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') {
      if (--depth === 0) return i + 1;
    }
  }
  return i;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CloudEventError('(root)', `the body is not valid JSON: ${(error as Error).message}`);
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** RFC 4648 base64, padded or not; Buffer.from alone would skip what is not base64. */
function decodeBase64(value: string): Buffer {
  let end = value.length;
  if (end > 0 && value[end - 1] === '=') end--;
  if (end > 0 && value[end - 1] === '=') end--;
  let ok = end % 4 !== 1 && (end === value.length || value.length % 4 === 0);
  for (let i = 0; ok && i < end; i++) {
    const code = value.charCodeAt(i);
    ok = isAlpha(code) || isDigit(code) || code === 0x2b || code === 0x2f;
  }
  if (!ok) throw new CloudEventError('data_base64', "'data_base64' is not base64 (RFC 4648)");
  return Buffer.from(value, 'base64');
}

/** One event of the JSON format, from its parsed object and where its members lie in `text`. */
function structuredEvent(object: unknown, text: string, start: number): CloudEvent {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) {
    throw new CloudEventError('(root)', `an event must be a JSON object, not ${typeName(object)}`);
  }
  const members = scanMembers(text, start);
  const seen = new Set<string>();
  let dataText: string | undefined;
  for (const { key, from, to } of members) {
    if (seen.has(key)) throw new CloudEventError(key, `${quote(key)} appears more than once`);
    seen.add(key);
    if (key === 'data') dataText = text.slice(from, to);
  }
  const record = object as Record<string, unknown>;
  const attributes = new Map<string, string>();
  for (const name of Object.keys(record)) {
    if (name === 'data' || name === 'data_base64') continue;
    const value = record[name];
    checkName(name);
    // The JSON format reads null as unset.
    if (value === null) continue;
    let canonical: string;
    if (typeof value === 'string') canonical = value;
    else if (CORE.has(name)) {
      throw new CloudEventError(name, `'${name}' must be a string, not ${typeName(value)}`);
    } else if (typeof value === 'boolean') canonical = value ? 'true' : 'false';
    else if (typeof value === 'number') {
      if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
        throw new CloudEventError(name, `'${name}' must be an integer within 32 bits when it is a number`);
      }
      canonical = String(value);
    } else {
      throw new CloudEventError(
        name,
        `'${name}' must be a string, a number or a boolean, not ${typeName(value)}`,
      );
    }
    checkAttribute(name, canonical);
    attributes.set(name, canonical);
  }
  const base64 = record.data_base64;
  let data: Buffer | undefined;
  if (base64 !== undefined && base64 !== null) {
    if (seen.has('data'))
      throw new CloudEventError('data_base64', "'data' and 'data_base64' cannot both be present");
    if (typeof base64 !== 'string') {
      throw new CloudEventError('data_base64', `'data_base64' must be a string, not ${typeName(base64)}`);
    }
    data = decodeBase64(base64);
  } else if (dataText !== undefined) {
    const contentType = attributes.get('datacontenttype');
    if (isJsonContentType(contentType)) {
      // The text as sent, not re-serialised: numbers beyond double precision stay as written.
      data = Buffer.from(dataText, 'utf8');
      // The JSON format implies application/json; the Kafka binding has to say it.
      if (contentType === undefined) attributes.set('datacontenttype', 'application/json');
    } else if (typeof record.data === 'string') {
      data = Buffer.from(record.data, 'utf8');
    } else {
      throw new CloudEventError(
        'data',
        `'data' must be a string when datacontenttype (${quote(contentType!)}) is not JSON; use data_base64 for bytes`,
      );
    }
  }
  return assemble(attributes, data);
}

/** Structured content mode (`application/cloudevents+json`): one event in the JSON format. */
export function parseStructured(text: string): CloudEvent {
  const parsed = parseJson(text);
  return structuredEvent(parsed, text, skipJsonSpace(text, 0));
}

/**
 * Batched content mode (`application/cloudevents-batch+json`): a JSON array of events. Each entry
 * is parsed on its own, so one bad event is reported alongside the others; a body that is not an
 * array, or holds more than `max` entries, is refused whole.
 */
export function parseBatch(text: string, max = DEFAULT_MAX_BATCH_EVENTS): (CloudEvent | CloudEventError)[] {
  const parsed = parseJson(text);
  if (!Array.isArray(parsed)) {
    throw new CloudEventError('(root)', `a batch must be a JSON array, not ${typeName(parsed)}`);
  }
  if (parsed.length > max) {
    throw new CloudEventError('(root)', `a batch may hold at most ${max} events, not ${parsed.length}`);
  }
  const starts = scanElements(text, skipJsonSpace(text, 0));
  return parsed.map((entry: unknown, index) => {
    try {
      return structuredEvent(entry, text, starts[index]);
    } catch (error) {
      if (error instanceof CloudEventError) return error;
      throw error;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Kafka protocol binding, binary content mode

/**
 * The record for an event: attributes as `ce_` headers, datacontenttype as `content-type`, data as
 * the value (no data: no value). The key comes from the `partitionkey` extension; the binding says
 * a key mapper must not change the event, so partitionkey is still sent as `ce_partitionkey`.
 */
export function toKafkaRecord(event: CloudEvent): KafkaRecordParts {
  const headers: { key: string; value: Buffer }[] = [];
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined) headers.push({ key: `ce_${name}`, value: Buffer.from(value, 'utf8') });
  };
  add('specversion', event.specversion);
  add('id', event.id);
  add('source', event.source);
  add('type', event.type);
  add('subject', event.subject);
  add('time', event.time);
  add('dataschema', event.dataschema);
  for (const [name, value] of Object.entries(event.extensions)) add(name, value);
  if (event.datacontenttype !== undefined) {
    headers.push({ key: 'content-type', value: Buffer.from(event.datacontenttype, 'utf8') });
  }
  const partitionKey = Object.hasOwn(event.extensions, 'partitionkey')
    ? event.extensions.partitionkey
    : undefined;
  return {
    key: partitionKey === undefined ? null : Buffer.from(partitionKey, 'utf8'),
    value: event.data ?? null,
    headers,
  };
}
