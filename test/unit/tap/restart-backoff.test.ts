import { RestartBackoff } from '../../../src/tap/restart-backoff';

describe('RestartBackoff', () => {
  it('doubles up to the maximum, and starts over after reset', () => {
    const backoff = new RestartBackoff(500, 5_000, () => 0.5);
    expect(Array.from({ length: 6 }, () => backoff.next())).toEqual([500, 1_000, 2_000, 4_000, 5_000, 5_000]);
    expect(backoff.attempts).toBe(6);
    backoff.reset();
    expect(backoff.next()).toBe(500);
  });

  it('spreads delays by up to a fifth either way', () => {
    expect(new RestartBackoff(1_000, 1_000, () => 0).next()).toBe(800);
    expect(new RestartBackoff(1_000, 1_000, () => 0.999).next()).toBe(1_200);
  });
});
