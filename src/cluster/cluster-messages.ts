/**
 * What the primary and its workers say to each other over the cluster's IPC channel. Every type
 * starts with `event-gateway:` so that messages of other libraries on the same channel are told
 * apart.
 *
 * The one exchange besides the start: a worker asks (REQUEST) for something every worker holds in
 * memory (its metrics, its discovery samples), the primary asks every worker for its part
 * (COLLECT), and answers the asker with all the parts (ANSWER); the asker merges them.
 */
export const WORKER_STARTED = 'event-gateway:worker-started';
/** A worker answers COLLECT from now on (it does before its gateway has started). */
export const WORKER_LISTENING = 'event-gateway:worker-listening';
export const REQUEST = 'event-gateway:request';
export const COLLECT = 'event-gateway:collect';
export const PART = 'event-gateway:part';
export const ANSWER = 'event-gateway:answer';

export type ClusterMessage =
  | { type: typeof WORKER_STARTED }
  | { type: typeof WORKER_LISTENING }
  | { type: typeof REQUEST; id: number; what: string; arg?: string }
  | { type: typeof COLLECT; id: number; what: string; arg?: string }
  /** `data` null: the worker has nothing to give for it (no such part, or reading it failed). */
  | { type: typeof PART; id: number; data: unknown }
  | { type: typeof ANSWER; id: number; parts: unknown[] | null; error?: string };

const TYPES = new Set<string>([WORKER_STARTED, WORKER_LISTENING, REQUEST, COLLECT, PART, ANSWER]);

export function isClusterMessage(message: unknown): message is ClusterMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    TYPES.has((message as { type?: unknown }).type as string)
  );
}
