import { parse as parseYaml } from 'yaml';
import type { GatewayConfig } from '../config/gateway-config';
import { ConfigError, resolveConfig } from '../config/load-config';
import type { Logger } from '../observability/logger';
import { throttleProblems, type QuotaManager } from '../quotas/quota-manager';
import type { StateStore } from '../state/state-store';
import type { AccessControl } from './access';
import { BODY_NESTING_LIMIT, nestingProblem } from './body-limits';
import { sendJson, type HttpServer } from './http-server';
import { readBody } from './read-body';
import { answerStateError, etag, preconditions } from './revision-headers';

/** The state kind and id the throttle section is stored under. */
export const THROTTLE_KIND = 'throttle';
export const THROTTLE_ID = 'settings';

/** A throttle section is a few quotas; anything this large is a mistake. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface ThrottleRoutesOptions {
  quotas: QuotaManager;
  /** The configuration the gateway runs with: a new throttle section is checked as part of it. */
  config: GatewayConfig;
  /** GET needs a read token, PUT an admin token (when tokens are configured). */
  access: AccessControl;
  /** Where a new section is kept; every instance applies it to its own quotas. */
  stateStore: StateStore;
  logger: Logger;
}

/**
 * GET and PUT /throttle: the produce quotas and connection limit in force, replaced at run time
 * without a restart. The body of a PUT is the `throttle` section of the configuration file (YAML
 * or JSON), checked exactly as it would be at start; a section with any problem changes nothing.
 */
export function registerThrottleRoutes(server: HttpServer, options: ThrottleRoutesOptions): void {
  const { quotas } = options;
  const state = () => ({
    throttle: quotas.config,
    buckets: quotas.bucketCount(),
    connections: quotas.connections.count(),
  });

  const revision = () => options.stateStore.get(THROTTLE_KIND, THROTTLE_ID)?.revision;

  server.route('GET', '/throttle', (request, response) => {
    if (options.access.require(request, response, 'read') === null) return;
    const current = revision();
    if (current !== undefined) response.setHeader('etag', etag(current));
    sendJson(response, 200, state());
  });

  server.route('PUT', '/throttle', async (request, response) => {
    const by = options.access.require(request, response, 'admin');
    if (by === null) return;
    const conditions = preconditions(request);
    if ('error' in conditions) return sendJson(response, 400, { error: conditions.error });
    const text = await readBody(request, MAX_BODY_BYTES);
    if (text === null)
      return sendJson(response, 413, { error: `the body is larger than the ${MAX_BODY_BYTES}-byte limit` });
    const tooDeep = nestingProblem(text, 'yaml', BODY_NESTING_LIMIT);
    if (tooDeep !== null) return sendJson(response, 400, { error: `the body is ${tooDeep}` });
    let section: unknown;
    try {
      section = parseYaml(text);
    } catch (error) {
      return sendJson(response, 400, { error: `not valid YAML or JSON: ${(error as Error).message}` });
    }
    if (typeof section !== 'object' || section === null || Array.isArray(section))
      return sendJson(response, 400, { error: 'the body must be the throttle section, a mapping' });
    try {
      const { throttle } = resolveConfig({ ...options.config, throttle: section }, 'PUT /throttle');
      const problems = throttleProblems(throttle);
      if (problems.length > 0) throw new ConfigError('throttle', problems);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return sendJson(response, 400, { error: 'invalid throttle settings', problems: error.problems });
    }
    let stored: string;
    try {
      stored = (
        await options.stateStore.put(THROTTLE_KIND, THROTTLE_ID, section, { ...conditions, by: by.name })
      ).revision;
    } catch (error) {
      if (answerStateError(response, error)) return;
      throw error;
    }
    response.setHeader('etag', etag(stored));
    options.logger.info(
      {
        quotas: quotas.config.quotas.map((quota) => quota.name),
        maxConnectionsPerAddress: quotas.config.maxConnectionsPerAddress ?? null,
        by: by.name,
        revision: stored,
      },
      'throttle settings replaced',
    );
    sendJson(response, 200, state());
  });
}
