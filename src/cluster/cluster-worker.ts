import { Registry } from 'prom-client';
import {
  isClusterMessage,
  METRICS_ANSWER,
  METRICS_COLLECT,
  METRICS_PART,
  METRICS_READY,
  METRICS_REQUEST,
  WORKER_STARTED,
  type ClusterMessage,
} from './cluster-messages';

/** How long GET /metrics waits for the primary's aggregate; the primary itself waits 3 s per worker. */
const ANSWER_TIMEOUT_MS = 10_000;

/** What GET /metrics serves: a registry, or something answering like one. */
export interface MetricsExposition {
  readonly contentType: string;
  metrics(): Promise<string>;
}

interface Waiting {
  resolve: (text: string) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A worker's side of `workers: n`: hands its own metrics to the primary when asked, and answers
 * GET /metrics with the primary's aggregate of every worker's, so that a scrape sees the whole
 * gateway whichever worker it lands on.
 */
export class ClusterWorker {
  private registry: Registry | null = null;
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

  /** Starts answering the primary; call once, before the gateway starts. */
  listen(registry: Registry, channel: NodeJS.Process = process): void {
    this.registry = registry;
    channel.on('message', (message: unknown) => {
      if (isClusterMessage(message)) this.onMessage(message);
    });
    this.send({ type: METRICS_READY });
  }

  /** Tells the primary this worker's gateway is serving. */
  started(): void {
    this.send({ type: WORKER_STARTED });
  }

  /** GET /metrics: every worker's metrics, merged by the primary. */
  exposition(): MetricsExposition {
    return {
      contentType: Registry.PROMETHEUS_CONTENT_TYPE,
      metrics: () => this.ask(),
    };
  }

  private ask(): Promise<string> {
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(
          new Error(`the primary did not answer for the workers' metrics within ${ANSWER_TIMEOUT_MS} ms`),
        );
      }, ANSWER_TIMEOUT_MS);
      this.waiting.set(id, { resolve, reject, timer });
      this.send({ type: METRICS_REQUEST, id });
    });
  }

  private onMessage(message: ClusterMessage): void {
    if (message.type === METRICS_COLLECT) {
      const registry = this.registry;
      if (registry === null) return;
      registry.getMetricsAsJSON().then(
        (metrics) => this.send({ type: METRICS_PART, id: message.id, metrics }),
        () => this.send({ type: METRICS_PART, id: message.id, metrics: null }),
      );
      return;
    }
    if (message.type === METRICS_ANSWER) {
      const waiting = this.waiting.get(message.id);
      if (waiting === undefined) return;
      this.waiting.delete(message.id);
      clearTimeout(waiting.timer);
      if (message.text !== null) waiting.resolve(message.text);
      else waiting.reject(new Error(`cannot aggregate the workers' metrics: ${message.error ?? 'unknown'}`));
    }
  }
}
