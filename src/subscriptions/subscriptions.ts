import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { GatewayConfig } from '../config/gateway-config';
import type { Logger } from '../observability/logger';
import type { GatewayMetrics } from '../observability/metrics';
import { nameMatcher } from '../patterns/name-matcher';
import { compileRecordPattern, consumedMessageParts, recordEvent } from '../patterns/record-event';
import type { Applied, StateEntry } from '../state/state-ledger';
import { StaleRevisionError, type StateStore } from '../state/state-store';
import { ConcurrencyLimit } from './concurrency-limit';
import { DeadLetters } from './dead-letters';
import { recordEventType, type DeliveredRecord } from './delivery-format';
import { DeliveryRun } from './delivery-run';
import { GroupOffsets, type PartitionLag } from './group-offsets';
import type { DeliveryObserver, DeliveryTarget } from './record-delivery';
import { RequestPacer } from './request-pacer';
import type { SecretBox } from './secret-box';
import {
  DEFAULTS,
  eventIdentity,
  resolveRetry,
  SUBSCRIPTION_KIND,
  syncRoute,
  targetIdentity,
  type StoredReplay,
  type StoredSubscription,
  type SubscriptionSettings,
  type TargetAuth,
} from './subscription';
import { TargetClient } from './target-client';
import type { TargetPolicy } from './target-policy';

export interface SubscriptionsOptions {
  state: StateStore;
  kafka: Kafka;
  settings: GatewayConfig['subscriptions'];
  policy: TargetPolicy;
  /** Opens sealed target secrets; null when subscriptions.secretsKey is not set. */
  secrets: SecretBox | null;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Kafka's own topics and the gateway's (its state topic): never delivered, whatever a /regex/ matches. */
  internalTopic: (topic: string) => boolean;
}

/** What this instance did for a subscription; each instance counts its own. */
export interface DeliveryCounts {
  delivered: number;
  retried: number;
  deadLettered: number;
  lastError?: { at: string; message: string };
}

/** A subscription in force on this instance. */
export interface ActiveSubscription {
  readonly id: string;
  revision: string;
  /** The settings with the target's secrets opened. */
  readonly settings: SubscriptionSettings;
  stored: StoredSubscription;
  readonly client: TargetClient;
  /** Shared by live delivery and replays: the target sees the subscription's limits, not one set per consumer. */
  readonly pacer: RequestPacer;
  readonly limit: ConcurrencyLimit;
  readonly counts: DeliveryCounts;
  /** Null for a sync subscription, or when it is paused or could not be started. */
  run: DeliveryRun | null;
  readonly replays: Map<string, { run: DeliveryRun; ends: Record<string, string>; timer: NodeJS.Timeout }>;
  /** Why it is not in force as stored, if so. */
  problem: string | null;
}

/** Connections to a sync subscription's target per instance. */
const SYNC_CONNECTIONS = 64;

/** How often an instance running a replay asks whether the whole replay group reached its ends. */
const REPLAY_CHECK_MS = 2_000;

/**
 * The subscriptions stored in the state topic, in force on this instance: every instance runs a
 * member of each async subscription's consumer group (so Kafka spreads the partitions over the
 * fleet and moves them when an instance dies), and answers each sync subscription's route.
 */
export class Subscriptions {
  private readonly active = new Map<string, ActiveSubscription>();
  private readonly routes = new Map<string, ActiveSubscription>();
  /** Changes of one subscription run one after the other: a run is stopped before its next starts. */
  private readonly transitions = new Map<string, Promise<void>>();
  readonly offsets: GroupOffsets;
  private readonly deadLetters: DeadLetters;
  private readonly forgetting = new Set<NodeJS.Timeout>();
  private stopped = false;

  /** Must be built before `state` starts, so that it applies the subscriptions already stored. */
  constructor(private readonly options: SubscriptionsOptions) {
    this.offsets = new GroupOffsets(options.kafka);
    this.deadLetters = new DeadLetters(options.kafka, options.logger);
    options.state.onChange(SUBSCRIPTION_KIND, (change) => this.apply(change));
  }

