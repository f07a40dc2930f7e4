import type { ChannelContract, HeaderReading, KeyReading, MessageContract } from './channel-contract';
import { readJson, readUtf8, type JsonReading } from '../patterns/record-json';
import { describeSchemaErrors } from './describe-schema-errors';

/**
 * The header a record that breaks its contract is tagged with when it is forwarded anyway: it is part
 * of the contract's outcome, read back by whoever consumes the topic (the tap, the HTTP door), not
 * a detail of the middleware that happens to write it.
 */
export const VALIDATION_ERROR_HEADER = '_asyncapi_eg_validation_error';

/** The parts of a record a contract speaks about. */
export interface ValidatedRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: readonly { key: string; value: Buffer | null }[];
  /** The value already read as JSON (the pipeline's reading, shared with other middlewares). */
  json?(): JsonReading;
}

/** Text that reads as the type a schema asks for; otherwise the text itself, so the schema reports the mismatch. */
function readTyped(text: string, reading: HeaderReading | KeyReading): unknown {
  switch (reading) {
    case 'number':
    case 'integer': {
      const trimmed = text.trim();
      const number = trimmed === '' ? NaN : Number(trimmed);
      return Number.isFinite(number) ? number : text;
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    default:
      return text;
  }
}

function readKey(key: Buffer | null, reading: KeyReading): JsonReading {
  if (key === null) return { ok: true, data: null };
  if (reading === 'json') return readJson(key, 'key');
  const text = readUtf8(key);
  if (text === null) return { ok: false, reason: 'key is not valid UTF-8 text' };
  return { ok: true, data: readTyped(text, reading) };
}

function readHeaders(
  record: ValidatedRecord,
  readings: ReadonlyMap<string, HeaderReading>,
): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  for (const header of record.headers) {
    // The first occurrence of a repeated header is the one validated, as most consumers read it.
    if (Object.prototype.hasOwnProperty.call(headers, header.key)) continue;
    if (header.value === null) {
      headers[header.key] = null;
      continue;
    }
    const text = header.value.toString('utf8');
    const reading = readings.get(header.key);
    headers[header.key] = reading === undefined ? text : readTyped(text, reading);
  }
  return headers;
}

function messageErrors(message: MessageContract, value: unknown, record: ValidatedRecord): string[] {
  const errors: string[] = [];
  if (message.value !== null && !message.value(value)) {
    errors.push(...describeSchemaErrors(message.value.errors ?? [], '', value));
  }
  if (message.key !== null) {
    const key = readKey(record.key, message.keyReading);
    if (!key.ok) errors.push(`key: ${key.reason}`);
    else if (!message.key(key.data))
      errors.push(...describeSchemaErrors(message.key.errors ?? [], 'key', key.data));
  }
  if (message.headers !== null) {
    const headers = readHeaders(record, message.headerReadings);
    if (!message.headers(headers))
      errors.push(...describeSchemaErrors(message.headers.errors ?? [], 'headers', headers));
  }
  return errors;
}

/**
 * Checks a record against a channel: valid when it matches one of the channel's messages. Returns
 * null when valid, else the reasons, as "<path>: <reason>" lines (prefixed by the message name
 * when the channel has several, so the producer sees why each one did not match).
 */
export function validateRecord(contract: ChannelContract, record: ValidatedRecord): string[] | null {
  if (contract.messages.length === 0) return null;
  const needsValue = contract.messages.some((m) => m.value !== null);
  const value = needsValue
    ? (record.json?.() ?? readJson(record.value, 'value'))
    : ({ ok: true, data: null } as JsonReading);
  if (!value.ok) return [`(root): ${value.reason}`];
  if (contract.messages.length === 1) {
    const errors = messageErrors(contract.messages[0], value.data, record);
    return errors.length === 0 ? null : errors;
  }
  const all: string[] = [];
  for (const message of contract.messages) {
    const errors = messageErrors(message, value.data, record);
    if (errors.length === 0) return null;
    for (const error of errors) all.push(`${message.name}: ${error}`);
  }
  return all;
}
