import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from '../http/api-error';
import type { Logger } from '../observability/logger';
import { entryRegex, isRegexEntry, nameMatcher } from '../patterns/name-matcher';
import { addressEntryProblem, addressMatcher, normalizeIp } from '../quotas/client-address';
import { TokenBucket } from '../quotas/token-bucket';
import type { Applied, StateEntry } from '../state/state-ledger';
import type { StateStore } from '../state/state-store';

/** The state kind API keys are stored under; the id is the key's name. */
export const API_KEY_KIND = 'apikey';

/** What a key's name may be: it is a state id and appears in logs and URLs. */
export const API_KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Longer than any secret this gateway hands out (43 characters); anything longer is not one of
 * ours and is refused before it is hashed.
 */
const MAX_SECRET_LENGTH = 256;

/** How much of a client-supplied value a refusal quotes. */
const QUOTE_LIMIT = 120;

export interface ApiKeyGrants {
  /** Topics the key may publish to: names, or `/regex/` entries. */
  topics: string[];
  /** CloudEvents sources allowed (exact, or a prefix ending in `*`); absent: any. */
  sources?: string[];
  /** CloudEvents types allowed (exact, or a prefix ending in `*`); absent: any. */
  types?: string[];
}

export interface ApiKeyRate {
  eventsPerSecond?: number;
  bytesPerSecond?: number;
}

/** What a key is allowed, as its management route takes it. */
export interface ApiKeySettings {
  grants: ApiKeyGrants;
  rate?: ApiKeyRate;
  /** Client addresses the key may be used from: IPs or CIDR blocks; absent: anywhere. */
  allowFrom?: string[];
  description?: string;
}

/** The stored document: the settings and the hash of the secret, never the secret. */
export interface StoredApiKey extends ApiKeySettings {
  /** sha-256 (hex) of the secret. */
  secretHash: string;
}

export type Admission = { ok: true } | { ok: false; retryAfterSeconds: number };

/** An authenticated publisher: what its key lets it do. */
export interface PublisherKey {
  readonly name: string;
  mayPublish(topic: string): boolean;
  /** null when the key may send events of this CloudEvents source and type; otherwise why not. */
  mayUse(source: string, type: string): string | null;
  /** Charges `events` and `bytes` to the key's rate; refused while the key is over it. */
  admit(events: number, bytes: number): Admission;
}

export interface ApiKeysOptions {
  logger: Logger;
  /** Milliseconds from any monotonic origin; performance.now() unless a test drives time. */
  now?: () => number;
  /**
   * Gateway processes serving the HTTP door (`workers`): each holds an equal share of every key's
   * rate, as each holds a share of the produce quotas.
   */
  workers?: number;
}

/**
 * A new secret: 32 random bytes, base64url. With that much entropy nobody can guess one, so a
 * fast unsalted hash is enough to keep it out of the state topic.
 */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The problems of key settings that their JSON Schema cannot express; empty when they are sound. */
export function apiKeyProblems(settings: ApiKeySettings): string[] {
  const problems: string[] = [];
  settings.grants.topics.forEach((entry, i) => {
    if (!isRegexEntry(entry)) return;
    try {
      entryRegex(entry);
    } catch (error) {
      problems.push(`grants.topics.${i}: ${(error as Error).message}`);
    }
  });
  const { rate } = settings;
  if (rate !== undefined && rate.eventsPerSecond === undefined && rate.bytesPerSecond === undefined)
    problems.push('rate: needs eventsPerSecond, bytesPerSecond or both');
  (settings.allowFrom ?? []).forEach((entry, i) => {
    const problem = addressEntryProblem(entry);
    if (problem !== null) problems.push(`allowFrom.${i}: ${problem}`);
  });
  return problems;
}

function quote(value: string): string {
  return JSON.stringify(value.length > QUOTE_LIMIT ? `${value.slice(0, QUOTE_LIMIT)}…` : value);
}

/** CloudEvents source or type lists: exact strings, or prefixes written with a trailing `*`. */
function prefixMatcher(entries: readonly string[] | undefined): (value: string) => boolean {
  if (entries === undefined) return () => true;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const entry of entries) {
    if (entry.endsWith('*')) prefixes.push(entry.slice(0, -1));
    else exact.add(entry);
  }
  return (value) => exact.has(value) || prefixes.some((prefix) => value.startsWith(prefix));
}

interface Buckets {
  events: TokenBucket | null;
  bytes: TokenBucket | null;
}

/** A stored key made ready to check requests against. */
class CompiledKey implements PublisherKey {
  readonly secretHash: string;
  private readonly topics: (topic: string) => boolean;
  private readonly sources: (source: string) => boolean;
  private readonly types: (type: string) => boolean;
  private readonly allowFrom: ((address: string) => boolean) | null;

  constructor(
    readonly name: string,
    document: StoredApiKey,
    readonly buckets: Buckets,
    private readonly now: () => number,
  ) {
    if (typeof document.secretHash !== 'string' || !Array.isArray(document.grants?.topics))
      throw new Error('the stored document is not an API key');
    this.secretHash = document.secretHash;
    this.topics = nameMatcher(document.grants.topics);
    this.sources = prefixMatcher(document.grants.sources);
    this.types = prefixMatcher(document.grants.types);
    const problem = (document.allowFrom ?? []).map(addressEntryProblem).find((p) => p !== null);
    if (problem) throw new Error(`allowFrom: ${problem}`);
    this.allowFrom = document.allowFrom === undefined ? null : addressMatcher(document.allowFrom);
  }

