import { AggregatorRegistry } from 'prom-client';
import { GatewayMetrics } from '../../../src/observability/metrics';
import { Metrics } from '../../integration/support/prometheus';

/** The value of one event_gateway_records_total series in the exposition text, or undefined. */
function recordsSeries(text: string, topic: string, outcome: string, door: string): number | undefined {
  return Metrics.parse(text).get('event_gateway_records_total', { topic, outcome, door });
}

describe('event_gateway_records_total', () => {
  it('adds up the counts made between scrapes, by topic, outcome and door', async () => {
    const metrics = new GatewayMetrics();
    metrics.countRecords('orders', 'valid', 15);
    metrics.countRecords('orders', 'valid', 15);
    metrics.countRecords('orders', 'invalid_tagged', 2);
    metrics.countRecords('orders', 'valid', 1, 'http');
    const first = await metrics.registry.metrics();
    expect(recordsSeries(first, 'orders', 'valid', 'kafka')).toBe(30);
    expect(recordsSeries(first, 'orders', 'invalid_tagged', 'kafka')).toBe(2);
    expect(recordsSeries(first, 'orders', 'valid', 'http')).toBe(1);

    // A count is moved into the counter once: a second scrape adds only what came after the first.
    metrics.countRecords('orders', 'valid', 5);
    const second = await metrics.registry.metrics();
    expect(recordsSeries(second, 'orders', 'valid', 'kafka')).toBe(35);
    expect(recordsSeries(second, 'orders', 'valid', 'http')).toBe(1);
    expect(recordsSeries(await metrics.registry.metrics(), 'orders', 'valid', 'kafka')).toBe(35);
  });

  it('counts topics beyond the label limit as _other', async () => {
    const metrics = new GatewayMetrics();
    for (let i = 0; i < 1000; i++) metrics.countRecords(`topic-${i}`, 'valid');
    metrics.countRecords('one-too-many', 'valid', 3);
    metrics.countRecords('and-another', 'valid', 4);
    const text = await metrics.registry.metrics();
    expect(recordsSeries(text, 'topic-999', 'valid', 'kafka')).toBe(1);
    expect(recordsSeries(text, 'one-too-many', 'valid', 'kafka')).toBeUndefined();
    expect(recordsSeries(text, '_other', 'valid', 'kafka')).toBe(7);
  });

  it('reaches the counts of workers merged for GET /metrics', async () => {
    const workers = [new GatewayMetrics({ worker: 1 }), new GatewayMetrics({ worker: 2 })];
    workers[0].countRecords('orders', 'valid', 10);
    workers[1].countRecords('orders', 'valid', 7);
    const merged = AggregatorRegistry.aggregate(
      await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON())),
    );
    expect(recordsSeries(await merged.metrics(), 'orders', 'valid', 'kafka')).toBe(17);
  });
});
