import { ConfigError } from '../config/load-config';
import type { ThrottleConfig, ThrottleQuota } from '../config/gateway-config';
import { entryRegex, isRegexEntry, nameMatcher } from '../patterns/name-matcher';
import { addressEntryProblem, addressMatcher, normalizeIp } from './client-address';
import { ConnectionLimiter } from './connection-limiter';
import { LruMap } from './lru-map';
import { TokenBucket } from './token-bucket';
import { workerShare } from './worker-share';

export type QuotaKind = ThrottleQuota['kind'];

/** What one produce request carries for one topic. */
export interface TopicUsage {
  topic: string;
  /** Record batch bytes as sent (compressed when the producer compressed). */
  bytes: number;
  records: number;
}

/** What a produce request weighs, and whose it is. */
export interface ProduceUsage {
  clientId: string | null;
  /** The producer's IP address, without a port. */
  clientAddress: string;
  topics: readonly TopicUsage[];
}

/** The manager's answer for one produce request. */
export type Admission =
  | { verdict: 'pass'; throttleMs: 0 }
  /** Forward it, and hold the producer back for `throttleMs` (`quota` is the one that asked for longest). */
  | { verdict: 'delay'; throttleMs: number; quota: ThrottleQuota }
  /** A hard limit is exhausted: refuse it; `throttleMs` is how long until that quota has room again. */
  | { verdict: 'reject'; throttleMs: number; quota: ThrottleQuota; reason: string };

/** Reports quota decisions (metrics and logs hang off this). */
export interface QuotaObserver {
  /** A request went over `quota`; called once per quota it went over. */
  exceeded?(quota: ThrottleQuota, entity: string, action: 'delayed' | 'rejected', throttleMs: number): void;
  /** The delay a request was given, under the quota that asked for the longest one. */
  delayed?(quota: ThrottleQuota, throttleMs: number): void;
  /** A connection from `address` was refused: it already had `limit` open. */
  connectionRefused?(address: string, limit: number): void;
}

export interface QuotaManagerOptions {
  /** Milliseconds from any monotonic origin; performance.now() unless a test drives time. */
  now?: () => number;
  observer?: QuotaObserver;
  /**
   * Gateway processes enforcing the same settings (`workers`): each holds its share of every
   * rate (see workerShare). The settings reported stay the configured ones.
   */
  workers?: number;
}

/** The admission of a request no quota limits. */
export const PASS: Admission = Object.freeze({ verdict: 'pass', throttleMs: 0 });

/** How often buckets that refilled completely are dropped (they hold nothing a new one would not). */
const SWEEP_INTERVAL_MS = 10_000;

interface QuotaBuckets {
  bytes: TokenBucket | null;
  records: TokenBucket | null;
}

/** A request's share of one quota: the entity it is counted against and how much it takes. */
interface Charge {
  state: QuotaState;
  entity: string;
  bytes: number;
  records: number;
}

function describeEntity(kind: QuotaKind, entity: string): string {
  switch (kind) {
    case 'clientId':
      return entity === '' ? 'producers without a client id' : `client id '${entity}'`;
    case 'topic':
      return `topic '${entity}'`;
    case 'clientAddress':
      return `client address ${entity}`;
  }
}

function describeRates(quota: ThrottleQuota): string {
  const rates: string[] = [];
  if (quota.bytesPerSecond !== undefined) rates.push(`${quota.bytesPerSecond} bytes/s`);
  if (quota.recordsPerSecond !== undefined) rates.push(`${quota.recordsPerSecond} records/s`);
  return rates.join(', ');
}

/** The problems of a throttle section that its JSON schema cannot express; empty when it is sound. */
export function throttleProblems(config: ThrottleConfig): string[] {
  const problems: string[] = [];
  const names = new Map<string, number>();
  config.quotas.forEach((quota, i) => {
    const at = `throttle.quotas.${i}`;
    const earlier = names.get(quota.name);
    if (earlier !== undefined)
      problems.push(`${at}.name: '${quota.name}' is already the name of throttle.quotas.${earlier}`);
    names.set(quota.name, i);
    if (quota.bytesPerSecond === undefined && quota.recordsPerSecond === undefined)
      problems.push(`${at}: needs bytesPerSecond, recordsPerSecond or both`);
    if (quota.burstBytes !== undefined && quota.bytesPerSecond === undefined)
      problems.push(`${at}.burstBytes: only applies with bytesPerSecond`);
    if (quota.burstRecords !== undefined && quota.recordsPerSecond === undefined)
      problems.push(`${at}.burstRecords: only applies with recordsPerSecond`);
    (quota.match ?? []).forEach((entry, j) => {
      const where = `${at}.match.${j}`;
      if (quota.kind === 'clientAddress') {
        const problem = addressEntryProblem(entry);
        if (problem !== null) problems.push(`${where}: ${problem}`);
      } else if (isRegexEntry(entry)) {
        try {
          entryRegex(entry);
        } catch (error) {
          problems.push(`${where}: ${(error as Error).message}`);
        }
      }
    });
  });
  return problems;
}

