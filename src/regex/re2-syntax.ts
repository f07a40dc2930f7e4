import { RegexError } from './regex-error';

/** ECMAScript's `\s`: RE2's is ASCII only, so it is spelled out (as class contents). */
const WHITESPACE = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
/** ECMAScript's `.` stops at every line terminator; RE2's only at \n. */
const ANY_BUT_LINE_END = '[^\\n\\r\\u2028\\u2029]';

interface Group {
  /** Instructions of the finished alternatives. */
  done: number;
  /** Instructions of the alternative being read. */
  current: number;
  /** Instructions of the last atom, which a following quantifier repeats. */
  last: number;
}

/**
 * Rewrites an ECMAScript pattern (Unicode mode, already known to be valid) so that RE2 reads it
 * with the same meaning, and estimates how many instructions RE2 will compile it to. Refuses what
 * only a backtracking engine can run. The estimate exists because a counted repetition multiplies
 * the program (`a{999}` is a thousand instructions): it is checked before RE2 builds anything.
 */
export function toRe2Syntax(source: string): { pattern: string; estimatedSize: number } {
  let out = '';
  const groups: Group[] = [{ done: 0, current: 0, last: 0 }];
  const atom = (size: number) => {
    const group = groups[groups.length - 1];
    group.current += size;
    group.last = size;
  };
  let i = 0;
  const copyThrough = (end: string) => {
    const close = source.indexOf(end, i);
    const stop = close < 0 ? source.length : close + 1;
    out += source.slice(i, stop);
    i = stop;
  };
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') {
      const next = source[i + 1];
      if (next >= '1' && next <= '9')
        throw new RegexError(`backreferences (\\${next}) ${NEEDS_BACKTRACKING}`);
      if (next === 'k') throw new RegexError(`backreferences (\\k<name>) ${NEEDS_BACKTRACKING}`);
      if (next === 's' || next === 'S') {
        out += next === 's' ? `[${WHITESPACE}]` : `[^${WHITESPACE}]`;
        i += 2;
      } else if ((next === 'u' || next === 'p' || next === 'P') && source[i + 2] === '{') {
        copyThrough('}');
      } else {
        out += c + next;
        i += 2;
      }
      atom(1);
    } else if (c === '[') {
      // Unicode mode: a class holds no nested class, and its first `]` (even right after `[` or
      // `[^`) closes it; inside, only `\s` needs spelling out.
      out += c;
      i++;
      if (source[i] === '^') out += source[i++];
      while (i < source.length && source[i] !== ']') {
        if (source[i] === '\\') {
          if (source[i + 1] === 's') {
            out += WHITESPACE;
            i += 2;
          } else if (
            (source[i + 1] === 'u' || source[i + 1] === 'p' || source[i + 1] === 'P') &&
            source[i + 2] === '{'
          ) {
            copyThrough('}');
          } else {
            out += source.slice(i, i + 2);
            i += 2;
          }
        } else {
          out += source[i++];
        }
      }
      out += ']';
      i++;
      atom(1);
    } else if (c === '(') {
      if (source.startsWith('(?=', i) || source.startsWith('(?!', i))
        throw new RegexError(`lookahead (${source.slice(i, i + 3)}...) ${NEEDS_BACKTRACKING}`);
      if (source.startsWith('(?<=', i) || source.startsWith('(?<!', i))
        throw new RegexError(`lookbehind (${source.slice(i, i + 4)}...) ${NEEDS_BACKTRACKING}`);
      if (source.startsWith('(?:', i)) {
        out += '(?:';
        i += 3;
      } else if (source.startsWith('(?<', i)) {
        copyThrough('>');
      } else {
        out += c;
        i++;
      }
      groups.push({ done: 0, current: 0, last: 0 });
    } else if (c === ')') {
      const group = groups.pop()!;
      out += c;
      i++;
      atom(group.done + group.current + 2);
    } else if (c === '|') {
      const group = groups[groups.length - 1];
      group.done += group.current + 1;
      group.current = 0;
      group.last = 0;
      out += c;
      i++;
    } else if (c === '*' || c === '+' || c === '?' || c === '{') {
      let times = 2;
      if (c === '{') {
        const close = source.indexOf('}', i);
        const [low, high] = source.slice(i + 1, close).split(',');
        times = high === undefined ? Number(low) : high === '' ? Number(low) + 1 : Number(high);
        out += source.slice(i, close + 1);
        i = close + 1;
      } else {
        out += c;
        i++;
      }
      if (source[i] === '?') out += source[i++];
      const group = groups[groups.length - 1];
      group.current += group.last * Math.max(0, times - 1) + times;
      group.last = 0;
    } else if (c === '.') {
      out += ANY_BUT_LINE_END;
      i++;
      atom(1);
    } else {
      out += c;
      i++;
      atom(1);
    }
  }
  const top = groups[0];
  return { pattern: out, estimatedSize: top.done + top.current + 2 };
}

const NEEDS_BACKTRACKING =
  'are not supported: the gateway runs regular expressions with a linear-time engine (RE2), which has no backtracking';
