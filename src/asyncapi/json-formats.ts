import type Ajv from 'ajv';
import type { FormatDefinition } from 'ajv';
import addFormats from 'ajv-formats';
import { isDate, isDateTime, isTime } from './rfc3339';

/** A format of ajv-formats' checked by `validate` instead, its comparison kept. */
function readInPlace(
  name: 'date' | 'time' | 'date-time',
  validate: (text: string) => boolean,
): FormatDefinition<string> {
  const { compare } = addFormats.get(name) as FormatDefinition<string>;
  return { type: 'string', validate, compare };
}

/**
 * The string formats a contract's schemas can name, as the validator checks them: ajv-formats in
 * its full mode, with its date and time checks read in place (./rfc3339, same verdicts) because a
 * timestamp is in nearly every event and the regex versions cost a fifth of validating one.
 * Their comparisons (formatMinimum and the like) stay ajv-formats' own.
 */
export function addJsonFormats(ajv: Ajv): Ajv {
  addFormats(ajv);
  ajv.addFormat('date', readInPlace('date', isDate));
  ajv.addFormat('time', readInPlace('time', isTime));
  ajv.addFormat('date-time', readInPlace('date-time', isDateTime));
  return ajv;
}
