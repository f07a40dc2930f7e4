import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

export interface OpenApiInfo {
  version: string;
}

/**
 * The OpenAPI 3.1 document of the HTTP API, built from the schemas the routes are validated and
 * serialised with, so it cannot drift from what the routes do. Must be registered (and awaited)
 * before any route: it learns them as they are added.
 */
export async function registerOpenApi(app: FastifyInstance, info: OpenApiInfo): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Event Gateway HTTP API',
        version: info.version,
        description:
          'Health, specs, quotas and event patterns of an Event Gateway. Errors have one shape: the Error schema.',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description:
              'A token from http.adminToken or http.tokens; needed only when tokens are configured.',
          },
        },
      },
    },
    refResolver: {
      // Shared schemas keep their $id as their component name (#/components/schemas/Error).
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  app.get(
    '/openapi.json',
    {
      schema: {
        summary: 'This document',
        tags: ['meta'],
        response: {
          200: {
            description: 'An OpenAPI 3.1 document',
            content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } },
          },
        },
      },
    },
    async (_request, reply) => reply.type('application/json').send(JSON.stringify(app.swagger())),
  );
}
