import { Counter, Gauge, Registry } from 'prom-client';
import { MetricsAggregation } from '../../../src/cluster/metrics-aggregation';
import { GatewayMetrics } from '../../../src/observability/metrics';
import { Metrics } from '../../integration/support/prometheus';

/** A worker's registry answering the aggregation at once, as a worker answers METRICS_COLLECT. */
function answering(aggregation: MetricsAggregation, registry: Registry) {
  return {
    ask(id: number) {
      void registry.getMetricsAsJSON().then((metrics) => aggregation.part(id, metrics));
    },
  };
}

describe('merging the metrics of several workers', () => {
  test("counters add up, a worker's own label stays apart, and specs in force count once", async () => {
    const aggregation = new MetricsAggregation(60_000);
    const workers = [1, 2].map((slot) => new GatewayMetrics({ worker: slot }));
    workers[0].countRecords('lights', 'valid', 3);
    workers[1].countRecords('lights', 'valid', 4);
    workers[1].countRecords('lights', 'invalid_tagged', 1);
    for (const worker of workers) worker.specsLoaded.set(5);
    workers[0].connections.labels('client').set(2);
    workers[1].connections.labels('client').set(3);
    const observers = workers.map((w) => w.connectionObserver());
    observers[0].opened();
    observers[1].opened();
    observers[1].opened();

    const merged = Metrics.parse(
      await aggregation.collect(workers.map((w) => answering(aggregation, w.registry))),
    );
    const records = (outcome: string) =>
      merged.get('event_gateway_records_total', { topic: 'lights', outcome, door: 'kafka' });
    expect(records('valid')).toBe(7);
    expect(records('invalid_tagged')).toBe(1);
    expect(merged.get('event_gateway_specs_loaded')).toBe(5);
    expect(merged.get('event_gateway_connections', { side: 'client' })).toBe(2 + 3 + 1 + 2);
    expect(merged.get('event_gateway_worker_connections_total', { worker: '1' })).toBe(1);
    expect(merged.get('event_gateway_worker_connections_total', { worker: '2' })).toBe(2);
  });

  test('a single process registers no per-worker series', async () => {
    const single = new GatewayMetrics();
    single.connectionObserver().opened();
    expect(await single.registry.metrics()).not.toContain('event_gateway_worker_connections_total');
  });

  test('a worker that does not answer is left out once the wait is over', async () => {
    jest.useFakeTimers();
    try {
      const aggregation = new MetricsAggregation(3_000);
      const registry = new Registry();
      new Counter({ name: 'answered_total', help: 'h', registers: [registry] }).inc(2);
      const silent = { ask: () => undefined };
      const answer = aggregation.collect([silent, answering(aggregation, registry)]);
      await jest.advanceTimersByTimeAsync(3_000);
      expect(Metrics.parse(await answer).get('answered_total')).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });

  test('no worker running, or none answering, is an error rather than an empty scrape', async () => {
    const aggregation = new MetricsAggregation(10);
    await expect(aggregation.collect([])).rejects.toThrow('no worker is running');
    await expect(aggregation.collect([{ ask: () => undefined }])).rejects.toThrow(
      'no worker answered within 10 ms',
    );
  });

  test('an answer for a collection that is over is ignored', async () => {
    const aggregation = new MetricsAggregation(60_000);
    const registry = new Registry();
    new Gauge({ name: 'g', help: 'h', registers: [registry] }).set(1);
    aggregation.part(99, await registry.getMetricsAsJSON());
    expect(Metrics.parse(await aggregation.collect([answering(aggregation, registry)])).get('g')).toBe(1);
  });
});
