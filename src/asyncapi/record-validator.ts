import type { ChannelContract, HeaderReading, KeyReading, MessageContract } from './channel-contract';
import { readJson, readUtf8, type JsonReading } from '../patterns/record-json';
import type { BinaryContract } from '../serdes/binary-codec';
import { Frame } from '../serdes/schema-framing';
import type { SchemaIdJudge } from '../serdes/schema-id-judge';
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

/** One frame, reused: checks run one at a time on the thread. */
const frame = new Frame();

/**
 * Checks Avro or Protobuf bytes: their frame (the schema id, if the contract's framing has one),
 * the id against the registry when there is one, then the bytes by decoding them.
 */
function binaryError(
  part: 'value' | 'key',
  contract: BinaryContract,
  bytes: Buffer | null,
  record: ValidatedRecord,
  ids: SchemaIdJudge | undefined,
): string | null {
  const prefix = part === 'value' ? '(root)' : 'key';
  if (bytes === null) return `${prefix}: is null, the contract's schema needs bytes`;
  const problem = frame.read(contract.framing, bytes, record.headers, part);
  if (problem !== null) return `${prefix}: ${problem}`;
  let schema = contract.schema;
  if (frame.id >= 0 && ids !== undefined) {
    const kind = contract.framing.location === 'header' ? frame.idKind : contract.framing.idKind;
    const verdict = ids.judge(frame.id, kind, schema);
    // Not known yet: the caller awaits the lookup and checks the record again.
    if (verdict === undefined) return `${prefix}: schema id ${frame.id} is being looked up`;
    if ('error' in verdict) return `${prefix}: ${verdict.error}`;
    schema = verdict.schema;
  }
  const reason = schema.check(
    bytes,
    frame.start,
    bytes.length,
    contract.framing.messageIndexes ? frame.indexes : null,
  );
  return reason === null ? null : `${prefix}: ${reason}`;
}

function messageErrors(
  message: MessageContract,
  value: unknown,
  record: ValidatedRecord,
  ids: SchemaIdJudge | undefined,
): string[] {
  const errors: string[] = [];
  if (message.binaryValue !== undefined) {
    const error = binaryError('value', message.binaryValue, record.value, record, ids);
    if (error !== null) errors.push(error);
  } else if (message.value !== null && !message.value(value)) {
    errors.push(...describeSchemaErrors(message.value.errors ?? [], '', value));
  }
  if (message.binaryKey !== undefined) {
    const error = binaryError('key', message.binaryKey, record.key, record, ids);
    if (error !== null) errors.push(error);
  } else if (message.key !== null) {
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
export function validateRecord(
  contract: ChannelContract,
  record: ValidatedRecord,
  ids?: SchemaIdJudge,
): string[] | null {
  if (contract.messages.length === 0) return null;
  const needsValue = contract.messages.some((m) => m.value !== null);
  const value = needsValue
    ? (record.json?.() ?? readJson(record.value, 'value'))
    : ({ ok: true, data: null } as JsonReading);
  if (!value.ok) return [`(root): ${value.reason}`];
  if (contract.messages.length === 1) {
    const errors = messageErrors(contract.messages[0], value.data, record, ids);
    return errors.length === 0 ? null : errors;
  }
  const all: string[] = [];
  for (const message of contract.messages) {
    const errors = messageErrors(message, value.data, record, ids);
    if (errors.length === 0) return null;
    for (const error of errors) all.push(`${message.name}: ${error}`);
  }
  return all;
}
