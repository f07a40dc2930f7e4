import { readUtf8 } from '../../patterns/record-json';
import { VALIDATION_ERROR_HEADER } from '../../asyncapi/record-validator';
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
  /** The parsed validation error header, when the record carries one. */
  validationError?: { ts: string; errors: string[] } | { raw: string };
}

function text(bytes: Buffer | null): { text: string | null; base64: boolean } {
  if (bytes === null) return { text: null, base64: false };
  const decoded = readUtf8(bytes);
  return decoded === null
    ? { text: bytes.toString('base64'), base64: true }
    : { text: decoded, base64: false };
}

/** Builds the frame for one consumed record; `invalid` tells whether it carries the validation header. */
export function toTapRecord(
  topic: string,
  partition: number,
  message: ConsumedMessage,
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
  const key = text(message.key);
  const value = text(message.value);
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
    ...(validationError !== undefined && { validationError }),
  };
  return { record, invalid: validationError !== undefined };
}
