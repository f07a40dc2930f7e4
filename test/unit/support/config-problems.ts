import { ConfigError } from '../../../src/config/load-config';

/** The problems a ConfigError lists; none when `action` passes (unless `required`). */
export function problemsOf(action: () => unknown, required = true): string[] {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  if (required) throw new Error('expected a ConfigError');
  return [];
}
