import type { MetricValueWithName, Registry } from 'prom-client';

/** One exported value; prom-client's text exposition also reads `sharedLabels`, printed after `labels`. */
type Exported = MetricValueWithName<string> & { sharedLabels?: Readonly<Record<string, string>> };
/** What prom-client's Registry reads of a metric it exports. */
interface ExportedHistogram {
  name: string;
  help: string;
  type: 'histogram';
  values: Exported[];
  aggregator: 'sum';
}
type LabelsOf = (
  series: HistogramSeries,
  le: number | '+Inf' | undefined,
) => Pick<Exported, 'labels' | 'sharedLabels'>;

/**
 * One label value's series of a SeriesHistogram. Observing is a walk over the bucket bounds and
 * three adds: prom-client's own histogram builds and hashes the label set on every observation
 * (about 0.5 µs), and the gateway observes once per forwarded request.
 */
export class HistogramSeries {
  /** Observations per bucket, not cumulative; the last slot is above the highest bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    private readonly bounds: Float64Array,
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    // A duration that is not a number would poison the sum for good; it is not a measurement.
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > bounds[bucket]) bucket++;
    this.counts[bucket]++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A Prometheus histogram with one label, for hot paths: callers keep the series of each label value
 * and observe on it directly. It registers with a prom-client Registry as any metric does (`get`),
 * and exports what prom-client's Histogram exports for the same observations (cumulative buckets
 * with `le`, then `_sum` and `_count` per series), so scraping, default labels and the workers'
 * aggregation (summed) treat it alike.
 */
export class SeriesHistogram {
  private readonly bounds: Float64Array;
  private readonly bucketLabels: Array<number | '+Inf'>;
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    buckets: readonly number[],
    registers: readonly Registry[],
  ) {
    const sorted = [...buckets].sort((a, b) => a - b);
    this.bounds = Float64Array.from(sorted);
    // Numbers, as prom-client gives them (its JSON keeps them; the text prints them the same).
    this.bucketLabels = [...sorted, '+Inf'];
    for (const registry of registers) registry.registerMetric(this as never);
  }

  /** The series of one label value, made on first use. */
  of(labelValue: string): HistogramSeries {
    let series = this.series.get(labelValue);
    if (series === undefined) {
      series = new HistogramSeries(this.bounds, { [this.labelName]: labelValue });
      this.series.set(labelValue, series);
    }
    return series;
  }

  /** For the text exposition: the series' label beside each bucket's `le`, as prom-client keeps it. */
  async getForPromString(): Promise<ExportedHistogram> {
    return this.export((series, le) => ({
      labels: le === undefined ? {} : { le },
      sharedLabels: series.labels,
    }));
  }

  /** For JSON (the workers' aggregation): `le` and the series' label in one set. */
  async get(): Promise<ExportedHistogram> {
    return this.export((series, le) => ({
      labels: le === undefined ? { ...series.labels } : { le, ...series.labels },
    }));
  }

  private export(labelsOf: LabelsOf): ExportedHistogram {
    const values: Exported[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.series.values()) {
      let cumulative = 0;
      for (let bucket = 0; bucket < series.counts.length; bucket++) {
        cumulative += series.counts[bucket];
        values.push({
          ...labelsOf(series, this.bucketLabels[bucket]),
          value: cumulative,
          metricName: bucketName,
        });
      }
      values.push({ ...labelsOf(series, undefined), value: series.sum, metricName: `${this.name}_sum` });
      values.push({ ...labelsOf(series, undefined), value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  /** Zeroes every series (Registry.resetMetrics); callers keep the series they hold. */
  reset(): void {
    for (const series of this.series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
