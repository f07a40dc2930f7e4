import type { Counter } from 'prom-client';
import type { Logger } from '../observability/logger';
import { RateLimitedLog } from '../observability/rate-limited-log';
import { LruMap } from '../quotas/lru-map';
import { fetchSchema, registryEndpoints, type FetchContext, type RegistryVendor } from './registry-endpoints';
import type { SchemaIdKind, SchemaLookup, SchemaRegistryClient } from './schema-lookup';

export interface SchemaRegistryClientOptions {
  url: string;
  vendor: RegistryVendor;
  /** Deadline of one request to the registry, body included. */
  timeoutMs: number;
  /** Ids kept in memory (all id kinds together); the least recently used go first. */
  cacheSize: number;
  /** Age after which a found schema is fetched again in the background (it is served meanwhile). */
  refreshMs: number;
  /** How long "no such id" is remembered before the registry is asked again. */
  unknownTtlMs: number;
  /** How long a failed lookup is remembered, so a registry that is down is not asked per record. */
  unavailableTtlMs?: number;
  /** Largest registry answer read (schemas are text; a bigger answer is an error). */
  maxBodyBytes?: number;
  logger: Logger;
  /** event_gateway_schema_registry_lookups_total, when the gateway has metrics. */
  lookups?: Counter<'result'>;
  /** Clock for the cache's ages; tests replace it. */
  now?: () => number;
}

const DEFAULT_UNAVAILABLE_TTL_MS = 1000;
const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
const KINDS: readonly SchemaIdKind[] = ['confluent', 'globalId', 'contentId'];
// Cache keys pack the id kind into the low bits of the id, so the hot path builds no strings.
const MAX_ID = 2 ** 50;

interface Entry {
  answer: SchemaLookup;
  at: number;
}

type LookupResult = 'found' | 'unknown' | 'unavailable' | 'cached';

export function createSchemaRegistryClient(options: SchemaRegistryClientOptions): SchemaRegistryClient {
  const now = options.now ?? Date.now;
  const unavailableTtlMs = options.unavailableTtlMs ?? DEFAULT_UNAVAILABLE_TTL_MS;
  const cache = new LruMap<number, Entry>(Math.max(1, options.cacheSize));
  const inFlight = new Map<number, Promise<SchemaLookup>>();
  const closing = new AbortController();
  const warnings = new RateLimitedLog(options.logger);
  const context: FetchContext = {
    endpoints: registryEndpoints(options.url, options.vendor),
    timeoutMs: options.timeoutMs,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    signal: closing.signal,
  };
  const counters = new Map<LookupResult, { inc(): void }>();
  const count = (result: LookupResult): void => {
    if (options.lookups === undefined) return;
    let counter = counters.get(result);
    if (counter === undefined) {
      counter = options.lookups.labels(result);
      counters.set(result, counter);
    }
    counter.inc();
  };

  /** The cached answer if still good; starts a background refresh of an old found schema. */
  const fromCache = (key: number, id: number, idKind: SchemaIdKind): SchemaLookup | undefined => {
    const entry = cache.get(key);
    if (entry === undefined) return undefined;
    const age = now() - entry.at;
    switch (entry.answer.kind) {
      case 'found':
        if (age >= options.refreshMs && !inFlight.has(key)) void request(key, id, idKind);
        return entry.answer;
      case 'unknown':
        return age < options.unknownTtlMs ? entry.answer : undefined;
      case 'unavailable':
        return age < unavailableTtlMs ? entry.answer : undefined;
    }
  };

  /** One request per key at a time: concurrent lookups of the same id share it. */
  const request = (key: number, id: number, idKind: SchemaIdKind): Promise<SchemaLookup> => {
    const pending = inFlight.get(key);
    if (pending !== undefined) return pending;
    const promise = fetchSchema(id, idKind, context)
      .catch((error: unknown): SchemaLookup => ({
        kind: 'unavailable',
        reason: `lookup failed: ${String(error)}`,
      }))
      .then((answer) => settle(key, id, idKind, answer))
      .finally(() => inFlight.delete(key));
    inFlight.set(key, promise);
    return promise;
  };

  const settle = (key: number, id: number, idKind: SchemaIdKind, answer: SchemaLookup): SchemaLookup => {
    if (closing.signal.aborted) return answer;
    const previous = cache.get(key);
    if (answer.kind === 'unavailable') {
      warnings.warn(
        'schema-registry-unavailable',
        { url: options.url, id, idKind, reason: answer.reason },
        'schema registry: lookup failed',
      );
      // A schema once found stays in use while the registry cannot be asked: ids are immutable,
      // and a registry outage must not turn known records invalid. It is asked again later.
      if (previous?.answer.kind === 'found') {
        cache.set(key, { answer: previous.answer, at: now() - options.refreshMs + unavailableTtlMs });
        return previous.answer;
      }
    } else if (answer.kind === 'unknown' && previous?.answer.kind === 'found') {
      options.logger.info({ id, idKind }, 'schema registry: a cached schema is no longer registered');
    }
    cache.set(key, { answer, at: now() });
    return answer;
  };

  const keyOf = (id: number, idKind: SchemaIdKind): number => id * 4 + KINDS.indexOf(idKind);
  const validId = (id: number): boolean => Number.isSafeInteger(id) && id >= 0 && id < MAX_ID;

  return {
    cached(id, idKind = 'confluent') {
      if (closing.signal.aborted) return { kind: 'unavailable', reason: 'the registry client is closed' };
      if (!validId(id)) return { kind: 'unknown', id };
      const answer = fromCache(keyOf(id, idKind), id, idKind);
      if (answer !== undefined) count('cached');
      return answer;
    },

    async lookup(id, idKind = 'confluent') {
      if (closing.signal.aborted) return { kind: 'unavailable', reason: 'the registry client is closed' };
      // Schema ids are non-negative; a record carrying anything else names no schema.
      if (!validId(id)) return { kind: 'unknown', id };
      const key = keyOf(id, idKind);
      const hit = fromCache(key, id, idKind);
      if (hit !== undefined) {
        count('cached');
        return hit;
      }
      const answer = await request(key, id, idKind);
      count(answer.kind);
      return answer;
    },

    close() {
      closing.abort();
      cache.sweep(() => true);
      inFlight.clear();
    },
  };
}
