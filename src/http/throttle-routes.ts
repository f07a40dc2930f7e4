import type http from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { GatewayConfig } from '../config/gateway-config';
import { ConfigError, resolveConfig } from '../config/load-config';
import type { Logger } from '../observability/logger';
import type { QuotaManager } from '../pipeline/throttle/quota-manager';
import { sendJson, type HttpServer } from './http-server';

/** A throttle section is a few quotas; anything this large is a mistake. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface ThrottleRoutesOptions {
  quotas: QuotaManager;
  /** The configuration the gateway runs with: a new throttle section is checked as part of it. */
  config: GatewayConfig;
  /** When set, both routes require `Authorization: Bearer <token>`. */
  adminToken?: string;
  logger: Logger;
}

function readBody(request: http.IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(null);
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/**
 * GET and PUT /throttle: the produce quotas and connection limit in force, replaced at run time
 * without a restart. The body of a PUT is the `throttle` section of the configuration file (YAML
 * or JSON), checked exactly as it would be at start; a section with any problem changes nothing.
 */
export function registerThrottleRoutes(server: HttpServer, options: ThrottleRoutesOptions): void {
  const { quotas } = options;
  const authorized = (request: http.IncomingMessage, response: http.ServerResponse): boolean => {
    if (options.adminToken === undefined || request.headers.authorization === `Bearer ${options.adminToken}`)
      return true;
    response.setHeader('www-authenticate', 'Bearer');
    sendJson(response, 401, { error: 'a valid bearer token is required' });
    return false;
  };
  const state = () => ({
    throttle: quotas.config,
    buckets: quotas.bucketCount(),
    connections: quotas.connections.count(),
  });

  server.route('GET', '/throttle', (request, response) => {
    if (authorized(request, response)) sendJson(response, 200, state());
  });

  server.route('PUT', '/throttle', async (request, response) => {
    if (!authorized(request, response)) return;
    const text = await readBody(request);
    if (text === null)
      return sendJson(response, 413, { error: `the body is larger than the ${MAX_BODY_BYTES}-byte limit` });
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
      quotas.update(throttle);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return sendJson(response, 400, { error: 'invalid throttle settings', problems: error.problems });
    }
    options.logger.info(
      {
        quotas: quotas.config.quotas.map((quota) => quota.name),
        maxConnectionsPerAddress: quotas.config.maxConnectionsPerAddress ?? null,
      },
      'throttle settings replaced',
    );
    sendJson(response, 200, state());
  });
}
