import { AggregatorRegistry, Registry } from 'prom-client';
import {
  ANSWER,
  COLLECT,
  isClusterMessage,
  PART,
  REQUEST,
  WORKER_LISTENING,
  WORKER_STARTED,
  type ClusterMessage,
} from './cluster-messages';

/** How long a request waits for the primary's answer; the primary itself waits 3 s per worker. */
const ANSWER_TIMEOUT_MS = 10_000;
const METRICS = 'metrics';

/** What GET /metrics serves: a registry, or something answering like one. */
export interface MetricsExposition {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** Gives this worker's part of `what`; null when it has none. */
export type PartProvider = (arg: string | undefined) => Promise<unknown> | unknown;

interface Waiting {
  resolve: (parts: unknown[]) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

type WorkerMetrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * A worker's side of `workers: n`: gives the primary its part of what every worker holds in memory
 * (its metrics registry, and whatever else is provided), and asks for every worker's parts when it
 * has to answer for the whole gateway: GET /metrics is every worker's metrics merged, whichever
 * worker the scrape lands on.
 */
export class ClusterWorker {
  private readonly providers = new Map<string, PartProvider>();
  private nextId = 0;
  private readonly waiting = new Map<number, Waiting>();

  /**
   * `slot`: 1..n, kept by a restarted worker; `workers`: n; `send` is this process's IPC channel to
   * the primary.
   */
  constructor(
    readonly slot: number,
    readonly workers: number,
    private readonly send: (message: ClusterMessage) => void = (message) => process.send?.(message),
  ) {}

  /** Starts answering the primary, with `registry` as this worker's metrics; call once, before the gateway starts. */
  listen(registry: Registry, channel: NodeJS.Process = process): void {
    this.provide(METRICS, () => registry.getMetricsAsJSON());
    channel.on('message', (message: unknown) => {
      if (isClusterMessage(message)) this.onMessage(message);
    });
    this.send({ type: WORKER_LISTENING });
  }

  /** What this worker gives when asked for `what`; parts must survive JSON (no Buffers). */
  provide(what: string, provider: PartProvider): void {
    this.providers.set(what, provider);
  }

  /** Tells the primary this worker's gateway is serving. */
  started(): void {
    this.send({ type: WORKER_STARTED });
  }

  /** GET /metrics: every worker's metrics, merged by prom-client's cluster aggregation. */
  exposition(): MetricsExposition {
    return {
      contentType: Registry.PROMETHEUS_CONTENT_TYPE,
      metrics: async () =>
        AggregatorRegistry.aggregate((await this.gather(METRICS)) as WorkerMetrics[]).metrics(),
    };
  }

  /** Every running worker's part of `what` (this one's included), in no particular order. */
  gather(what: string, arg?: string): Promise<unknown[]> {
    const id = this.nextId++;
    return new Promise<unknown[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(
          new Error(`the primary did not answer for the workers' ${what} within ${ANSWER_TIMEOUT_MS} ms`),
        );
      }, ANSWER_TIMEOUT_MS);
      this.waiting.set(id, { resolve, reject, timer });
      this.send({ type: REQUEST, id, what, arg });
    });
  }

  private onMessage(message: ClusterMessage): void {
    if (message.type === COLLECT) {
      const { id, what, arg } = message;
      const provider = this.providers.get(what);
      if (provider === undefined) {
        this.send({ type: PART, id, data: null });
        return;
      }
      Promise.resolve()
        .then(() => provider(arg))
        .then(
          (data) => this.send({ type: PART, id, data: data ?? null }),
          () => this.send({ type: PART, id, data: null }),
        );
      return;
    }
    if (message.type === ANSWER) {
      const waiting = this.waiting.get(message.id);
      if (waiting === undefined) return;
      this.waiting.delete(message.id);
      clearTimeout(waiting.timer);
      if (message.parts !== null) waiting.resolve(message.parts);
      else waiting.reject(new Error(`cannot gather what the workers hold: ${message.error ?? 'unknown'}`));
    }
  }
}