  allows(address: string): boolean {
    return this.allowFrom === null || this.allowFrom(address);
  }

  mayPublish(topic: string): boolean {
    return this.topics(topic);
  }

  mayUse(source: string, type: string): string | null {
    if (!this.sources(source)) return `API key '${this.name}' may not send events of source ${quote(source)}`;
    if (!this.types(type)) return `API key '${this.name}' may not send events of type ${quote(type)}`;
    return null;
  }

  /**
   * Like a Kafka hard quota: a request that finds the key within its rate goes through even when
   * it overdraws it (so a request larger than one second's worth is slow, not impossible), and
   * the key's next requests are refused until the debt is paid back.
   */
  admit(events: number, bytes: number): Admission {
    const now = this.now();
    const debtMs = Math.max(this.buckets.events?.debtMs(now) ?? 0, this.buckets.bytes?.debtMs(now) ?? 0);
    if (debtMs > 0) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(debtMs / 1000)) };
    this.buckets.events?.take(events, now);
    this.buckets.bytes?.take(bytes, now);
    return { ok: true };
  }
}

/**
 * Buckets for `rate`, carrying over `previous` (a replaced version of the key), debts included:
 * changing a key must not let a publisher that is over its rate start afresh.
 */
function bucketsFor(
  rate: ApiKeyRate | undefined,
  previous: Buckets | undefined,
  now: number,
  workers: number,
): Buckets {
  const bucket = (configured: number | undefined, kept: TokenBucket | null | undefined) => {
    if (configured === undefined || !(configured > 0)) return null;
    const perSecond = configured / workers;
    // One second's worth of burst: enough for a client that sends in bursts, never more.
    if (kept) {
      kept.reconfigure(perSecond, perSecond, now);
      return kept;
    }
    return new TokenBucket(perSecond, perSecond, now);
  };
  return {
    events: bucket(rate?.eventsPerSecond, previous?.events),
    bytes: bucket(rate?.bytesPerSecond, previous?.bytes),
  };
}

/** The secret a request presents: `Authorization: Bearer <secret>` or `X-API-Key: <secret>`. */
function presentedSecret(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  // The scheme name is case-insensitive (RFC 9110, 11.1).
  if (typeof authorization === 'string' && authorization.slice(0, 7).toLowerCase() === 'bearer ')
    return authorization.slice(7).trim();
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string') return apiKey.trim();
  return undefined;
}

/**
 * The publishers' API keys, as stored in the state topic. Every instance follows the topic, so a
 * key created, replaced or deleted on one instance takes effect on all of them.
 *
 * Rates are per instance: each instance counts the requests it serves, so a fleet of N instances
 * behind a load balancer lets a key through at up to N times its rate. The workers of one
 * instance (`workers`) divide the rate between them instead.
 */
export class ApiKeys {
  private readonly byName = new Map<string, CompiledKey>();
  private readonly byHash = new Map<string, CompiledKey>();
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly workers: number;

  /** Must be built before `state` starts, so that it applies the keys already stored. */
  constructor(state: StateStore, options: ApiKeysOptions) {
    this.now = options.now ?? (() => performance.now());
    this.logger = options.logger;
    this.workers = options.workers ?? 1;
    state.onChange(API_KEY_KIND, (change) => this.apply(change));
  }

  /** Keys in force here. */
  get size(): number {
    return this.byName.size;
  }

  /**
   * The key a request presents, if it is known and may be used from `clientAddress`; otherwise an
   * ApiError: 401 (no key, or not one of ours), 403 (not from this address). The secret is found
   * by its hash, so how long the lookup takes says nothing about how close a guess came.
   */
  authenticate(headers: IncomingHttpHeaders, clientAddress: string): PublisherKey {
    const secret = presentedSecret(headers);
    if (secret === undefined || secret === '')
      throw unauthorized('an API key is required: Authorization: Bearer <key> or X-API-Key: <key>');
    const key = secret.length > MAX_SECRET_LENGTH ? undefined : this.byHash.get(hashSecret(secret));
    if (key === undefined) throw unauthorized('the API key is not valid');
    if (!key.allows(clientAddress))
      throw new ApiError(
        403,
        `API key '${key.name}' may not be used from client address ${quote(normalizeIp(clientAddress))}`,
      );
    return key;
  }

  private apply(change: Applied): void {
    const previous = this.byName.get(change.id);
    if (previous !== undefined) {
      this.byName.delete(change.id);
      this.byHash.delete(previous.secretHash);
    }
    if (change.outcome === 'deleted' || change.entry === undefined) return;
    const { document } = change.entry as StateEntry<StoredApiKey>;
    let key: CompiledKey;
    try {
      key = new CompiledKey(
        change.id,
        document,
        bucketsFor(document.rate, previous?.buckets, this.now(), this.workers),
        this.now,
      );
    } catch (error) {
      // The previous version stays out too: a key is in force as stored, or not at all.
      this.logger.error(
        { apiKey: change.id, revision: change.entry.revision, err: (error as Error).message },
        'a stored API key cannot be used here; requests with it are refused',
      );
      return;
    }
    this.byName.set(key.name, key);
    this.byHash.set(key.secretHash, key);
  }
}

function unauthorized(reason: string): ApiError {
  return new ApiError(401, reason, {}, { 'www-authenticate': 'Bearer' });
}
