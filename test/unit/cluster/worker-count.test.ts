import { availableParallelism } from 'node:os';
import { resolveWorkerCount } from '../../../src/cluster/worker-count';
import { resolveConfig } from '../../../src/config/load-config';
import { problemsOf } from '../support/config-problems';

const KAFKA = { bootstrapServers: ['127.0.0.1:9092'] };

describe('workers', () => {
  test('a number is taken as given', () => {
    expect(resolveWorkerCount(1, 16)).toBe(1);
    expect(resolveWorkerCount(3, 16)).toBe(3);
  });

  test("'auto' is one per core the process may use", () => {
    expect(resolveWorkerCount('auto', 8)).toBe(8);
    expect(resolveWorkerCount('auto', 1)).toBe(1);
    expect(resolveWorkerCount('auto')).toBe(availableParallelism());
  });

  test('defaults to 1: one process, no cluster', () => {
    expect(resolveConfig({ kafka: KAFKA }).workers).toBe(1);
  });

  test("accepts a positive number or 'auto', and nothing else", () => {
    expect(resolveConfig({ kafka: KAFKA, workers: 4 }).workers).toBe(4);
    expect(resolveConfig({ kafka: KAFKA, workers: 'auto' }).workers).toBe('auto');
    for (const workers of [0, -1, 1.5, 'all', '4', null]) {
      expect(problemsOf(() => resolveConfig({ kafka: KAFKA, workers })).join('\n')).toContain('workers');
    }
  });

  test('more than one worker needs the state topic: workers would keep different uploads in memory', () => {
    const problems = problemsOf(() => resolveConfig({ kafka: KAFKA, workers: 2, state: { enabled: false } }));
    expect(problems).toEqual([expect.stringContaining('workers: more than one worker needs state.enabled')]);
    expect(
      problemsOf(() => resolveConfig({ kafka: KAFKA, workers: 'auto', state: { enabled: false } })),
    ).toHaveLength(1);
    expect(resolveConfig({ kafka: KAFKA, workers: 1, state: { enabled: false } }).workers).toBe(1);
  });
});
