/** A record part read as JSON: the parsed data, or why it is not JSON. */
export type JsonReading = { ok: true; data: unknown } | { ok: false; reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes as UTF-8 text, or null when they are not valid UTF-8 (no replacement characters). */
export function readUtf8(bytes: Buffer): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Reads bytes as UTF-8 JSON text. Null bytes (a tombstone value, a missing key) read as JSON null,
 * which is how schemas and patterns see them. `what` names the part in the reason.
 */
export function readJson(bytes: Buffer | null, what: string): JsonReading {
  if (bytes === null) return { ok: true, data: null };
  const text = readUtf8(bytes);
  if (text === null) return { ok: false, reason: `${what} is not valid UTF-8 text, so it cannot be JSON` };
  try {
    return { ok: true, data: JSON.parse(text) };
  } catch (error) {
    return { ok: false, reason: `${what} is not valid JSON (${(error as Error).message})` };
  }
}
