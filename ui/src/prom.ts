/** One sample of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** The samples of a /metrics answer (comments and unparsable lines skipped). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(LABEL)) labels[name] = unescape(value);
    const value = Number(match[3]);
    if (!Number.isNaN(value)) samples.push({ name: match[1], labels, value });
  }
  return samples;
}

/** Observed records are invalid but written as sent: a line of their own, beside the tagged and rejected. */
export const OUTCOMES = [
  'valid',
  'invalid_observed',
  'invalid_tagged',
  'invalid_rejected',
  'dropped',
  'unvalidated',
] as const;

/** Records counted so far by topic, then outcome; both doors added together. */
export function recordTotals(samples: readonly Sample[]): Map<string, Map<string, number>> {
  const totals = new Map<string, Map<string, number>>();
  for (const sample of samples) {
    if (sample.name !== 'event_gateway_records_total') continue;
    const { topic, outcome } = sample.labels;
    if (topic === undefined || outcome === undefined) continue;
    const byOutcome = totals.get(topic) ?? new Map<string, number>();
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + sample.value);
    totals.set(topic, byOutcome);
  }
  return totals;
}

/**
 * Per-second rates between two readings of the totals. A counter that went down was reset (the
 * gateway restarted): what it holds now is what was counted since, as Prometheus' rate() reads it.
 */
export function rates(
  before: Map<string, Map<string, number>>,
  after: Map<string, Map<string, number>>,
  seconds: number,
): Map<string, Map<string, number>> {
  const result = new Map<string, Map<string, number>>();
  if (seconds <= 0) return result;
  for (const [topic, outcomes] of after) {
    const perOutcome = new Map<string, number>();
    for (const [outcome, total] of outcomes) {
      const previous = before.get(topic)?.get(outcome) ?? 0;
      const delta = total >= previous ? total - previous : total;
      perOutcome.set(outcome, delta / seconds);
    }
    result.set(topic, perOutcome);
  }
  return result;
}

/** The sum of a metric's samples whose labels include `match`. */
export function total(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
