/**
 * A real schema registry for integration tests: Apicurio Registry, started by scripts/registry.sh
 * (the same script developers use), spoken to over its Confluent-compatible API.
 *
 * Two ways to get one:
 * - `sharedRegistry()`: the registry `make test` provides (scripts/with-registry.sh exports
 *   SCHEMA_REGISTRY_URL), or one started on demand on REGISTRY_PORT (8081) when a test file runs
 *   alone. Tests that only register and look up schemas use it; they must not stop it.
 * - `startRegistry({ name, port })`: an instance of the test file's own, for tests that stop and
 *   start the registry mid-stream. Its schemas survive `stop()`/`start()`, as with a deployed
 *   registry; `fresh: true` starts it with none.
 */
import * as path from 'node:path';
import { REPO_ROOT, run } from './kafka-harness';

const REGISTRY_SH = path.join(REPO_ROOT, 'scripts', 'registry.sh');
// The first start on a clean machine downloads and unpacks the release and writes the class-data
// sharing archive on its first stop; a busy 2-core machine can need minutes for that.
const UP_TIMEOUT_MS = 240_000;
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export type RegistrySchemaType = 'AVRO' | 'PROTOBUF' | 'JSON';

export interface SchemaReferenceInput {
  name: string;
  subject: string;
  version: number;
}

export interface RegistryHandle {
  /** Root of the registry, e.g. http://127.0.0.1:8081 (Apicurio's APIs are under /apis/). */
  root: string;
  /** Base of the Confluent-compatible API: `${root}/apis/ccompat/v7`. */
  url: string;
}

export interface OwnRegistry extends RegistryHandle {
  name: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and deletes its stored schemas. */
  destroy(): Promise<void>;
}

function instanceEnv(name: string, port?: number): Record<string, string> {
  const env: Record<string, string> = { REGISTRY_NAME: name };
  if (port !== undefined) env.REGISTRY_PORT = String(port);
  return env;
}

function handle(root: string): RegistryHandle {
  const trimmed = root.replace(/\/+$/, '').replace(/\/apis\/ccompat\/v\d+$/, '');
  return { root: trimmed, url: `${trimmed}/apis/ccompat/v7` };
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

let shared: Promise<RegistryHandle> | undefined;

/** The registry shared by the test run; started here (and left running) if none answers yet. */
export function sharedRegistry(): Promise<RegistryHandle> {
  shared ??= (async () => {
    const fromEnv = process.env.SCHEMA_REGISTRY_URL;
    if (fromEnv !== undefined && fromEnv !== '') {
      const found = handle(fromEnv);
      if (await answers(found.url)) return found;
      throw new Error(
        `SCHEMA_REGISTRY_URL=${fromEnv} does not answer; start one with scripts/registry.sh up`,
      );
    }
    await run(REGISTRY_SH, ['up'], { timeoutMs: UP_TIMEOUT_MS });
    const { stdout } = await run(REGISTRY_SH, ['url']);
    return handle(stdout.trim());
  })();
  return shared;
}

/** A registry instance of the caller's own on `port` (a port of the test file's). */
export async function startRegistry(options: {
  name: string;
  port: number;
  fresh?: boolean;
}): Promise<OwnRegistry> {
  const env = instanceEnv(options.name, options.port);
  if (options.fresh === true) await run(REGISTRY_SH, ['down', '--purge'], { env, timeoutMs: 90_000 });
  await run(REGISTRY_SH, ['up'], { env, timeoutMs: UP_TIMEOUT_MS });
  return {
    ...handle(`http://127.0.0.1:${options.port}`),
    name: options.name,
    port: options.port,
    stop: async () => {
      await run(REGISTRY_SH, ['down'], { env, timeoutMs: 90_000 });
    },
    start: async () => {
      await run(REGISTRY_SH, ['up'], { env, timeoutMs: UP_TIMEOUT_MS });
    },
    destroy: async () => {
      await run(REGISTRY_SH, ['down', '--purge'], { env, timeoutMs: 90_000 });
    },
  };
}

async function call(method: string, url: string, body?: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': CONTENT_TYPE, accept: `${CONTENT_TYPE}, application/json` },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: HTTP ${response.status} ${text}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/**
 * Registers a schema under `subject` (POST /subjects/{subject}/versions) and returns its id, the
 * id Confluent-framed records carry. Registering the same schema again returns the same id.
 */
export async function registerSchema(
  registry: RegistryHandle,
  subject: string,
  schema: string | object,
  options: { schemaType?: RegistrySchemaType; references?: SchemaReferenceInput[] } = {},
): Promise<number> {
  const body: Record<string, unknown> = {
    schema: typeof schema === 'string' ? schema : JSON.stringify(schema),
  };
  // Confluent's API takes an absent type for Avro.
  if (options.schemaType !== undefined && options.schemaType !== 'AVRO') body.schemaType = options.schemaType;
  if (options.references !== undefined) body.references = options.references;
  const answer = (await call(
    'POST',
    `${registry.url}/subjects/${encodeURIComponent(subject)}/versions`,
    body,
  )) as {
    id: number;
  };
  return answer.id;
}

/** Sets a subject's compatibility level (PUT /config/{subject}); without a subject, the global one. */
export async function setCompatibility(
  registry: RegistryHandle,
  level: string,
  subject?: string,
): Promise<void> {
  const target =
    subject === undefined
      ? `${registry.url}/config`
      : `${registry.url}/config/${encodeURIComponent(subject)}`;
  await call('PUT', target, { compatibility: level });
}

/** Apicurio's own ids for a subject's version: the global id and the content id its framings carry. */
export async function apicurioIds(
  registry: RegistryHandle,
  subject: string,
  version = 1,
): Promise<{ globalId: number; contentId: number }> {
  const answer = (await call(
    'GET',
    `${registry.root}/apis/registry/v3/search/versions?artifactId=${encodeURIComponent(subject)}&version=${version}`,
  )) as { versions: { globalId: number; contentId: number; version: string }[] };
  const found = answer.versions.find((v) => v.version === String(version));
  if (found === undefined) throw new Error(`no version ${version} of ${subject} in the registry`);
  return { globalId: found.globalId, contentId: found.contentId };
}
