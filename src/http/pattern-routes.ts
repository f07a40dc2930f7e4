import type { FastifyInstance } from 'fastify';
import { PatternError } from '../patterns/event-pattern';
import { compileRecordPattern } from '../patterns/record-event';
import { ApiError } from './api-error';
import { BODY_NESTING_LIMIT } from './body-limits';

/** A pattern and an event are small; anything bigger is a mistake or an attack. */
const MAX_BODY_BYTES = 256 * 1024;

/**
 * POST /patterns/test with `{"pattern": {...}, "event": {...}}`: whether the pattern matches the
 * event, the way the filter and the tap would match it against a record whose event (value, key,
 * headers) is `event`. Stateless, so it needs no token: it lets producers check a rule first.
 */
export function registerPatternRoutes(app: FastifyInstance): void {
  app.post<{ Body: { pattern: unknown; event: Record<string, unknown> } }>(
    '/patterns/test',
    {
      bodyLimit: MAX_BODY_BYTES,
      config: { body: { kind: 'json', nesting: BODY_NESTING_LIMIT } },
      schema: {
        summary: 'Whether an event pattern matches an event',
        description: 'Matched as the filter and the tap match a record (docs/pipeline.md, Event patterns).',
        tags: ['patterns'],
        body: {
          type: 'object',
          required: ['pattern', 'event'],
          properties: {
            pattern: { type: 'object', description: 'An event pattern.' },
            event: {
              type: 'object',
              description: 'The record as an event: {"value": ..., "key": ..., "headers": {...}}.',
            },
          },
        },
        response: {
          200: { type: 'object', required: ['matches'], properties: { matches: { type: 'boolean' } } },
          400: { $ref: 'Error#' },
          413: { $ref: 'Error#' },
          415: { $ref: 'Error#' },
        },
      },
    },
    async (request) => {
      const { pattern, event } = request.body;
      try {
        return { matches: compileRecordPattern(pattern).matches(event) };
      } catch (error) {
        if (!(error instanceof PatternError)) throw error;
        throw new ApiError(400, `invalid pattern: ${error.message}`, { path: error.path });
      }
    },
  );
}