  get(id: string): ActiveSubscription | undefined {
    return this.active.get(id);
  }

  /** The consumer group of an async subscription's live delivery. */
  groupId(id: string, epoch: string): string {
    return `${this.options.settings.groupIdPrefix}${id}.${epoch}`;
  }

  replayGroupId(id: string, replay: string): string {
    return `${this.options.settings.groupIdPrefix}${id}.replay.${replay}`;
  }

  static newEpoch(): string {
    return randomBytes(6).toString('hex');
  }

  /** The topics of the cluster that `entries` (names or /regex/) select now. */
  async resolveTopics(entries: readonly string[]): Promise<string[]> {
    const matches = nameMatcher([...entries]);
    const { internalTopic } = this.options;
    return (await this.offsets.topics()).filter((topic) => !internalTopic(topic) && matches(topic)).sort();
  }

  /** Why `settings` may not be stored as `id` beside the others (409), or null. */
  conflict(id: string, settings: SubscriptionSettings): string | null {
    const route = syncRoute(settings);
    const event = eventIdentity(settings);
    const target = targetIdentity(settings);
    for (const entry of this.options.state.list<StoredSubscription>(SUBSCRIPTION_KIND)) {
      if (entry.id === id) continue;
      const other = entry.document;
      // A sync subscription is its route: two on different routes may share a topic and a target.
      if (route !== null) {
        if (syncRoute(other) === route) return `subscription '${entry.id}' already answers ${route}`;
        continue;
      }
      if (other.type === 'async' && eventIdentity(other) === event && targetIdentity(other) === target)
        return `subscription '${entry.id}' already delivers the same events to the same target`;
    }
    return null;
  }

  /** The sync subscription answering `method` on `path`, if any. */
  syncFor(method: string, path: string): ActiveSubscription | undefined {
    return this.routes.get(`${method} ${path}`);
  }

  /** The methods sync subscriptions answer on `path` (for a 405's Allow). */
  syncMethods(path: string): string[] {
    const methods: string[] = [];
    for (const [route, active] of this.routes)
      if (active.settings.sync?.path === path) methods.push(route.split(' ', 1)[0]);
    return methods;
  }

  /** The opened auth of a stored subscription (for GET's view, which shows its non-secret parts). */
  openAuth(stored: StoredSubscription): TargetAuth | undefined {
    if (stored.sealed === undefined) return stored.target.auth;
    if (this.options.secrets === null) return undefined;
    return this.options.secrets.open(stored.sealed) as TargetAuth;
  }

  /** What GET /subscriptions/{id}/status reports; lag is read from Kafka. */
  async status(id: string): Promise<{ lag: PartitionLag[]; replays: { id: string; lag: PartitionLag[] }[] }> {
    const active = this.active.get(id);
    if (active === undefined || active.settings.type !== 'async') return { lag: [], replays: [] };
    const topics = await this.resolveTopics(active.settings.events.topics);
    const lag = await this.offsets.lag(this.groupId(id, active.stored.epoch), topics);
    const replays = [];
    for (const replay of active.stored.replays ?? []) {
      const replayTopics = [
        ...new Set(Object.keys(replay.endOffsets).map((key) => key.slice(0, key.lastIndexOf(':')))),
      ];
      const replayLag = await this.offsets.lag(this.replayGroupId(id, replay.id), replayTopics);
      for (const entry of replayLag) {
        const end = replay.endOffsets[`${entry.topic}:${entry.partition}`];
        if (end === undefined) continue;
        entry.end = end;
        entry.lag = entry.committed === null ? 0 : Math.max(0, Number(BigInt(end) - BigInt(entry.committed)));
      }
      replays.push({ id: replay.id, lag: replayLag });
    }
    return { lag, replays };
  }

