/** Whether an entry of a name list is a `/regex/` rather than an exact name. */
export function isRegexEntry(entry: string): boolean {
  return entry.length > 2 && entry.startsWith('/') && entry.endsWith('/');
}

/**
 * Matches names (topics, client ids) against a configured list: `/regex/` entries by pattern,
 * anything else exactly. Throws, naming the entry, when a regex does not compile.
 */
export function nameMatcher(entries: readonly string[]): (name: string) => boolean {
  const names = new Set<string>();
  const patterns: RegExp[] = [];
  for (const entry of entries) {
    if (!isRegexEntry(entry)) {
      names.add(entry);
      continue;
    }
    try {
      patterns.push(new RegExp(entry.slice(1, -1)));
    } catch (error) {
      throw new Error(`${entry} is not a valid regular expression (${(error as Error).message})`, {
        cause: error,
      });
    }
  }
  return (name) => names.has(name) || patterns.some((pattern) => pattern.test(name));
}
