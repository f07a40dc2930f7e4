import { readFileSync } from 'node:fs';
import Ajv, { type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { configSchema } from './config-schema';
import type { GatewayConfig } from './gateway-config';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration (${source}):\n  - ${problems.join('\n  - ')}`);
  }
}

const ENV_PREFIX = 'EVENT_GATEWAY_';

const validate = new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(configSchema);

/**
 * Environment overrides name a key path in upper snake case, with `__` between levels:
 * EVENT_GATEWAY_LISTENERS__ADVERTISED_HOST=gw.example.com sets listeners.advertisedHost. Values
 * are read as YAML scalars or flow collections, so `[a:9092, b:9092]`, `20472` and `true` keep
 * their types.
 */
export function applyEnvironment(config: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const applied: string[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const path = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
    let target = config;
    for (const key of path.slice(0, -1)) {
      const next = target[key];
      if (next === undefined || next === null) target[key] = {};
      else if (typeof next !== 'object' || Array.isArray(next)) {
        throw new ConfigError(name, [`${path.join('.')}: cannot set below a non-object value`]);
      }
      target = target[key] as Record<string, unknown>;
    }
    target[path[path.length - 1]] = parseYaml(raw);
    applied.push(path.join('.'));
  }
  return applied;
}

/**
 * Ajv's errors as `key.path: problem` lines. `at` is the key path of the value that was checked
 * when it is not the whole configuration (a middleware's options, say): the lines then start with it.
 */
export function describeErrors(all: readonly ErrorObject[], at?: string): string[] {
  const keyPath = (instancePath: string): string => {
    const relative = instancePath.replace(/^\//, '').replace(/\//g, '.');
    if (at === undefined) return relative;
    return relative === '' ? at : `${at}.${relative}`;
  };
  // A value that fits none of a oneOf's forms is reported once, not once per form.
  const alternatives = all.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath);
  const errors = all.filter(
    (e) =>
      e.keyword === 'oneOf' ||
      !alternatives.some((form) => e.instancePath === form || e.instancePath.startsWith(`${form}/`)),
  );
  return errors.map((error) => {
    if (error.keyword === 'oneOf') {
      const hint = at === undefined ? ' (see docs/configuration.md)' : '';
      return `${keyPath(error.instancePath)}: does not have any of the allowed forms${hint}`;
    }
    const path = keyPath(error.instancePath) || '(top level)';
    if (error.keyword === 'additionalProperties') {
      const key = (error.params as { additionalProperty: string }).additionalProperty;
      return `${path === '(top level)' ? key : `${path}.${key}`}: unknown key`;
    }
    if (error.keyword === 'enum') {
      return `${path}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    }
    if (error.keyword === 'pattern' && path.startsWith('kafka.bootstrapServers')) {
      return `${path}: must be host:port`;
    }
    return `${path}: ${error.message}`;
  });
}

/** Validates a configuration object (already merged with the environment) and fills defaults. */
export function resolveConfig(input: unknown, source = 'configuration'): GatewayConfig {
  const config = structuredClone(input ?? {});
  if (typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigError(source, ['the configuration must be a YAML mapping']);
  }
  if (!validate(config)) throw new ConfigError(source, describeErrors(validate.errors ?? []));
  const resolved = config as unknown as GatewayConfig;
  const problems: string[] = [];
  const ports = new Map<number, string>([[resolved.listeners.bootstrapPort, 'listeners.bootstrapPort']]);
  for (const [node, p] of Object.entries(resolved.listeners.brokerPorts)) {
    const other = ports.get(p);
    if (other) problems.push(`listeners.brokerPorts.${node}: port ${p} is already used by ${other}`);
    ports.set(p, `listeners.brokerPorts.${node}`);
  }
  if (resolved.listeners.tls.enabled && (!resolved.listeners.tls.cert || !resolved.listeners.tls.key)) {
    problems.push('listeners.tls: enabled requires cert and key');
  }
  if (resolved.workers !== 1 && !resolved.state.enabled) {
    problems.push(
      'workers: more than one worker needs state.enabled: true, since each worker would keep its own ' +
        'uploaded specs, quotas and keys in memory and enforce different contracts',
    );
  }
  problems.push(...exposureProblems(resolved));
  if (problems.length > 0) throw new ConfigError(source, problems);
  return resolved;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '', '*']);

/** Loopback names and addresses: only processes on the same host reach them. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Settings that would expose the gateway in a way nobody means: an API that anyone on the network
 * may change, or a wildcard address handed to clients as the brokers' address, which none can
 * follow. Both are refused at start with the key to set.
 */
function exposureProblems(config: GatewayConfig): string[] {
  const problems: string[] = [];
  const { http, listeners } = config;
  const hasAdmin = http.adminToken !== undefined || http.tokens.some((t) => t.role === 'admin');
  if (!isLoopback(http.host) && !hasAdmin && !http.allowUnauthenticated) {
    problems.push(
      `http.host: ${http.host} is not a loopback address and no admin token is set, so anyone who ` +
        'reaches the port could replace specs and quotas. Set http.adminToken (for example ' +
        'EVENT_GATEWAY_HTTP__ADMIN_TOKEN=$(openssl rand -hex 24)) or an admin entry in http.tokens; ' +
        'or set http.allowUnauthenticated: true to accept the risk',
    );
  }
  if (
    config.ingest.enabled &&
    !config.ingest.requireApiKeys &&
    !isLoopback(http.host) &&
    !http.allowUnauthenticated
  ) {
    problems.push(
      `ingest.requireApiKeys: false lets anyone who reaches ${http.host} publish to Kafka; keep it true ` +
        '(publishers then need a key from PUT /api-keys/{name}), or set http.allowUnauthenticated: true to accept the risk',
    );
  }
  const names = new Set<string>();
  const secrets = new Set<string>();
  for (const token of configuredTokens(http)) {
    if (names.has(token.name)) problems.push(`http.tokens: the name '${token.name}' is used twice`);
    if (secrets.has(token.token))
      problems.push(`http.tokens: '${token.name}' has the same token as another entry`);
    names.add(token.name);
    secrets.add(token.token);
  }
  if (WILDCARDS.has(listeners.bindHost) && listeners.advertisedHost === undefined) {
    problems.push(
      `listeners.advertisedHost: must be set when listeners.bindHost is the wildcard address ` +
        `'${listeners.bindHost}', which clients cannot connect to; set it to the name clients resolve ` +
        '(for example EVENT_GATEWAY_LISTENERS__ADVERTISED_HOST=gateway.example.com)',
    );
  }
  if (listeners.advertisedHost !== undefined && WILDCARDS.has(listeners.advertisedHost)) {
    problems.push(
      `listeners.advertisedHost: '${listeners.advertisedHost}' is a wildcard address clients cannot connect to`,
    );
  }
  return problems;
}

/** Every token the HTTP API accepts: `http.tokens` plus `http.adminToken` as an admin named "admin". */
export function configuredTokens(http: GatewayConfig['http']): GatewayConfig['http']['tokens'] {
  return http.adminToken === undefined
    ? http.tokens
    : [...http.tokens, { name: 'admin', role: 'admin', token: http.adminToken }];
}

/** Reads a YAML (or JSON) file, applies EVENT_GATEWAY_* overrides and validates the result. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot read the file: ${(error as Error).message}`]);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(file, [`not valid YAML: ${(error as Error).message}`]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(file, ['the configuration must be a YAML mapping']);
  }
  applyEnvironment(parsed as Record<string, unknown>, env);
  return resolveConfig(parsed, file);
}