  /**
   * Deletes consumer groups nobody uses any more (a deleted subscription, a replaced epoch), once
   * every instance had time to leave them: Kafka refuses to delete a group with members. Best
   * effort; a group left behind holds only offsets and expires with offsets.retention.minutes.
   */
  forgetGroupsLater(groupIds: readonly string[]): void {
    const timer = setTimeout(() => {
      this.forgetting.delete(timer);
      void this.offsets.deleteGroups(groupIds).catch(() => undefined);
    }, this.options.settings.sessionTimeoutMs * 2);
    timer.unref();
    this.forgetting.add(timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.forgetting) clearTimeout(timer);
    await Promise.all([...this.active.keys()].map((id) => this.transition(id, () => this.deactivate(id))));
    // A subscription deleted just before is no longer active, but its delivery may still be
    // leaving its group: the stop waits for every change under way.
    await Promise.all(this.transitions.values());
    await this.deadLetters.stop();
    await this.offsets.stop();
  }

  private transition(id: string, step: () => Promise<void>): Promise<void> {
    const next = (this.transitions.get(id) ?? Promise.resolve()).then(step).catch((error: unknown) => {
      this.options.logger.error(
        { subscription: id, err: (error as Error).message },
        'subscription: a change could not be applied',
      );
    });
    this.transitions.set(id, next);
    return next;
  }

  private apply(change: Applied): void {
    const { id } = change;
    const entry =
      change.outcome === 'deleted' ? undefined : (change.entry as StateEntry<StoredSubscription> | undefined);
    // Delivery starts and stops in the background: the state topic's next record must not wait
    // for a consumer group to be joined or left.
    void this.transition(id, async () => {
      const previous = this.active.get(id);
      if (
        previous !== undefined &&
        entry !== undefined &&
        !this.stopped &&
        onlyReplaysChanged(previous, entry.document)
      ) {
        // A replay asked for or finished: live delivery goes on untouched, or every such change
        // would abandon (and so deliver twice) whatever was in flight on every instance.
        previous.stored = entry.document;
        previous.revision = entry.revision;
        await this.reconcileReplays(previous);
        return;
      }
      await this.deactivate(id);
      if (entry === undefined || this.stopped) {
        if (previous !== undefined) this.options.metrics.subscriptionLag.remove({ subscription: id });
        return;
      }
      this.activate(id, entry, previous?.counts);
    });
  }

  private async deactivate(id: string): Promise<void> {
    const active = this.active.get(id);
    if (active === undefined) return;
    this.active.delete(id);
    const route = syncRoute(active.settings);
    if (route !== null && this.routes.get(route) === active) this.routes.delete(route);
    const stopping: Promise<void>[] = [];
    if (active.run !== null) stopping.push(active.run.stop());
    for (const replay of active.replays.values()) {
      clearInterval(replay.timer);
      stopping.push(replay.run.stop());
    }
    await Promise.all(stopping);
    active.client.close();
  }

