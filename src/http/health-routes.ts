import type { FastifyInstance } from 'fastify';

export interface HealthRoutesOptions {
  /** Reports whether the gateway can serve traffic; its reasons go into the /readyz body. */
  readiness: () => { ready: boolean; checks: Record<string, string> };
  /** A prom-client registry, or the merged metrics of every worker (`workers: n`). */
  metrics: { readonly contentType: string; metrics(): Promise<string> };
}

const readySchema = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not ready'] },
    checks: {
      type: 'object',
      description: "One entry per check; a failing check's text starts with `failing:` and says why.",
      additionalProperties: { type: 'string' },
    },
  },
} as const;

/** /healthz, /readyz and /metrics: no token, so probes and scrapers need no secret. */
export function registerHealthRoutes(app: FastifyInstance, options: HealthRoutesOptions): void {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Whether the process runs',
        tags: ['health'],
        response: {
          200: {
            type: 'object',
            required: ['status'],
            properties: { status: { type: 'string', const: 'ok' } },
          },
        },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Whether the gateway can serve traffic',
        tags: ['health'],
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_request, reply) => {
      const { ready, checks } = options.readiness();
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics (docs/metrics.md)',
        tags: ['health'],
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_request, reply) => {
      const text = await options.metrics.metrics();
      return reply.type(options.metrics.contentType).send(text);
    },
  );
}
