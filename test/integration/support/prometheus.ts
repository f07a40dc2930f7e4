/** Reading the gateway's /metrics (Prometheus text exposition) in assertions. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * The samples of a Prometheus text exposition (comments skipped, label escapes undone). A line
 * that is neither throws, so a malformed exposition fails the test instead of reading as absent.
 */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

export class Metrics {
  constructor(readonly samples: Sample[]) {}

  static parse(text: string): Metrics {
    return new Metrics(parsePrometheus(text));
  }

  /** Every sample of `name` whose labels include `labels`. */
  all(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  }

  /** The one sample of `name` with exactly these labels, or undefined when the series does not exist. */
  get(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.all(name, labels).filter(
      (s) => Object.keys(s.labels).length === Object.keys(labels).length,
    );
    if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
    return found[0]?.value;
  }
}

/**
 * The first sample of `name` whose labels include `labels`, whatever their order; 0 when there
 * is none, as for a counter whose series has not been created yet.
 */
export function metricSample(exposition: string, name: string, labels: Record<string, string>): number {
  return Metrics.parse(exposition).all(name, labels)[0]?.value ?? 0;
}
