import { AggregatorRegistry } from 'prom-client';
import type { WorkerMetrics } from './cluster-messages';

/** Where the primary sends a collection request: one running worker. */
export interface MetricsSource {
  /** Asks the worker for its metrics under `id`; its answer comes back through `part()`. */
  ask(id: number): void;
}

interface Collection {
  parts: WorkerMetrics[];
  waiting: number;
  timer: NodeJS.Timeout;
  done: () => void;
}

/**
 * The primary's side of one GET /metrics: asks every running worker for its registry as JSON and
 * merges them with prom-client's cluster aggregation (counters and histograms summed, gauges by
 * each metric's `aggregator`). A worker that does not answer in time (busy, or dying) is left out
 * rather than failing the scrape; its series are missing from that one answer.
 */
export class MetricsAggregation {
  private nextId = 0;
  private readonly collections = new Map<number, Collection>();

  constructor(private readonly timeoutMs: number) {}

  async collect(sources: readonly MetricsSource[]): Promise<string> {
    if (sources.length === 0) throw new Error('no worker is running');
    const id = this.nextId++;
    const parts = await new Promise<WorkerMetrics[]>((resolve) => {
      const collection: Collection = {
        parts: [],
        waiting: sources.length,
        timer: setTimeout(() => collection.done(), this.timeoutMs),
        done: () => {
          clearTimeout(collection.timer);
          this.collections.delete(id);
          resolve(collection.parts);
        },
      };
      this.collections.set(id, collection);
      for (const source of sources) source.ask(id);
    });
    if (parts.length === 0) throw new Error(`no worker answered within ${this.timeoutMs} ms`);
    return AggregatorRegistry.aggregate(parts).metrics();
  }

  /** A worker's answer; `metrics` null when it could not read its registry. */
  part(id: number, metrics: WorkerMetrics | null): void {
    const collection = this.collections.get(id);
    if (collection === undefined) return;
    if (metrics !== null) collection.parts.push(metrics);
    if (--collection.waiting === 0) collection.done();
  }
}
