import type { FastifyInstance } from 'fastify';
import { bearerSecurity, type AccessControl } from '../http/access';
import { ApiError, errorResponses } from '../http/api-error';
import { draftAsyncApi } from './draft-asyncapi';
import type { DiscoveryView } from './discovery-view';

export interface DiscoveryRoutesOptions {
  /** Null when discovery is off: nothing is sampled, and the routes say so. */
  samples: DiscoveryView | null;
  /** Whether a contract in force describes the topic (sampling stops once one does). */
  described: (topic: string) => boolean;
  /** Samples show what producers send: a read token is needed, as for the tap. */
  access: AccessControl;
}

const topicParams = {
  type: 'object',
  required: ['topic'],
  properties: { topic: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,249}$' } },
} as const;

const topicSampling = {
  type: 'object',
  required: ['topic', 'seen', 'sampled', 'oversized', 'lastSeenAt', 'described', 'headers'],
  properties: {
    topic: { type: 'string' },
    seen: { type: 'integer', description: 'Records offered to the sample, kept or not.' },
    sampled: { type: 'integer', description: 'Records kept (at most discovery.samplesPerTopic).' },
    oversized: { type: 'integer', description: 'Records larger than discovery.maxSampleBytes, not sampled.' },
    lastSeenAt: { type: 'string', format: 'date-time' },
    described: {
      type: 'boolean',
      description: 'A contract now describes the topic, so it is no longer sampled.',
    },
    headers: {
      type: 'array',
      items: { type: 'string' },
      description: 'The header names seen in the samples.',
    },
  },
} as const;

/**
 * GET /discovery/topics and GET /discovery/topics/{topic}/asyncapi: what sampling has seen of
 * topics no contract describes, and a draft contract inferred from it (docs/discovery.md).
 */
export function registerDiscoveryRoutes(app: FastifyInstance, options: DiscoveryRoutesOptions): void {
  const { samples, described } = options;
  const read = options.access.hook('read');
  const tags = ['discovery'];

  app.get(
    '/discovery/topics',
    {
      onRequest: read,
      schema: {
        summary: 'The topics sampled for schema discovery',
        tags,
        security: bearerSecurity,
        response: {
          200: {
            type: 'object',
            required: ['enabled', 'topics'],
            properties: {
              enabled: { type: 'boolean', description: 'discovery.enabled' },
              topics: { type: 'array', items: topicSampling },
            },
          },
          ...errorResponses(401, 403),
        },
      },
    },
    async () => ({
      enabled: samples !== null,
      topics: ((await samples?.list()) ?? []).map((summary) => ({
        ...summary,
        described: described(summary.topic),
      })),
    }),
  );

  app.get<{ Params: { topic: string } }>(
    '/discovery/topics/:topic/asyncapi',
    {
      onRequest: read,
      schema: {
        summary: 'A draft AsyncAPI 3.0 contract for a topic, inferred from its samples',
        description:
          'One channel for the topic and one message with the inferred payload, headers and Kafka key. ' +
          'Uploaded unchanged (PUT /specs/{id}) it accepts every sampled record.',
        tags,
        security: bearerSecurity,
        params: topicParams,
        response: {
          200: {
            description: 'An AsyncAPI 3.0 document',
            content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } },
          },
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const { topic } = request.params;
      const found = await samples?.get(topic);
      if (found === undefined || found.samples.length === 0)
        throw new ApiError(404, `no samples of topic '${topic}'`);
      const draft = draftAsyncApi(found.sampling, found.samples);
      return reply.type('application/json').send(JSON.stringify(draft, null, 2));
    },
  );
}
