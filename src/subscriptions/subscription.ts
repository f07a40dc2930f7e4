import { entryRegex, isRegexEntry, nameMatcher } from '../patterns/name-matcher';
import { compileRecordPattern } from '../patterns/record-event';

/** The state kind subscriptions are stored under; the id is the subscription's name. */
export const SUBSCRIPTION_KIND = 'subscription';

/** What a subscription's id may be: it is a state id, part of a consumer group id, and in URLs. */
export const SUBSCRIPTION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export type DeliveryFormat = 'binary' | 'structured' | 'raw';

/** How the gateway authorises itself at the target. The secret parts are never shown by GET. */
export type TargetAuth =
  | { apiKey: { header: string; value: string } }
  | { basic: { username: string; password: string } }
  | {
      oauth2: {
        tokenUrl: string;
        clientId: string;
        clientSecret: string;
        scope?: string;
        audience?: string;
      };
    };

export interface TargetSettings {
  url: string;
  /** POST unless given. */
  method?: string;
  /** Sent with every request; the delivery format's headers and the auth header win over these. */
  headers?: Record<string, string>;
  /** How long one attempt may take, answer included. */
  timeoutMs?: number;
  auth?: TargetAuth;
}

export interface RetrySettings {
  /** Attempts in all, the first included. */
  maxAttempts?: number;
  /** No attempt starts this long after the first one. */
  maxAgeSeconds?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface SyncSettings {
  /** The gateway's own path that callers use; under the configured prefix (subscriptions.syncPathPrefix). */
  path: string;
  method?: string;
  cors?: { origins: string[] };
}

/** A subscription as `PUT /subscriptions/{id}` takes it. */
export interface SubscriptionSettings {
  type: 'async' | 'sync';
  events: {
    /** Topic names or `/regex/` entries; a sync subscription names exactly one topic. */
    topics: string[];
    /** Only CloudEvents of this type (the record's `ce_type` header, or `type` of a structured event). */
    type?: string;
    /** An event pattern over the record (value, key, headers), as the filter and the tap use. */
    pattern?: Record<string, unknown>;
  };
  target: TargetSettings;
  format?: DeliveryFormat;
  /** Async only. */
  retry?: RetrySettings;
  /** Async only: requests per second to the target, on each instance. */
  rateLimit?: { requestsPerSecond: number };
  /** Async only: requests in flight to the target at once, on each instance. */
  concurrency?: number;
  /** Async only: where records that cannot be delivered go. */
  deadLetterTopic?: string;
  /** Sync only. */
  sync?: SyncSettings;
  description?: string;
}

/** A replay asked for with POST /subscriptions/{id}/replay, delivered by a consumer group of its own. */
export interface StoredReplay {
  id: string;
  from: string;
  to?: string;
  /** Where the replay ends, per `topic:partition`: the offsets the topics had reached when it was asked for. */
  endOffsets: Record<string, string>;
  requestedAt: string;
}

/** The stored document: the settings, and what the gateway keeps about their delivery. */
export interface StoredSubscription extends SubscriptionSettings {
  paused?: boolean;
  /**
   * Names the consumer group of an async subscription (with the id). A new one is drawn when the
   * subscription is created and when its topics change, so that it starts where the topics are.
   */
  epoch: string;
  replays?: StoredReplay[];
  /** Set when the target's secrets are stored encrypted (subscriptions.secretsKey). */
  sealed?: string;
}

/** Settings with every default filled in, as delivery uses them. */
export interface ResolvedRetry {
  maxAttempts: number;
  maxAgeMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULTS = {
  method: 'POST',
  timeoutMs: 10_000,
  format: 'binary' as DeliveryFormat,
  concurrency: 8,
  retry: { maxAttempts: 10, maxAgeMs: 3_600_000, initialBackoffMs: 1_000, maxBackoffMs: 60_000 },
} as const;

export function resolveRetry(retry: RetrySettings | undefined): ResolvedRetry {
  return {
    maxAttempts: retry?.maxAttempts ?? DEFAULTS.retry.maxAttempts,
    maxAgeMs: retry?.maxAgeSeconds !== undefined ? retry.maxAgeSeconds * 1000 : DEFAULTS.retry.maxAgeMs,
    initialBackoffMs: retry?.initialBackoffMs ?? DEFAULTS.retry.initialBackoffMs,
    maxBackoffMs: retry?.maxBackoffMs ?? DEFAULTS.retry.maxBackoffMs,
  };
}

/** Kafka's rule for topic names, `.` and `..` included (Kafka refuses those two). */
const TOPIC_NAME = /^(?!\.\.?$)[A-Za-z0-9._-]{1,249}$/;
/** A path as callers write it: unreserved characters, sub-delimiters, `@` and `/` (RFC 3986), nothing to decode. */
const PLAIN_PATH = /^[A-Za-z0-9._~!$&'()+,;=@/-]*$/;
/** Header names as RFC 9110 allows them (a token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
/** Header values: visible characters, spaces and tabs; never CR or LF, which would split the request. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/**
 * Hop-by-hop and framing headers: the connection's business, set by the gateway's HTTP client
 * alone. A subscription may not set them, and the client drops them from whatever it merges.
 */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
]);
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** The problems of settings that their JSON Schema cannot express; empty when they are sound. */
export function subscriptionProblems(
  settings: SubscriptionSettings,
  syncPathPrefix: string,
  /** Kafka's own topics and the gateway's: their records are nobody's to receive (the state topic holds secrets). */
  internal: (topic: string) => boolean = (topic) => topic.startsWith('_'),
): string[] {
  const problems: string[] = [];
  let regexesValid = true;
  settings.events.topics.forEach((entry, i) => {
    if (!isRegexEntry(entry) && internal(entry)) {
      problems.push(
        `events.topics.${i}: '${entry.slice(0, 249)}' is internal to Kafka or the gateway; no subscription may read it`,
      );
    } else if (isRegexEntry(entry)) {
      try {
        entryRegex(entry);
      } catch (error) {
        regexesValid = false;
        problems.push(`events.topics.${i}: ${(error as Error).message}`);
      }
    } else if (!TOPIC_NAME.test(entry)) {
      problems.push(
        `events.topics.${i}: not a Kafka topic name (letters, digits, '.', '_', '-'; at most 249)`,
      );
    }
  });
  if (settings.events.pattern !== undefined) {
    try {
      compileRecordPattern(settings.events.pattern);
    } catch (error) {
      problems.push(`events.pattern: ${(error as Error).message}`);
    }
  }
  const target = settings.target;
  let url: URL | null = null;
  try {
    url = new URL(target.url);
  } catch {
    problems.push('target.url: not an absolute URL');
  }
  if (url !== null) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      problems.push(`target.url: the scheme must be http or https, not ${url.protocol.slice(0, -1)}`);
    if (url.username !== '' || url.password !== '')
      problems.push('target.url: credentials belong in target.auth, not in the URL');
  }
  if (target.method !== undefined && !METHODS.includes(target.method))
    problems.push(`target.method: one of ${METHODS.join(', ')}`);
  for (const [name, value] of Object.entries(target.headers ?? {})) {
    // Quoted shortened: a refusal must not send a 64 KB name back.
    const shown = JSON.stringify(name.slice(0, 64));
    if (!HEADER_NAME.test(name)) problems.push(`target.headers: ${shown} is not a header name`);
    else if (RESERVED_HEADERS.has(name.toLowerCase()))
      problems.push(`target.headers.${name}: set by the gateway, not by a subscription`);
    if (!HEADER_VALUE.test(value)) {
      const place = HEADER_NAME.test(name) ? `target.headers.${name}` : `target.headers[${shown}]`;
      problems.push(`${place}: a header value may not hold control characters`);
    }
  }
  const auth = target.auth;
  if (auth !== undefined && 'apiKey' in auth) {
    if (!HEADER_NAME.test(auth.apiKey.header)) problems.push('target.auth.apiKey.header: not a header name');
    else if (RESERVED_HEADERS.has(auth.apiKey.header.toLowerCase()))
      problems.push('target.auth.apiKey.header: set by the gateway; the key would never reach the target');
    if (!HEADER_VALUE.test(auth.apiKey.value))
      problems.push('target.auth.apiKey.value: a header value may not hold control characters');
  }
  if (auth !== undefined && 'basic' in auth && auth.basic.username.includes(':'))
    problems.push('target.auth.basic.username: may not contain ":" (RFC 7617 ends the user-id there)');
  if (auth !== undefined && 'oauth2' in auth) {
    try {
      const tokenUrl = new URL(auth.oauth2.tokenUrl);
      if (tokenUrl.protocol !== 'http:' && tokenUrl.protocol !== 'https:')
        problems.push('target.auth.oauth2.tokenUrl: the scheme must be http or https');
      if (tokenUrl.username !== '' || tokenUrl.password !== '')
        problems.push(
          'target.auth.oauth2.tokenUrl: credentials belong in clientId and clientSecret, not in the URL',
        );
    } catch {
      problems.push('target.auth.oauth2.tokenUrl: not an absolute URL');
    }
  }
  if (settings.type === 'sync') {
    if (settings.events.topics.length !== 1 || isRegexEntry(settings.events.topics[0]))
      problems.push('events.topics: a sync subscription writes its requests to exactly one topic, named');
    if (settings.sync === undefined) problems.push('sync: a sync subscription needs sync.path');
    else {
      if (
        !settings.sync.path.startsWith(syncPathPrefix) ||
        settings.sync.path.length === syncPathPrefix.length
      )
        problems.push(`sync.path: must start with ${syncPathPrefix} and name something after it`);
      if (!PLAIN_PATH.test(settings.sync.path) || /\/\/|\/\.\.?(\/|$)/.test(settings.sync.path))
        problems.push(
          'sync.path: a plain path (no query, fragment, escapes, wildcards, parameters or dot segments)',
        );
      if (settings.sync.method !== undefined && !METHODS.includes(settings.sync.method))
        problems.push(`sync.method: one of ${METHODS.join(', ')}`);
    }
    for (const key of ['retry', 'rateLimit', 'concurrency', 'deadLetterTopic'] as const)
      if (settings[key] !== undefined) problems.push(`${key}: for async subscriptions only`);
  } else {
    if (settings.sync !== undefined) problems.push('sync: for sync subscriptions only');
    if (settings.deadLetterTopic === undefined)
      problems.push('deadLetterTopic: an async subscription needs a topic for what cannot be delivered');
    else if (!TOPIC_NAME.test(settings.deadLetterTopic))
      problems.push('deadLetterTopic: not a Kafka topic name');
    else if (internal(settings.deadLetterTopic))
      problems.push(
        'deadLetterTopic: internal to Kafka or the gateway; dead letters need a topic of their own',
      );
    else if (regexesValid && nameMatcher(settings.events.topics)(settings.deadLetterTopic))
      problems.push(
        "deadLetterTopic: one of the subscription's own topics; its dead letters would be delivered again",
      );
    const retry = resolveRetry(settings.retry);
    if (retry.initialBackoffMs > retry.maxBackoffMs)
      problems.push('retry: initialBackoffMs is larger than maxBackoffMs');
  }
  return problems;
}

/** Keys sorted at every level, so that two equal objects give the same text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What makes two subscriptions "the same event": the topics (in any order), the type and the pattern. */
export function eventIdentity(settings: SubscriptionSettings): string {
  const { topics, type, pattern } = settings.events;
  return canonical({ topics: [...new Set(topics)].sort(), type, pattern });
}

/** What makes two subscriptions "the same target": the URL as parsed (so case and default ports do not count), and the method. */
export function targetIdentity(settings: SubscriptionSettings): string {
  let url = settings.target.url;
  try {
    url = new URL(url).href;
  } catch {
    // Refused by subscriptionProblems anyway.
  }
  return `${settings.target.method ?? DEFAULTS.method} ${url}`;
}

/** The route a sync subscription answers on. */
export function syncRoute(settings: SubscriptionSettings): string | null {
  if (settings.type !== 'sync' || settings.sync === undefined) return null;
  return `${settings.sync.method ?? DEFAULTS.method} ${settings.sync.path}`;
}
