import { RE2JS } from 're2js';
import { RegexError } from './regex-error';
import { toRe2Syntax } from './re2-syntax';

/**
 * The largest program a user's pattern may compile to. RE2 runs in time proportional to the
 * input's length times, at worst, the program's size; the bound keeps that factor small (a
 * thorough e-mail pattern is under a thousand instructions) and compiling cheap.
 */
export const MAX_PROGRAM_SIZE = 10_000;

/** A compiled pattern; `test` searches like RegExp#test (unanchored unless the pattern anchors). */
export interface LinearRegex {
  readonly source: string;
  test(text: string): boolean;
}

/**
 * Compiles a pattern that came from a user (a JSON Schema `pattern`, a `/regex/` name entry) for
 * RE2JS, a JavaScript port of RE2: matching takes time linear in the input, so no input can freeze
 * the event loop, as ECMAScript's backtracking engine can on `^(a+)+$`. Patterns are ECMAScript
 * syntax in Unicode mode (what JSON Schema asks for); backreferences and lookaround, which only
 * backtracking can run, are refused, as is a pattern that would compile to a large program.
 * Throws RegexError with the reason.
 */
export function compileLinearRegex(source: string): LinearRegex {
  try {
    new RegExp(source, 'u');
  } catch (error) {
    throw new RegexError((error as Error).message, 'invalid');
  }
  const { pattern, estimatedSize } = toRe2Syntax(source);
  if (estimatedSize > MAX_PROGRAM_SIZE) throw tooLarge(`about ${estimatedSize}`);
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(RE2JS.translateRegExp(pattern));
  } catch (error) {
    throw new RegexError(`not supported by the linear-time engine (RE2): ${(error as Error).message}`);
  }
  const size = compiled.programSize();
  if (size > MAX_PROGRAM_SIZE) throw tooLarge(String(size));
  return { source, test: (text) => compiled.test(text) };
}

function tooLarge(size: string): RegexError {
  return new RegexError(
    `the pattern compiles to ${size} instructions, more than the ${MAX_PROGRAM_SIZE} allowed (use smaller repetition counts)`,
  );
}
