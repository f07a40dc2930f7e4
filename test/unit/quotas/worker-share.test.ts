import type { ThrottleQuota } from '../../../src/config/gateway-config';
import { QuotaManager, type ProduceUsage } from '../../../src/quotas/quota-manager';
import { workerShare } from '../../../src/quotas/worker-share';

const QUOTA: ThrottleQuota = {
  name: 'per-client',
  kind: 'clientId',
  shared: false,
  hardLimit: false,
  bytesPerSecond: 1000,
  burstBytes: 3000,
  recordsPerSecond: 7,
};

const usage = (bytes: number): ProduceUsage => ({
  clientId: 'a',
  clientAddress: '10.0.0.1',
  topics: [{ topic: 't', bytes, records: 1 }],
});

describe("a worker's share of a quota", () => {
  test('one worker holds the whole quota', () => {
    expect(workerShare(QUOTA, 1)).toBe(QUOTA);
  });

  test('rates and bursts are divided by the number of workers, rounded up', () => {
    expect(workerShare(QUOTA, 2)).toEqual({
      ...QUOTA,
      bytesPerSecond: 500,
      burstBytes: 1500,
      recordsPerSecond: 4,
    });
    expect(workerShare(QUOTA, 3)).toMatchObject({
      bytesPerSecond: 334,
      burstBytes: 1000,
      recordsPerSecond: 3,
    });
  });

  test('never below 1, and what is unset stays unset', () => {
    const share = workerShare({ ...QUOTA, burstBytes: undefined, recordsPerSecond: 1 }, 64);
    expect(share).toMatchObject({ bytesPerSecond: 16, recordsPerSecond: 1 });
    expect(share.burstBytes).toBeUndefined();
    expect(share.burstRecords).toBeUndefined();
  });

  test('a quota manager of one of two workers throttles at half the rate, and reports the configured settings', () => {
    const clock = { now: 0 };
    const config = {
      quotas: [{ ...QUOTA, burstBytes: undefined, recordsPerSecond: undefined }],
      maxThrottleMs: 60_000,
      maxBuckets: 100,
    };
    const manager = new QuotaManager(config, { now: () => clock.now, workers: 2 });
    expect(manager.admitProduce(usage(500)).verdict).toBe('pass');
    expect(manager.admitProduce(usage(250))).toMatchObject({ verdict: 'delay', throttleMs: 500 });
    expect(manager.config).toBe(config);
    // Reloaded settings are divided too.
    manager.update({ ...config, quotas: [{ ...config.quotas[0], bytesPerSecond: 4000 }] });
    clock.now = 10_000;
    expect(manager.admitProduce(usage(2000)).verdict).toBe('pass');
    expect(manager.admitProduce(usage(1000))).toMatchObject({ verdict: 'delay', throttleMs: 500 });
  });
});
