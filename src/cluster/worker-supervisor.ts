import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../observability/logger';
import { RestartBackoff } from '../tap/restart-backoff';
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
import { Gathering } from './gathering';

/** The environment variable that tells a worker its slot (1..n); a restarted worker keeps its slot. */
export const WORKER_SLOT_ENV = 'GATEWAY_WORKER_SLOT';

const RESTART_INITIAL_MS = 1_000;
const RESTART_MAX_MS = 30_000;
/** A worker that served this long before dying is restarted after the shortest delay again. */
const HEALTHY_RUN_MS = 30_000;
/** How long a worker may take to give its part (metrics, samples) before the asker goes on without it. */
const PART_TIMEOUT_MS = 3_000;
/** Beyond the workers' own drain time, before the primary kills those still running. */
const STOP_MARGIN_MS = 15_000;

export interface SupervisorOptions {
  workers: number;
  /** Each worker drains for up to this long when stopped (shutdown.drainTimeoutMs). */
  drainTimeoutMs: number;
  logger: Logger;
  /** Ends the primary process; process.exit unless a test watches. */
  exit?: (code: number) => void;
}

interface Slot {
  index: number;
  worker: Worker | null;
  /** When its current worker reported the gateway started; null until then. */
  startedAt: number | null;
  /** Its current worker answers COLLECT (from before its gateway has started). */
  listening: boolean;
  backoff: RestartBackoff;
  restartTimer: NodeJS.Timeout | null;
}

/**
 * The primary of `workers: n`: forks one full gateway per slot, all listening on the same ports
 * (the primary accepts and hands connections out round robin), restarts a worker that dies (with
 * backoff, per slot), gathers what every worker holds for whichever worker needs it (GET /metrics,
 * discovery), and on SIGTERM or SIGINT stops every worker and exits. It runs no gateway code
 * itself, so nothing it does sits on a record's path.
 */
export class WorkerSupervisor {
  private readonly slots: Slot[];
  private readonly gathering = new Gathering(PART_TIMEOUT_MS);
  private readonly exit: (code: number) => void;
  /** Until every slot started once, a worker that dies is a failed start, and ends the primary. */
  private allStarted = false;
  private stopping = false;
  private failed = false;

  constructor(private readonly options: SupervisorOptions) {
    this.exit = options.exit ?? ((code) => process.exit(code));
    this.slots = Array.from({ length: options.workers }, (_, i) => ({
      index: i + 1,
      worker: null,
      startedAt: null,
      listening: false,
      backoff: new RestartBackoff(RESTART_INITIAL_MS, RESTART_MAX_MS),
      restartTimer: null,
    }));
  }

  start(): void {
    // Round robin over the workers whatever NODE_CLUSTER_SCHED_POLICY says: left to the kernel,
    // connections pile onto the busiest worker (it is the one awake in accept()).
    cluster.schedulingPolicy = cluster.SCHED_RR;
    for (const slot of this.slots) this.fork(slot);
    process.on('SIGTERM', () => this.stop('SIGTERM'));
    process.on('SIGINT', () => this.stop('SIGINT'));
  }

  private fork(slot: Slot): void {
    slot.restartTimer = null;
    slot.startedAt = null;
    slot.listening = false;
    const worker = cluster.fork({ [WORKER_SLOT_ENV]: String(slot.index) });
    slot.worker = worker;
    worker.on('message', (message: unknown) => {
      if (isClusterMessage(message)) this.onMessage(slot, worker, message);
    });
    worker.on('exit', (code, signal) => this.onExit(slot, worker, code, signal));
  }

  private onMessage(slot: Slot, worker: Worker, message: ClusterMessage): void {
    switch (message.type) {
      case WORKER_STARTED:
        if (slot.worker !== worker) return;
        slot.startedAt = Date.now();
        this.options.logger.info({ worker: slot.index, pid: worker.process.pid }, 'worker started');
        if (!this.allStarted && this.slots.every((s) => s.startedAt !== null)) {
          this.allStarted = true;
          this.options.logger.info({ workers: this.slots.length }, 'gateway started with every worker');
        }
        return;
      case WORKER_LISTENING:
        if (slot.worker === worker) slot.listening = true;
        return;
      case REQUEST: {
        const { id, what, arg } = message;
        this.gathering.collect(this.running(what, arg)).then(
          (parts) => this.send(worker, { type: ANSWER, id, parts }),
          (error: Error) => this.send(worker, { type: ANSWER, id, parts: null, error: error.message }),
        );
        return;
      }
      case PART:
        this.gathering.part(message.id, message.data);
        return;
      default:
        return;
    }
  }

  /** Workers that answer COLLECT and can still be reached, asked for `what`. */
  private running(what: string, arg: string | undefined): { ask(id: number): void }[] {
    return this.slots
      .filter((slot) => slot.worker !== null && slot.listening && slot.worker.isConnected())
      .map((slot) => {
        const worker = slot.worker!;
        return { ask: (id: number) => this.send(worker, { type: COLLECT, id, what, arg }) };
      });
  }

  private send(worker: Worker, message: ClusterMessage): void {
    // A worker that is going away cannot take messages; whoever waits on it times out instead.
    if (!worker.isConnected()) return;
    try {
      worker.send(message);
    } catch {
      // The channel closed between the check and the send.
    }
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    const ranMs = slot.startedAt === null ? 0 : Date.now() - slot.startedAt;
    const context = { worker: slot.index, pid: worker.process.pid, code, signal };
    if (this.stopping) {
      if (code !== 0) this.failed = true;
      this.options.logger.info(context, 'worker stopped');
      this.exitWhenAllGone();
      return;
    }
    if (!this.allStarted && slot.startedAt === null) {
      // A gateway that cannot start (a port taken, a broken spec file) would fail again at once;
      // as the single process does, the start fails as a whole.
      this.options.logger.error(context, 'a worker failed to start; stopping the gateway');
      this.failed = true;
      this.stop('start failed');
      return;
    }
    if (ranMs >= HEALTHY_RUN_MS) slot.backoff.reset();
    const delayMs = slot.backoff.next();
    this.options.logger.error(
      { ...context, ranMs, restartInMs: delayMs, restarts: slot.backoff.attempts },
      'worker exited; restarting it',
    );
    slot.restartTimer = setTimeout(() => this.fork(slot), delayMs);
  }

  /** Stops every worker (SIGTERM: each drains as a single gateway does) and exits once all are gone. */
  stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.options.logger.info({ reason }, 'shutting down: stopping every worker');
    for (const slot of this.slots) {
      if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
      slot.worker?.process.kill('SIGTERM');
    }
    const deadline = setTimeout(() => {
      for (const slot of this.slots) {
        if (slot.worker === null) continue;
        this.options.logger.error(
          { worker: slot.index, pid: slot.worker.process.pid },
          'worker still running after its drain time; killing it',
        );
        this.failed = true;
        slot.worker.process.kill('SIGKILL');
      }
    }, this.options.drainTimeoutMs + STOP_MARGIN_MS);
    deadline.unref();
    this.exitWhenAllGone();
  }

  private exitWhenAllGone(): void {
    if (this.slots.some((slot) => slot.worker !== null)) return;
    this.options.logger.info('stopped');
    this.exit(this.failed ? 1 : 0);
  }
}