  private activate(
    id: string,
    entry: StateEntry<StoredSubscription>,
    counts: DeliveryCounts | undefined,
  ): void {
    const { logger, policy, settings: config } = this.options;
    const stored = entry.document;
    let auth: TargetAuth | undefined;
    let problem: string | null = null;
    try {
      auth = this.openAuth(stored);
      if (stored.sealed !== undefined && auth === undefined)
        problem = 'its target secrets are sealed and subscriptions.secretsKey is not set here';
    } catch (error) {
      problem = `its target secrets cannot be opened with this instance's subscriptions.secretsKey: ${(error as Error).message}`;
    }
    const settings: SubscriptionSettings = {
      ...stored,
      target: { ...stored.target, ...(auth !== undefined && { auth }) },
    };
    // A sync subscription's requests are its callers', so its connections are bounded by what the
    // HTTP server lets in, not by an async delivery's concurrency (refused on sync subscriptions).
    const concurrency =
      settings.type === 'sync' ? SYNC_CONNECTIONS : (settings.concurrency ?? DEFAULTS.concurrency);
    const client = new TargetClient({
      target: settings.target,
      policy,
      maxConnections: concurrency,
      maxResponseBytes: config.maxResponseBytes,
    });
    const active: ActiveSubscription = {
      id,
      revision: entry.revision,
      settings,
      stored,
      client,
      pacer: new RequestPacer(settings.rateLimit?.requestsPerSecond),
      limit: new ConcurrencyLimit(concurrency),
      counts: counts ?? { delivered: 0, retried: 0, deadLettered: 0 },
      run: null,
      replays: new Map(),
      problem,
    };
    this.active.set(id, active);
    // A sync route that cannot be served here still answers (503, with why) rather than a 404.
    const route = syncRoute(settings);
    if (route !== null) this.routes.set(route, active);
    if (problem !== null) {
      logger.error(
        { subscription: id, revision: entry.revision, problem },
        'subscription: not in force here',
      );
      return;
    }
    if (route !== null) return;
    if (stored.paused === true) return;
    active.run = this.startRun(active, this.groupId(id, stored.epoch), null);
    for (const replay of stored.replays ?? []) this.startReplay(active, replay);
  }

  private startRun(
    active: ActiveSubscription,
    groupId: string,
    ends: Record<string, string> | null,
  ): DeliveryRun {
    const { settings, id } = active;
    const { metrics, logger } = this.options;
    const concurrency = settings.concurrency ?? DEFAULTS.concurrency;
    const target: DeliveryTarget = {
      subscription: id,
      client: active.client,
      format: settings.format ?? DEFAULTS.format,
      retry: resolveRetry(settings.retry),
      deadLetterTopic: settings.deadLetterTopic!,
      pacer: active.pacer,
      limit: active.limit,
    };
    const run = new DeliveryRun({
      kafka: this.options.kafka,
      groupId,
      subscription: id,
      resolveTopics: async () => {
        if (ends === null) return this.resolveTopics(settings.events.topics);
        return [...new Set(Object.keys(ends).map((key) => key.slice(0, key.lastIndexOf(':'))))];
      },
      endOffsets:
        ends === null ? null : new Map(Object.entries(ends).map(([key, offset]) => [key, BigInt(offset)])),
      matches: recordFilter(settings),
      target,
      concurrency,
      deadLetters: this.deadLetters,
      observer: this.observer(active),
      sessionTimeoutMs: this.options.settings.sessionTimeoutMs,
      topicRefreshMs: this.options.settings.topicRefreshMs,
      logger,
      ...(ends === null && {
        onLag: (lag: number) => metrics.subscriptionLag.set({ subscription: id }, lag),
      }),
    });
    run.start();
    return run;
  }

  private async reconcileReplays(active: ActiveSubscription): Promise<void> {
    const wanted = new Map((active.stored.replays ?? []).map((replay) => [replay.id, replay]));
    const stopping: Promise<void>[] = [];
    for (const [id, replay] of active.replays) {
      if (wanted.has(id)) continue;
      clearInterval(replay.timer);
      active.replays.delete(id);
      stopping.push(replay.run.stop());
    }
    if (active.run !== null)
      for (const [id, replay] of wanted) if (!active.replays.has(id)) this.startReplay(active, replay);
    await Promise.all(stopping);
  }

  private startReplay(active: ActiveSubscription, replay: StoredReplay): void {
    const run = this.startRun(active, this.replayGroupId(active.id, replay.id), replay.endOffsets);
    const timer = setInterval(() => void this.checkReplay(active, replay.id), REPLAY_CHECK_MS);
    timer.unref();
    active.replays.set(replay.id, { run, ends: replay.endOffsets, timer });
  }

