import { parseMetrics, rates, recordTotals, total } from '../../../ui/src/prom';

const TEXT = `# HELP event_gateway_records_total Produced records
# TYPE event_gateway_records_total counter
event_gateway_records_total{topic="orders",outcome="valid",door="kafka"} 10
event_gateway_records_total{topic="orders",outcome="valid",door="http"} 5
event_gateway_records_total{topic="orders",outcome="invalid_tagged",door="kafka"} 2
event_gateway_records_total{topic="we\\"ird",outcome="valid",door="kafka"} 1
event_gateway_connections{side="client"} 3
event_gateway_connections{side="broker"} 4
event_gateway_tap_clients 1
`;

describe('the console reading /metrics', () => {
  it('adds both doors per topic and outcome, and reads escaped label values', () => {
    const totals = recordTotals(parseMetrics(TEXT));
    expect(totals.get('orders')).toEqual(
      new Map([
        ['valid', 15],
        ['invalid_tagged', 2],
      ]),
    );
    expect(totals.get('we"ird')?.get('valid')).toBe(1);
  });

  it('sums a metric over the labels asked for', () => {
    const samples = parseMetrics(TEXT);
    expect(total(samples, 'event_gateway_connections', { side: 'client' })).toBe(3);
    expect(total(samples, 'event_gateway_connections')).toBe(7);
    expect(total(samples, 'event_gateway_tap_clients')).toBe(1);
  });

  it('turns two readings into rates, and reads a counter that went down as restarted', () => {
    const before = new Map([['orders', new Map([['valid', 100]])]]);
    const after = new Map([
      [
        'orders',
        new Map([
          ['valid', 120],
          ['invalid_tagged', 4],
        ]),
      ],
    ]);
    expect(rates(before, after, 2).get('orders')).toEqual(
      new Map([
        ['valid', 10],
        ['invalid_tagged', 2],
      ]),
    );
    const restarted = new Map([['orders', new Map([['valid', 6]])]]);
    expect(rates(before, restarted, 2).get('orders')?.get('valid')).toBe(3);
  });
});
