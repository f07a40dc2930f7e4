/**
 * How much longer `work` takes on an input `factor` times larger: the ratio of the best of several
 * timings at each size. Linear work gives about `factor`, quadratic about `factor`². Tests assert a
 * generous bound on the ratio, never a time, so a slow or busy machine does not fail them.
 */
export function growth(work: (size: number) => void, size: number, factor = GROWTH_FACTOR): number {
  // Enough repetitions that the small size takes a few milliseconds, well above timer noise.
  let repetitions = 1;
  while (elapsed(work, size, repetitions) < 3 && repetitions < 1 << 20) repetitions *= 2;
  let small = Infinity;
  let large = Infinity;
  for (let round = 0; round < 5; round++) {
    small = Math.min(small, elapsed(work, size, repetitions));
    large = Math.min(large, elapsed(work, size * factor, repetitions));
  }
  return large / small;
}

function elapsed(work: (size: number) => void, size: number, repetitions: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < repetitions; i++) work(size);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Inputs this many times larger: far enough apart that linear (×30) and quadratic (×900) work
 * cannot be mistaken for each other, even on a busy machine whose timings jitter by 2× or more.
 */
export const GROWTH_FACTOR = 30;

/** Linear growth with plenty of room for noise (10×), and still far from quadratic (factor²). */
export const LINEAR_BOUND = (factor = GROWTH_FACTOR) => factor * factor * 0.35;
