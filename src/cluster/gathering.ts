/** Where the primary sends a collection request: one running worker. */
export interface PartSource {
  /** Asks the worker for its part under `id`; its answer comes back through `part()`. */
  ask(id: number): void;
}

interface Collection {
  parts: unknown[];
  waiting: number;
  timer: NodeJS.Timeout;
  done: () => void;
}

/**
 * The primary's side of a request for what every worker holds (its metrics, its samples): asks
 * every running worker for its part and hands back those that came. A worker that does not answer
 * in time (busy, or dying) is left out rather than failing the request; a worker with nothing to
 * give answers null, which is left out too.
 */
export class Gathering {
  private nextId = 0;
  private readonly collections = new Map<number, Collection>();

  constructor(private readonly timeoutMs: number) {}

  async collect(sources: readonly PartSource[]): Promise<unknown[]> {
    if (sources.length === 0) throw new Error('no worker is running');
    const id = this.nextId++;
    let answered = 0;
    const parts = await new Promise<unknown[]>((resolve) => {
      const collection: Collection = {
        parts: [],
        waiting: sources.length,
        timer: setTimeout(() => collection.done(), this.timeoutMs),
        done: () => {
          clearTimeout(collection.timer);
          this.collections.delete(id);
          answered = sources.length - collection.waiting;
          resolve(collection.parts);
        },
      };
      this.collections.set(id, collection);
      for (const source of sources) source.ask(id);
    });
    if (answered === 0) throw new Error(`no worker answered within ${this.timeoutMs} ms`);
    return parts;
  }

  /** A worker's answer. */
  part(id: number, data: unknown): void {
    const collection = this.collections.get(id);
    if (collection === undefined) return;
    if (data !== null && data !== undefined) collection.parts.push(data);
    if (--collection.waiting === 0) collection.done();
  }
}
