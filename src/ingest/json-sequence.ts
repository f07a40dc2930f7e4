/**
 * The JSON texts of a body holding one value after another (`{...} {...}` or one per line): the
 * REST door's streaming mode. One pass, tracking strings and nesting only; each piece is then
 * parsed on its own, so one broken record is answered for itself. Null when there are more than
 * `max` pieces. Text that is not a sequence of objects and arrays comes back as one piece, for
 * the JSON parser to name what is wrong.
 */
export function splitJsonSequence(text: string, max: number): string[] | null {
  const pieces: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) {
      if (depth === 0) return [text];
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (depth === 0) start = i;
      depth++;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      if (depth < 0) return [text];
      if (depth === 0) {
        if (pieces.length === max) return null;
        pieces.push(text.slice(start, i + 1));
      }
    } else if (depth === 0 && !(c === SPACE || c === TAB || c === LF || c === CR)) {
      return [text];
    }
  }
  if (depth !== 0 || inString) return [text];
  return pieces;
}

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const OPEN_BRACKET = 91;
const BACKSLASH = 92;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
