import type { FastifyInstance } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { configSchema } from '../config/config-schema';
import type { GatewayConfig } from '../config/gateway-config';
import { ConfigError, resolveConfig } from '../config/load-config';
import type { Logger } from '../observability/logger';
import { throttleProblems, type QuotaManager } from '../quotas/quota-manager';
import type { StateStore } from '../state/state-store';
import { bearerSecurity, type AccessControl } from './access';
import { ApiError, errorResponses } from './api-error';
import { BODY_NESTING_LIMIT } from './body-limits';
import { etag, etagHeader, ifMatchHeaders, preconditions, stateWriteError } from './revision-headers';

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

const throttleState = {
  type: 'object',
  required: ['throttle', 'buckets', 'connections'],
  properties: {
    throttle: { ...configSchema.properties.throttle, description: 'The throttle section in force.' },
    buckets: { type: 'integer', description: 'Token buckets held across all quotas.' },
    connections: { type: 'integer', description: 'Client connections open.' },
  },
} as const;

/**
 * GET and PUT /throttle: the produce quotas and connection limit in force, replaced at run time
 * without a restart. The body of a PUT is the `throttle` section of the configuration file (YAML
 * or JSON), checked exactly as it would be at start; a section with any problem changes nothing.
 */
export function registerThrottleRoutes(app: FastifyInstance, options: ThrottleRoutesOptions): void {
  const { quotas } = options;
  const state = () => ({
    throttle: quotas.config,
    buckets: quotas.bucketCount(),
    connections: quotas.connections.count(),
  });
  const revision = () => options.stateStore.get(THROTTLE_KIND, THROTTLE_ID)?.revision;
  const tags = ['throttle'];

  app.get(
    '/throttle',
    {
      onRequest: options.access.hook('read'),
      schema: {
        summary: 'The produce quotas and connection limit in force',
        tags,
        security: bearerSecurity,
        response: {
          200: { headers: etagHeader, ...throttleState },
          ...errorResponses(401, 403),
        },
      },
    },
    async (_request, reply) => {
      const current = revision();
      if (current !== undefined) void reply.header('etag', etag(current));
      return state();
    },
  );

  app.put<{ Body: string | undefined }>(
    '/throttle',
    {
      onRequest: options.access.hook('admin'),
      bodyLimit: MAX_BODY_BYTES,
      config: { body: { kind: 'text', syntax: 'yaml', nesting: BODY_NESTING_LIMIT, noun: 'body' } },
      schema: {
        summary: 'Replace the throttle section',
        description:
          'The body is the `throttle` section of the configuration file, YAML or JSON, checked as at start. ' +
          'Answers once it is stored in Kafka and in force on this instance.',
        tags,
        security: bearerSecurity,
        body: {
          type: 'string',
          description: 'The throttle section (the shape of `throttle` in the answer).',
        },
        headers: ifMatchHeaders,
        response: {
          200: { headers: etagHeader, ...throttleState },
          ...errorResponses(400, 401, 403, 412, 413, 503),
        },
      },
    },
    async (request, reply) => {
      const by = request.principal;
      const conditions = preconditions(request.headers);
      let section: unknown;
      try {
        section = parseYaml(request.body ?? '');
      } catch (error) {
        throw new ApiError(400, `not valid YAML or JSON: ${(error as Error).message}`);
      }
      if (typeof section !== 'object' || section === null || Array.isArray(section))
        throw new ApiError(400, 'the body must be the throttle section, a mapping');
      try {
        const { throttle } = resolveConfig({ ...options.config, throttle: section }, 'PUT /throttle');
        const problems = throttleProblems(throttle);
        if (problems.length > 0) throw new ConfigError('throttle', problems);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        throw new ApiError(400, 'invalid throttle settings', { problems: error.problems });
      }
      const stored = (
        await options.stateStore
          .put(THROTTLE_KIND, THROTTLE_ID, section, { ...conditions, by: by.name })
          .catch(stateWriteError)
      ).revision;
      options.logger.info(
        {
          quotas: quotas.config.quotas.map((quota) => quota.name),
          maxConnectionsPerAddress: quotas.config.maxConnectionsPerAddress ?? null,
          by: by.name,
          revision: stored,
        },
        'throttle settings replaced',
      );
      return reply.header('etag', etag(stored)).send(state());
    },
  );
}
