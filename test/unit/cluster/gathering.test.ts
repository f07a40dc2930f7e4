import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { Gathering } from '../../../src/cluster/gathering';
import { GatewayMetrics } from '../../../src/observability/metrics';
import { Metrics } from '../../integration/support/prometheus';

/** A worker's registry answering at once, as a worker answers COLLECT for its metrics. */
function answering(gathering: Gathering, registry: Registry) {
  return {
    ask(id: number) {
      void registry.getMetricsAsJSON().then((metrics) => gathering.part(id, metrics));
    },
  };
}

type WorkerMetrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

async function merged(gathering: Gathering, registries: Registry[]): Promise<Metrics> {
  const parts = await gathering.collect(registries.map((registry) => answering(gathering, registry)));
  return Metrics.parse(await AggregatorRegistry.aggregate(parts as WorkerMetrics[]).metrics());
}

describe('gathering what every worker holds', () => {
  test("metrics: counters add up, a worker's own label stays apart, and specs in force count once", async () => {
    const gathering = new Gathering(60_000);
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

    const all = await merged(
      gathering,
      workers.map((w) => w.registry),
    );
    const records = (outcome: string) =>
      all.get('event_gateway_records_total', { topic: 'lights', outcome, door: 'kafka' });
    expect(records('valid')).toBe(7);
    expect(records('invalid_tagged')).toBe(1);
    expect(all.get('event_gateway_specs_loaded')).toBe(5);
    expect(all.get('event_gateway_connections', { side: 'client' })).toBe(2 + 3 + 1 + 2);
    expect(all.get('event_gateway_worker_connections_total', { worker: '1' })).toBe(1);
    expect(all.get('event_gateway_worker_connections_total', { worker: '2' })).toBe(2);
  });

  test('a single process registers no per-worker series', async () => {
    const single = new GatewayMetrics();
    single.connectionObserver().opened();
    expect(await single.registry.metrics()).not.toContain('event_gateway_worker_connections_total');
  });

  test('a worker that does not answer is left out once the wait is over', async () => {
    jest.useFakeTimers();
    try {
      const gathering = new Gathering(3_000);
      const registry = new Registry();
      new Counter({ name: 'answered_total', help: 'h', registers: [registry] }).inc(2);
      const silent = { ask: () => undefined };
      const parts = gathering.collect([silent, answering(gathering, registry)]);
      await jest.advanceTimersByTimeAsync(3_000);
      expect(await parts).toHaveLength(1);
    } finally {
      jest.useRealTimers();
    }
  });

  test('a worker with nothing to give is left out; its answer still counts as one', async () => {
    const gathering = new Gathering(60_000);
    const parts = await gathering.collect([
      { ask: (id) => gathering.part(id, null) },
      { ask: (id) => gathering.part(id, { a: 1 }) },
    ]);
    expect(parts).toEqual([{ a: 1 }]);
    await expect(gathering.collect([{ ask: (id) => gathering.part(id, null) }])).resolves.toEqual([]);
  });

  test('no worker running, or none answering, is an error rather than an empty answer', async () => {
    const gathering = new Gathering(10);
    await expect(gathering.collect([])).rejects.toThrow('no worker is running');
    await expect(gathering.collect([{ ask: () => undefined }])).rejects.toThrow(
      'no worker answered within 10 ms',
    );
  });

  test('an answer for a collection that is over is ignored', async () => {
    const gathering = new Gathering(60_000);
    const registry = new Registry();
    new Gauge({ name: 'g', help: 'h', registers: [registry] }).set(1);
    gathering.part(99, await registry.getMetricsAsJSON());
    expect((await merged(gathering, [registry])).get('g')).toBe(1);
  });
});
