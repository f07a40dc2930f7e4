import fc from 'fast-check';
import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { SeriesHistogram } from '../../../src/observability/series-histogram';

const NAME = 'event_gateway_request_duration_seconds';
const HELP = 'Gateway-to-broker round trip of forwarded requests, by Kafka API';
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The same observations into prom-client's Histogram and into ours, each in a registry of its own. */
function both(observations: ReadonlyArray<[string, number]>, defaultLabels?: Record<string, string>) {
  const theirs = new Registry();
  const ours = new Registry();
  if (defaultLabels) {
    theirs.setDefaultLabels(defaultLabels);
    ours.setDefaultLabels(defaultLabels);
  }
  const reference = new Histogram({
    name: NAME,
    help: HELP,
    labelNames: ['api_key'],
    buckets: BUCKETS,
    registers: [theirs],
  });
  const histogram = new SeriesHistogram(NAME, HELP, 'api_key', BUCKETS, [ours]);
  for (const [api, seconds] of observations) {
    reference.labels(api).observe(seconds);
    histogram.of(api).observe(seconds);
  }
  return { theirs, ours, histogram };
}

/** prom-client's values carry an empty exemplar slot; ours have none. */
function withoutExemplars(metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) {
  return metrics.map((metric) => ({
    ...metric,
    values: metric.values.map((value) => {
      const { exemplar: _, ...rest } = value as typeof value & { exemplar?: unknown };
      return rest;
    }),
  }));
}

// Bucket bounds themselves, values between them and beyond the last one.
const seconds = fc.oneof(
  fc.constantFrom(...BUCKETS, 0, 20),
  fc.double({ min: 0, max: 15, noNaN: true, noDefaultInfinity: true }),
);
const observations = fc.array(fc.tuple(fc.constantFrom('Produce', 'Fetch', 'Metadata'), seconds), {
  maxLength: 60,
});

describe('SeriesHistogram', () => {
  it('exposes what prom-client’s Histogram exposes for the same observations', async () => {
    await fc.assert(
      fc.asyncProperty(observations, fc.boolean(), async (observed, withDefaultLabels) => {
        const { theirs, ours } = both(observed, withDefaultLabels ? { instance: 'gw-1' } : undefined);
        expect(await ours.metrics()).toBe(await theirs.metrics());
        expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(
          withoutExemplars(await theirs.getMetricsAsJSON()),
        );
      }),
    );
  });

  it('sums across workers as prom-client’s Histogram does', async () => {
    await fc.assert(
      fc.asyncProperty(observations, observations, async (first, second) => {
        const one = both(first);
        const two = both(second);
        const theirs = AggregatorRegistry.aggregate([
          await one.theirs.getMetricsAsJSON(),
          await two.theirs.getMetricsAsJSON(),
        ]);
        const ours = AggregatorRegistry.aggregate([
          await one.ours.getMetricsAsJSON(),
          await two.ours.getMetricsAsJSON(),
        ]);
        expect(await ours.metrics()).toBe(await theirs.metrics());
      }),
      { numRuns: 30 },
    );
  });

  it('ignores what is not a number instead of poisoning the sum', async () => {
    const { ours, histogram } = both([['Produce', 0.002]]);
    histogram.of('Produce').observe(Number.NaN);
    histogram.of('Produce').observe(Number.POSITIVE_INFINITY);
    const text = await ours.metrics();
    expect(text).toContain(`${NAME}_count{api_key="Produce"} 1`);
    expect(text).toContain(`${NAME}_sum{api_key="Produce"} 0.002`);
  });

  it('zeroes its series on reset, and the series handed out keep counting', async () => {
    const { ours, histogram } = both([['Fetch', 0.3]]);
    const fetch = histogram.of('Fetch');
    ours.resetMetrics();
    expect(await ours.metrics()).toContain(`${NAME}_count{api_key="Fetch"} 0`);
    fetch.observe(0.004);
    expect(await ours.metrics()).toContain(`${NAME}_bucket{le="0.005",api_key="Fetch"} 1`);
  });
});