  /** A replay that reached its ends in every partition is removed from the subscription (by whichever instance sees it first). */
  private async checkReplay(active: ActiveSubscription, replayId: string): Promise<void> {
    const replay = active.replays.get(replayId);
    if (replay === undefined || this.active.get(active.id) !== active) return;
    const groupId = this.replayGroupId(active.id, replayId);
    const reached = await this.offsets.reached(groupId, replay.ends).catch(() => false);
    if (!reached) return;
    clearInterval(replay.timer);
    const { state, logger } = this.options;
    for (let tries = 0; tries < 3; tries++) {
      const current = state.get<StoredSubscription>(SUBSCRIPTION_KIND, active.id);
      if (current === undefined || !(current.document.replays ?? []).some((r) => r.id === replayId)) return;
      const replays = current.document.replays!.filter((r) => r.id !== replayId);
      const { replays: _dropped, ...rest } = current.document;
      try {
        await state.put<StoredSubscription>(
          SUBSCRIPTION_KIND,
          active.id,
          { ...rest, ...(replays.length > 0 && { replays }) },
          { ifMatch: current.revision, by: 'gateway' },
        );
        logger.info({ subscription: active.id, replay: replayId }, 'subscription: replay finished');
        await this.offsets.deleteGroups([groupId]);
        return;
      } catch (error) {
        if (!(error instanceof StaleRevisionError)) return;
      }
    }
  }

  private observer(active: ActiveSubscription): DeliveryObserver {
    const { metrics } = this.options;
    const subscription = active.id;
    const counts = active.counts;
    // Label children bound once: a delivery counts with a map lookup, not a hash of its labels.
    const attempts = new Map<string, ReturnType<GatewayMetrics['subscriptionAttempts']['labels']>>();
    const delivered = metrics.subscriptionDeliveries.labels(subscription, 'delivered');
    const latency = metrics.subscriptionLatency.labels(subscription);
    return {
      attempted: (result) => {
        let counter = attempts.get(result);
        if (counter === undefined) {
          counter = metrics.subscriptionAttempts.labels(subscription, result);
          attempts.set(result, counter);
        }
        counter.inc();
      },
      delivered: (record) => {
        counts.delivered++;
        delivered.inc();
        const timestamp = Number(record.timestamp);
        if (Number.isFinite(timestamp)) latency.observe(Math.max(0, Date.now() - timestamp) / 1000);
      },
      retrying: (_record, attempt) => {
        counts.retried++;
        counts.lastError = { at: new Date().toISOString(), message: attemptText(attempt) };
      },
      deadLettered: (_record, error) => {
        counts.deadLettered++;
        counts.lastError = { at: new Date().toISOString(), message: error };
        metrics.subscriptionDeliveries.inc({ subscription, outcome: 'dead_lettered' });
      },
    };
  }
}

function attemptText(attempt: Parameters<DeliveryObserver['retrying']>[1]): string {
  switch (attempt.kind) {
    case 'answered':
      return `the target answered ${attempt.status}`;
    case 'timeout':
      return 'no answer within the timeout';
    case 'unreachable':
      return attempt.error;
    case 'refused':
      return attempt.reason;
  }
}

/** Whether `next` differs from what `active` delivers by its replays alone. */
function onlyReplaysChanged(active: ActiveSubscription, next: StoredSubscription): boolean {
  if (active.problem !== null) return false;
  const { replays: _before, ...before } = active.stored;
  const { replays: _after, ...after } = next;
  return JSON.stringify(before) === JSON.stringify(after);
}

/** Which records a subscription delivers: of its CloudEvents type (when set) and matching its pattern (when set). */
export function recordFilter(settings: SubscriptionSettings): (record: DeliveredRecord) => boolean {
  const type = settings.events.type;
  const pattern =
    settings.events.pattern === undefined ? null : compileRecordPattern(settings.events.pattern);
  if (type === undefined && pattern === null) return () => true;
  return (record) => {
    if (type !== undefined && recordEventType(record) !== type) return false;
    return pattern === null || pattern.matches(recordEvent(consumedMessageParts(record), pattern.fields));
  };
}
