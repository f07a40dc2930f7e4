import type { JsonReading } from '../../patterns/record-json';
import type { EventPattern } from '../../patterns/event-pattern';
import { PatternError } from '../../patterns/event-pattern';
import {
  compileRecordPattern,
  consumedMessageParts,
  RECORD_EVENT_FIELDS,
  recordEvent,
  type RecordEvent,
} from '../../patterns/record-event';
import { BODY_NESTING_LIMIT, nestingProblem } from '../body-limits';
import type { ConsumedMessage } from '../../tap/consumed-message';

/**
 * The `pattern` query parameter of a tap client: no pattern (null), a compiled one, or why it was
 * refused (one line: it ends up in an HTTP status response).
 */
export function tapPattern(raw: string | null): { pattern: EventPattern | null } | { error: string } {
  if (raw === null) return { pattern: null };
  const tooDeep = nestingProblem(raw, 'json', BODY_NESTING_LIMIT);
  if (tooDeep !== null) return { error: `pattern is ${tooDeep}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    return { error: oneLine(`pattern is not JSON: ${(error as Error).message}`) };
  }
  try {
    return { pattern: compileRecordPattern(parsed) };
  } catch (error) {
    if (!(error instanceof PatternError)) throw error;
    return { error: oneLine(`invalid pattern: ${error.message}`) };
  }
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

const ALL_FIELDS: ReadonlySet<string> = new Set(RECORD_EVENT_FIELDS);

/**
 * The event patterns see for a record the tap read back (the same shape as for produced records);
 * `value`: the value already read (decoded from Avro or Protobuf), else it is read as JSON.
 */
export function tapEvent(message: ConsumedMessage, value?: JsonReading): RecordEvent {
  return recordEvent(consumedMessageParts(message, value), ALL_FIELDS);
}
