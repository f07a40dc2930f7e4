import perfHooks from 'node:perf_hooks';
import { EVENT_LOOP_SAMPLE_MS, GatewayMetrics } from '../../../src/observability/metrics';

describe('the process defaults of the gateway metrics', () => {
  afterEach(() => jest.restoreAllMocks());

  it('samples the event loop delay every 100 ms, not every 10 ms', () => {
    const monitor = jest.spyOn(perfHooks, 'monitorEventLoopDelay');
    new GatewayMetrics();
    expect(EVENT_LOOP_SAMPLE_MS).toBe(100);
    expect(monitor).toHaveBeenCalledWith(expect.objectContaining({ resolution: EVENT_LOOP_SAMPLE_MS }));
  });

  it('still exposes the event loop lag percentiles', async () => {
    const metrics = new GatewayMetrics();
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_max_seconds /m);
  });
});
