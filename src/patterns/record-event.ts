import type { RecordHeader } from '../protocol/records';
import type { JsonReading } from './record-json';
import { readJson } from './record-json';
import { compileEventPattern, type EventPattern } from './event-pattern';

/**
 * A Kafka record as event patterns see it:
 *
 *   { "value": <the value parsed as JSON>, "key": "<the key as text>", "headers": { "<name>": "<text>" } }
 *
 * - `value` is the record value parsed as UTF-8 JSON; a tombstone is null, and a value that is not
 *   JSON is missing (only `{"exists": false}` matches it).
 * - `key` is the key as UTF-8 text, never parsed (so `numeric` does not apply to it), or null for a
 *   record without a key.
 * - `headers` maps each header name to its value as UTF-8 text (null for a null value); a header
 *   repeated on the record is a list of its values, which a pattern matches when one of them does.
 */
export interface RecordEvent {
  value?: unknown;
  key?: string | null;
  headers?: Record<string, HeaderText | HeaderText[]>;
}

type HeaderText = string | null;

export const RECORD_EVENT_FIELDS = ['value', 'key', 'headers'] as const;

/** A pattern over records: its top-level keys may only be value, key and headers. */
export function compileRecordPattern(pattern: unknown): EventPattern {
  return compileEventPattern(pattern, { fields: RECORD_EVENT_FIELDS });
}

function text(bytes: Buffer | string | null): string | null {
  if (bytes === null) return null;
  return typeof bytes === 'string' ? bytes : bytes.toString('utf8');
}

function headersObject(
  entries: Iterable<readonly [string, Buffer | string | null]>,
): Record<string, HeaderText | HeaderText[]> {
  // No prototype: a header may be called __proto__ or constructor.
  const headers = Object.create(null) as Record<string, HeaderText | HeaderText[]>;
  for (const [name, value] of entries) {
    const decoded = text(value);
    if (!Object.hasOwn(headers, name)) headers[name] = decoded;
    else {
      const earlier = headers[name];
      if (Array.isArray(earlier)) earlier.push(decoded);
      else headers[name] = [earlier, decoded];
    }
  }
  return headers;
}

/**
 * What an event is built from; the value is read only when a pattern needs it. Methods rather than
 * closures: the parts are made once per record, on the produce path and the tap's.
 */
export interface RecordParts {
  readonly key: Buffer | string | null;
  value(): JsonReading;
  headers(): Iterable<readonly [string, Buffer | string | null]>;
}

/** The event for a record, with only the parts `fields` names (the others cost nothing). */
export function recordEvent(parts: RecordParts, fields: ReadonlySet<string>): RecordEvent {
  const event: RecordEvent = {};
  if (fields.has('value')) {
    const reading = parts.value();
    if (reading.ok) event.value = reading.data;
  }
  if (fields.has('key')) event.key = text(parts.key);
  if (fields.has('headers')) event.headers = headersObject(parts.headers());
  return event;
}

/** A record in a produce request; `json` is the pipeline's cached reading of the value. */
interface ProducedRecordLike {
  key: Buffer | null;
  headers: readonly RecordHeader[];
  json(): JsonReading;
}

class ProducedRecordParts implements RecordParts {
  constructor(private readonly record: ProducedRecordLike) {}

  get key(): Buffer | null {
    return this.record.key;
  }

  value(): JsonReading {
    return this.record.json();
  }

  headers(): [string, Buffer | null][] {
    const entries: [string, Buffer | null][] = [];
    for (const header of this.record.headers) entries.push([header.key, header.value]);
    return entries;
  }
}

/** Parts of a record in a produce request, read through the pipeline's cached reading of its value. */
export function producedRecordParts(record: ProducedRecordLike): RecordParts {
  return new ProducedRecordParts(record);
}

/** A record read back from Kafka by kafkajs. */
interface ConsumedMessageLike {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

class ConsumedMessageParts implements RecordParts {
  constructor(
    private readonly message: ConsumedMessageLike,
    private readonly reading: JsonReading | undefined,
  ) {}

  get key(): Buffer | null {
    return this.message.key;
  }

  value(): JsonReading {
    return this.reading ?? readJson(this.message.value, 'value');
  }

  headers(): [string, Buffer | string | null][] {
    const entries: [string, Buffer | string | null][] = [];
    for (const [name, raw] of Object.entries(this.message.headers ?? {})) {
      // kafkajs hands a null header value over as null, whatever its types say.
      if (raw === undefined || (raw as unknown) === null) entries.push([name, null]);
      else if (Array.isArray(raw)) for (const value of raw) entries.push([name, value]);
      else entries.push([name, raw]);
    }
    return entries;
  }
}

/**
 * Parts of a record read back from Kafka by kafkajs (as the tap receives it); `value`: the value
 * already read (an Avro or Protobuf value decoded with its contract), else it is read as JSON.
 */
export function consumedMessageParts(message: ConsumedMessageLike, value?: JsonReading): RecordParts {
  return new ConsumedMessageParts(message, value);
}
