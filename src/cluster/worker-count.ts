import { availableParallelism } from 'node:os';

/**
 * The number of gateway processes `workers` asks for: a number as given, 'auto' one per core the
 * process may use (os.availableParallelism(), which honours CPU affinity, unlike os.cpus()).
 */
export function resolveWorkerCount(setting: number | 'auto', cores: number = availableParallelism()): number {
  if (setting === 'auto') return Math.max(1, Math.floor(cores));
  return setting;
}
