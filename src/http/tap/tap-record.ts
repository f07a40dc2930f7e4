import { readUtf8 } from '../../patterns/record-json';
import { VALIDATION_ERROR_HEADER, type ValidatedRecord } from '../../asyncapi/record-validator';
import type { DecodedValue } from '../../asyncapi/binary-view';
import type { ConsumedMessage } from '../../tap/consumed-message';

/** One record as the tap sends it to WebSocket clients: a JSON frame per record. */
export interface TapRecord {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: string | null;
  keyEncoding?: 'base64';
  headers: Record<string, string | null>;
  value: string | null;
  /** Present when the value was not valid UTF-8 and is sent as base64. */
  valueEncoding?: 'base64';
  /** Present when the channel's values are Avro or Protobuf: `value` is then the decoded value as JSON text. */
  valueFormat?: 'avro' | 'protobuf';
  /** The schema id the record's value carried (Avro or Protobuf framed with an id). */
  schemaId?: number;
  /**
   * The parsed validation error header, when the record carries one; for a record of a channel in
   * observe mode (written without the header), what its contract finds wrong with it now.
   */
  validationError?: { ts: string; errors: string[] } | { raw: string } | { observed: true; errors: string[] };
}

/** What the contract in force finds wrong with a record of a channel in observe mode; null: nothing, or not observed. */
export type ObservedErrors = (topic: string, record: ValidatedRecord) => readonly string[] | null;

export function headerList(headers: ConsumedMessage['headers']): { key: string; value: Buffer | null }[] {
  const list: { key: string; value: Buffer | null }[] = [];
  for (const [key, raw] of Object.entries(headers ?? {})) {
    for (const one of Array.isArray(raw) ? raw : [raw]) {
      list.push({ key, value: one === undefined ? null : Buffer.isBuffer(one) ? one : Buffer.from(one) });
    }
  }
  return list;
}

function text(bytes: Buffer | null): { text: string | null; base64: boolean } {
  if (bytes === null) return { text: null, base64: false };
  const decoded = readUtf8(bytes);
  return decoded === null
    ? { text: bytes.toString('base64'), base64: true }
    : { text: decoded, base64: false };
}

/**
 * Builds the frame for one consumed record; `invalid` tells whether it carries the validation
 * header or, on a channel in observe mode, breaks its contract.
 */
export function toTapRecord(
  topic: string,
  partition: number,
  message: ConsumedMessage,
  observed?: ObservedErrors,
  decoded?: DecodedValue,
): { record: TapRecord; invalid: boolean } {
  const headers: Record<string, string | null> = {};
  let validationError: TapRecord['validationError'];
  for (const [name, raw] of Object.entries(message.headers ?? {})) {
    const first = Array.isArray(raw) ? raw[0] : raw;
    const value = first === undefined ? null : Buffer.isBuffer(first) ? first.toString('utf8') : first;
    headers[name] = value;
    if (name === VALIDATION_ERROR_HEADER && value !== null) {
      try {
        validationError = JSON.parse(value) as { ts: string; errors: string[] };
      } catch {
        validationError = { raw: value };
      }
    }
  }
  if (validationError === undefined && observed !== undefined) {
    // Observe mode writes invalid records as sent, so nothing on the record says what is wrong
    // with it: the tap asks the contract, to show them as the tagged ones are shown.
    const errors = observed(topic, {
      key: message.key,
      value: message.value,
      headers: headerList(message.headers),
    });
    if (errors !== null) validationError = { observed: true, errors: [...errors] };
  }
  const key = text(message.key);
  // A decoded Avro or Protobuf value is shown as JSON; bytes that do not decode are shown as they are.
  const value =
    decoded?.reading.ok === true
      ? { text: JSON.stringify(decoded.reading.data) ?? null, base64: false }
      : text(message.value);
  const record: TapRecord = {
    topic,
    partition,
    offset: message.offset,
    timestamp: new Date(Number(message.timestamp)).toISOString(),
    key: key.text,
    ...(key.base64 && { keyEncoding: 'base64' as const }),
    headers,
    value: value.text,
    ...(value.base64 && { valueEncoding: 'base64' as const }),
    ...(decoded !== undefined && { valueFormat: decoded.format }),
    ...(decoded?.schemaId !== undefined && { schemaId: decoded.schemaId }),
    ...(validationError !== undefined && { validationError }),
  };
  return { record, invalid: validationError !== undefined };
}
