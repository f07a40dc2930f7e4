/**
 * How much longer `work` takes on an input `factor` times larger: the ratio of the best of several
 * timings at each size. Linear work gives about `factor`, quadratic about `factor`². Tests assert a
 * generous bound on the ratio, never a time, so a slow or busy machine does not fail them.
 */
export function growth(work: (size: number) => void, size: number, factor = 10): number {
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

/** Linear growth with plenty of room for noise, and still far from quadratic (factor²). */
export const LINEAR_BOUND = (factor = 10) => factor * factor * 0.35;
