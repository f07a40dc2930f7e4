import type { Registry } from 'prom-client';

/**
 * What the primary and its workers say to each other over the cluster's IPC channel. Every type
 * starts with `event-gateway:` so that messages of other libraries on the same channel (prom-client
 * has its own) are told apart.
 */
export const WORKER_STARTED = 'event-gateway:worker-started';
/** A worker can answer for its metrics (it does before its gateway has started). */
export const METRICS_READY = 'event-gateway:metrics-ready';
/** A worker asks the primary for the metrics of every worker, to answer GET /metrics. */
export const METRICS_REQUEST = 'event-gateway:metrics-request';
/** The primary asks a worker for its own metrics. */
export const METRICS_COLLECT = 'event-gateway:metrics-collect';
export const METRICS_PART = 'event-gateway:metrics-part';
/** The primary's answer to METRICS_REQUEST: the exposition text of the aggregate, or why not. */
export const METRICS_ANSWER = 'event-gateway:metrics-answer';

/** One worker's metrics as prom-client's cluster aggregation takes them. */
export type WorkerMetrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export type ClusterMessage =
  | { type: typeof WORKER_STARTED }
  | { type: typeof METRICS_READY }
  | { type: typeof METRICS_REQUEST; id: number }
  | { type: typeof METRICS_COLLECT; id: number }
  | { type: typeof METRICS_PART; id: number; metrics: WorkerMetrics | null }
  | { type: typeof METRICS_ANSWER; id: number; text: string | null; error?: string };

const TYPES = new Set<string>([
  WORKER_STARTED,
  METRICS_READY,
  METRICS_REQUEST,
  METRICS_COLLECT,
  METRICS_PART,
  METRICS_ANSWER,
]);

export function isClusterMessage(message: unknown): message is ClusterMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    TYPES.has((message as { type?: unknown }).type as string)
  );
}
