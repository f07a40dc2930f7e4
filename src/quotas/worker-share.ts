import type { ThrottleQuota } from '../config/gateway-config';

/**
 * One worker's share of a quota when `workers` processes serve the gateway: its rates and bursts
 * divided by the number of workers (rounded up, at least 1). Workers keep no common buckets, so
 * dividing keeps the gateway's total at the configured rate while a client's connections are spread
 * over the workers evenly, as round robin spreads them; a client holding one connection gets its
 * worker's share only.
 */
export function workerShare(quota: ThrottleQuota, workers: number): ThrottleQuota {
  if (workers <= 1) return quota;
  const part = (value: number | undefined) =>
    value === undefined ? undefined : Math.max(1, Math.ceil(value / workers));
  return {
    ...quota,
    bytesPerSecond: part(quota.bytesPerSecond),
    burstBytes: part(quota.burstBytes),
    recordsPerSecond: part(quota.recordsPerSecond),
    burstRecords: part(quota.burstRecords),
  };
}