/** One configured quota and the buckets of the entities it has seen. */
class QuotaState {
  matches: (entity: string) => boolean;
  readonly buckets: LruMap<string, QuotaBuckets>;

  constructor(
    public quota: ThrottleQuota,
    maxBuckets: number,
  ) {
    this.matches = QuotaState.matcher(quota);
    this.buckets = new LruMap(maxBuckets);
  }

  static matcher(quota: ThrottleQuota): (entity: string) => boolean {
    if (quota.match === undefined) return () => true;
    return quota.kind === 'clientAddress' ? addressMatcher(quota.match) : nameMatcher(quota.match);
  }

  /** Whether the buckets of `quota` (a reloaded version of this one) can carry over. */
  sameEntities(quota: ThrottleQuota): boolean {
    return (
      quota.name === this.quota.name && quota.kind === this.quota.kind && quota.shared === this.quota.shared
    );
  }

  bucketsFor(entity: string, now: number): QuotaBuckets {
    // A shared quota is one bucket for every entity it matches.
    const key = this.quota.shared ? '' : entity;
    let buckets = this.buckets.get(key);
    if (buckets === undefined) {
      buckets = { bytes: null, records: null };
      this.buckets.set(key, buckets);
    }
    const { bytesPerSecond, recordsPerSecond } = this.quota;
    if (bytesPerSecond !== undefined)
      buckets.bytes ??= new TokenBucket(bytesPerSecond, this.quota.burstBytes ?? bytesPerSecond, now);
    if (recordsPerSecond !== undefined)
      buckets.records ??= new TokenBucket(recordsPerSecond, this.quota.burstRecords ?? recordsPerSecond, now);
    return buckets;
  }

  reconfigure(quota: ThrottleQuota, maxBuckets: number, now: number): void {
    this.quota = quota;
    this.matches = QuotaState.matcher(quota);
    this.buckets.resize(maxBuckets);
    for (const buckets of this.buckets.values()) {
      if (quota.bytesPerSecond === undefined) buckets.bytes = null;
      else buckets.bytes?.reconfigure(quota.bytesPerSecond, quota.burstBytes ?? quota.bytesPerSecond, now);
      if (quota.recordsPerSecond === undefined) buckets.records = null;
      else
        buckets.records?.reconfigure(
          quota.recordsPerSecond,
          quota.burstRecords ?? quota.recordsPerSecond,
          now,
        );
    }
  }

  sweep(now: number): void {
    this.buckets.sweep(
      (buckets) => (buckets.bytes?.isFull(now) ?? true) && (buckets.records?.isFull(now) ?? true),
    );
  }
}

/**
 * Produce quotas per client id, per topic and per client address, in bytes and records per
 * second, each a token bucket per entity (client id, topic or address) with a burst allowance.
 *
 * Within a kind the first quota whose `match` covers the entity applies, so specific quotas listed
 * before a catch-all override it, as a Kafka broker's client-id quota overrides its default.
 * Quotas of different kinds all apply, and the strictest decides.
 *
 * A request over a quota is charged anyway (the bucket goes into debt) and gets the time until
 * the debt is paid back as its throttle time. A quota with `hardLimit` instead refuses requests
 * while its bucket is in debt, and charges nothing for them; a request that finds it solvent is
 * let through even when it overdraws it (Kafka's strict controller-mutation quota), so a request
 * larger than the burst is delayed, not impossible.
 */
export class QuotaManager {
  readonly connections: ConnectionLimiter;
  /** The manager's clock; whatever delays what it decides must measure time with it. */
  readonly now: () => number;
  private readonly observer: QuotaObserver | undefined;
  private settings!: ThrottleConfig;
  private states: QuotaState[] = [];
  private lastSweep: number;
  private anyRecordRates = false;
  private readonly workers: number;

  constructor(config: ThrottleConfig, options: QuotaManagerOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.workers = options.workers ?? 1;
    this.observer = options.observer;
    this.lastSweep = this.now();
    this.connections = new ConnectionLimiter(undefined, (address, limit) =>
      this.observer?.connectionRefused?.(address, limit),
    );
    this.update(config);
  }

  /** True when some quota is configured; without one produce requests are not even measured. */
  get active(): boolean {
    return this.states.length > 0;
  }

  /** Whether requests must have their records counted (some quota limits records per second). */
  get countsRecords(): boolean {
    return this.anyRecordRates;
  }

  /** The throttle settings in force. */
  get config(): ThrottleConfig {
    return this.settings;
  }

