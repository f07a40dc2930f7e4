/** Where a tap client's history starts: the earliest record kept, or the first at or after a time. */
export type TapFrom = { earliest: true } | { timestamp: number };

/** Dates and times as ISO 8601 writes them, not whatever Date.parse happens to accept. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/** How much of a refused value the reason repeats: the query string can be as long as a URL. */
const ECHO_CHARS = 64;

/** The `from` query parameter of a tap client: none (null), a start, or why it was refused (one line). */
export function tapFrom(raw: string | null): { from: TapFrom | null } | { error: string } {
  if (raw === null) return { from: null };
  if (raw === 'earliest') return { from: { earliest: true } };
  const timestamp = ISO_TIME.test(raw) ? Date.parse(raw) : NaN;
  // Before 1970 the timestamp is negative, and Kafka reads -1 and -2 as "latest" and "earliest".
  if (Number.isFinite(timestamp) && timestamp >= 0) return { from: { timestamp } };
  const echo = JSON.stringify(raw.length > ECHO_CHARS ? `${raw.slice(0, ECHO_CHARS)}…` : raw);
  return {
    error: `from must be 'earliest' or an ISO 8601 time such as 2024-05-01T10:00:00Z, got ${echo}${Number.isFinite(timestamp) ? ' (before 1970)' : ''}`,
  };
}
