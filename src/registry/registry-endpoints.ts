import { httpGet, type HttpAnswer } from './registry-http';
import {
  confluentErrorCode,
  isApicurioNotFound,
  parseApicurioSearch,
  parseConfluentSchema,
  parseJson,
  parseReferences,
} from './registry-response';
import type { SchemaIdKind, SchemaLookup } from './schema-lookup';

export type RegistryVendor = 'confluent' | 'apicurio';

export interface RegistryEndpoints {
  /** Base of the Confluent-compatible API: GET {confluent}/schemas/ids/{id}. */
  confluent: string;
  /** Base of Apicurio's own v3 API, for global and content ids; undefined for a Confluent registry. */
  apicurio: string | undefined;
}

const APICURIO_API_SUFFIX = /\/apis\/(?:ccompat\/v\d+|registry\/v\d+)\/?$/;

/**
 * Where to ask. A Confluent registry's URL is its API root. An Apicurio registry may be named by
 * its root or by one of its API roots (…/apis/ccompat/v7, …/apis/registry/v3, as AsyncAPI
 * bindings and serde configs spell it); both APIs are reached from the root.
 */
export function registryEndpoints(url: string, vendor: RegistryVendor): RegistryEndpoints {
  const trimmed = url.replace(/\/+$/, '');
  if (vendor === 'confluent') return { confluent: trimmed, apicurio: undefined };
  const root = trimmed.replace(APICURIO_API_SUFFIX, '');
  return { confluent: `${root}/apis/ccompat/v7`, apicurio: `${root}/apis/registry/v3` };
}

export interface FetchContext {
  endpoints: RegistryEndpoints;
  timeoutMs: number;
  maxBodyBytes: number;
  signal: AbortSignal;
}

/** Asks the registry once for the schema under `id`. */
export async function fetchSchema(
  id: number,
  idKind: SchemaIdKind,
  context: FetchContext,
): Promise<SchemaLookup> {
  if (idKind === 'confluent') return fetchConfluent(id, context);
  return fetchApicurio(id, idKind, context);
}

async function fetchConfluent(id: number, context: FetchContext): Promise<SchemaLookup> {
  const answer = await get(`${context.endpoints.confluent}/schemas/ids/${id}`, context);
  if (!answer.ok) return unavailable(answer.reason);
  const json = parseJson(answer.body);
  if (answer.status === 404) {
    // Only the documented "schema not found" code means the id is unknown: any other 404 (a wrong
    // URL path, a proxy's page) says nothing about the id.
    if (json.ok && confluentErrorCode(json.value) === 40403) return { kind: 'unknown', id };
    return unavailable('the registry answered 404 without error code 40403 (is the URL the API root?)');
  }
  if (answer.status !== 200) return unavailable(`the registry answered HTTP ${answer.status}`);
  if (!json.ok) return unavailable(json.reason);
  const parsed = parseConfluentSchema(json.value);
  if (!parsed.ok) return unavailable(parsed.reason);
  return { kind: 'found', schema: { id, idKind: 'confluent', ...parsed.value } };
}

/**
 * Apicurio's v3 API answers a global or content id with the raw content; the artifact type comes
 * from a version search and the references from their own endpoint, asked at the same time.
 */
async function fetchApicurio(
  id: number,
  idKind: 'globalId' | 'contentId',
  context: FetchContext,
): Promise<SchemaLookup> {
  const base = context.endpoints.apicurio;
  if (base === undefined) return unavailable(`${idKind} lookups need an Apicurio registry`);
  const path = idKind === 'globalId' ? 'globalIds' : 'contentIds';
  const [content, search, references] = await Promise.all([
    get(`${base}/ids/${path}/${id}`, context),
    get(`${base}/search/versions?${idKind}=${id}&limit=1`, context),
    get(`${base}/ids/${path}/${id}/references`, context),
  ]);
  if (!content.ok) return unavailable(content.reason);
  if (content.status === 404) {
    const json = parseJson(content.body);
    if (json.ok && isApicurioNotFound(json.value)) return { kind: 'unknown', id };
    return unavailable('the registry answered 404 without a not-found error (is the URL the registry root?)');
  }
  if (content.status !== 200) return unavailable(`the registry answered HTTP ${content.status}`);
  const type = parseOk(search, parseApicurioSearch);
  if (!type.ok) return unavailable(type.reason);
  // Deleted between the two requests: the content outlives its last version for a while.
  if (type.value === undefined) return { kind: 'unknown', id };
  const refs = parseOk(references, parseReferences);
  if (!refs.ok) return unavailable(refs.reason);
  return {
    kind: 'found',
    schema: { id, idKind, schemaType: type.value, schema: content.body, references: refs.value },
  };
}

function parseOk<T>(
  answer: HttpAnswer,
  parse: (body: unknown) => { ok: true; value: T } | { ok: false; reason: string },
) {
  if (!answer.ok) return answer;
  if (answer.status !== 200)
    return { ok: false as const, reason: `the registry answered HTTP ${answer.status}` };
  const json = parseJson(answer.body);
  return json.ok ? parse(json.value) : json;
}

function get(url: string, context: FetchContext): Promise<HttpAnswer> {
  return httpGet(url, {
    timeoutMs: context.timeoutMs,
    maxBodyBytes: context.maxBodyBytes,
    signal: context.signal,
  });
}

function unavailable(reason: string): SchemaLookup {
  return { kind: 'unavailable', reason };
}