  /** Buckets currently held, over every quota. */
  bucketCount(): number {
    return this.states.reduce((sum, state) => sum + state.buckets.size, 0);
  }

  /**
   * Replaces the settings. Quotas keeping their name, kind and sharing keep their buckets, debts
   * included, with the new rates from now on; the others start with full buckets. Throws a
   * ConfigError (and changes nothing) when the settings are not sound.
   */
  update(config: ThrottleConfig): void {
    const problems = throttleProblems(config);
    if (problems.length > 0) throw new ConfigError('throttle', problems);
    const now = this.now();
    const previous = this.states;
    this.states = config.quotas.map((configured) => {
      const quota = workerShare(configured, this.workers);
      const kept = previous.find((state) => state.sameEntities(quota));
      if (kept === undefined) return new QuotaState(quota, config.maxBuckets);
      kept.reconfigure(quota, config.maxBuckets, now);
      return kept;
    });
    this.settings = config;
    this.anyRecordRates = config.quotas.some((quota) => quota.recordsPerSecond !== undefined);
    this.connections.setLimit(config.maxConnectionsPerAddress);
  }

  /** Charges a produce request to the quotas it falls under and says what becomes of it. */
  admitProduce(usage: ProduceUsage): Admission {
    if (this.states.length === 0) return PASS;
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_INTERVAL_MS) {
      this.lastSweep = now;
      for (const state of this.states) state.sweep(now);
    }
    const charges = this.chargesOf(usage);
    if (charges.length === 0) return PASS;

    let refusal: { charge: Charge; ms: number } | null = null;
    for (const charge of charges) {
      if (!charge.state.quota.hardLimit) continue;
      const buckets = charge.state.bucketsFor(charge.entity, now);
      const ms = Math.max(buckets.bytes?.debtMs(now) ?? 0, buckets.records?.debtMs(now) ?? 0);
      if (ms > 0 && (refusal === null || ms > refusal.ms)) refusal = { charge, ms };
    }
    if (refusal !== null) {
      const { state, entity } = refusal.charge;
      const throttleMs = Math.min(Math.ceil(refusal.ms), this.settings.maxThrottleMs);
      this.observer?.exceeded?.(state.quota, entity, 'rejected', throttleMs);
      return {
        verdict: 'reject',
        throttleMs,
        quota: state.quota,
        reason:
          `${describeEntity(state.quota.kind, entity)} is over the produce quota '${state.quota.name}' ` +
          `(${describeRates(state.quota)}); retry in ${Math.ceil(refusal.ms)} ms`,
      };
    }

    let longest: { quota: ThrottleQuota; ms: number } | null = null;
    for (const charge of charges) {
      const buckets = charge.state.bucketsFor(charge.entity, now);
      const ms = Math.max(
        buckets.bytes?.take(charge.bytes, now) ?? 0,
        buckets.records?.take(charge.records, now) ?? 0,
      );
      // A hard limit's debt is collected by refusing the next requests, not by delaying this one.
      if (ms <= 0 || charge.state.quota.hardLimit) continue;
      const throttleMs = Math.min(Math.ceil(ms), this.settings.maxThrottleMs);
      this.observer?.exceeded?.(charge.state.quota, charge.entity, 'delayed', throttleMs);
      if (longest === null || ms > longest.ms) longest = { quota: charge.state.quota, ms };
    }
    if (longest === null) return PASS;
    const throttleMs = Math.min(Math.ceil(longest.ms), this.settings.maxThrottleMs);
    if (throttleMs <= 0) return PASS;
    this.observer?.delayed?.(longest.quota, throttleMs);
    return { verdict: 'delay', throttleMs, quota: longest.quota };
  }

  private chargesOf(usage: ProduceUsage): Charge[] {
    const charges: Charge[] = [];
    let bytes = 0;
    let records = 0;
    for (const topic of usage.topics) {
      bytes += topic.bytes;
      records += topic.records;
    }
    const clientId = usage.clientId ?? '';
    const byClient = this.first('clientId', clientId);
    if (byClient !== undefined) charges.push({ state: byClient, entity: clientId, bytes, records });
    const address = normalizeIp(usage.clientAddress);
    const byAddress = this.first('clientAddress', address);
    if (byAddress !== undefined) charges.push({ state: byAddress, entity: address, bytes, records });
    for (const topic of usage.topics) {
      const byTopic = this.first('topic', topic.topic);
      if (byTopic !== undefined)
        charges.push({ state: byTopic, entity: topic.topic, bytes: topic.bytes, records: topic.records });
    }
    return charges;
  }

  private first(kind: QuotaKind, entity: string): QuotaState | undefined {
    for (const state of this.states) if (state.quota.kind === kind && state.matches(entity)) return state;
    return undefined;
  }
}
