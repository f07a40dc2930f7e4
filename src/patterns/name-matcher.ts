import { compileLinearRegex, type LinearRegex } from '../regex/linear-regex';
import { RegexError } from '../regex/regex-error';

/** Whether an entry of a name list is a `/regex/` rather than an exact name. */
export function isRegexEntry(entry: string): boolean {
  return entry.length > 2 && entry.startsWith('/') && entry.endsWith('/');
}

/**
 * The regex of a `/regex/` entry. Names come from clients (topics, client ids), so the regex runs
 * on a linear-time engine (see compileLinearRegex); throws RegexError when it cannot.
 */
export function entryRegex(entry: string): LinearRegex {
  return compileLinearRegex(entry.slice(1, -1));
}

/**
 * Matches names (topics, client ids) against a configured list: `/regex/` entries by pattern,
 * anything else exactly. Throws, naming the entry, when a regex is refused.
 */
export function nameMatcher(entries: readonly string[]): (name: string) => boolean {
  const names = new Set<string>();
  const patterns: LinearRegex[] = [];
  for (const entry of entries) {
    if (!isRegexEntry(entry)) {
      names.add(entry);
      continue;
    }
    try {
      patterns.push(entryRegex(entry));
    } catch (error) {
      if (!(error instanceof RegexError)) throw error;
      const problem =
        error.kind === 'invalid'
          ? `is not a valid regular expression (${error.message})`
          : `cannot be used: ${error.message}`;
      throw new Error(`${entry} ${problem}`, { cause: error });
    }
  }
  return (name) => names.has(name) || patterns.some((pattern) => pattern.test(name));
}
