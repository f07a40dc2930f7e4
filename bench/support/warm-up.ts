import { processAgeSeconds } from './process-tree';

/**
 * How long every Node process a benchmark measures must have been up before its first round.
 * About 25 s after start V8's memory reducer makes a process drop the optimised code of some 50
 * functions, and it recompiles them over its next few runs (docs/benchmarks.md, "Tenth round"): a
 * benchmark whose first rounds fell in that phase measured the compiler. warm_up_until_up in
 * bench/support/perf-tools.sh is the same rule for the shell benchmarks.
 */
export const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 90);

export interface WarmUp {
  passes: number;
  /** How long the youngest process had been up when the warm-up ended. */
  seconds: number;
}

/**
 * Runs `pass` (one untimed pass over every route) once, and again until each of the processes
 * `pids` has been up WARMUP_SECONDS. Throws when one of them is gone.
 */
export async function warmUp(pids: readonly number[], pass: (n: number) => Promise<void>): Promise<WarmUp> {
  const youngest = () => {
    const ages = pids.map(processAgeSeconds);
    const gone = pids.filter((_, i) => Number.isNaN(ages[i]));
    if (gone.length > 0) throw new Error(`process ${gone.join(', ')} exited during the warm-up`);
    return Math.min(...ages);
  };
  let passes = 0;
  do await pass(++passes);
  while (youngest() < WARMUP_SECONDS);
  return { passes, seconds: youngest() };
}
