import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './api-error';
import { nestingProblem } from './body-limits';

/**
 * What a route reads from its body, declared in its `config.body`. Every body is read as text
 * first (within the route's `bodyLimit`) and its nesting checked before any parser builds a tree
 * of it: JSON.parse and the YAML parser recurse per level.
 */
export type BodyRule =
  /** Parsed here; the route's body schema then validates the value. */
  | { kind: 'json'; nesting: number }
  /**
   * Handed over as text: documents kept as uploaded (YAML or JSON). `noun` names the body in
   * refusals ("the document is nested ...").
   */
  | { kind: 'text'; syntax: 'json' | 'yaml'; nesting: number; noun: string }
  /** Handed over as the bytes that came (an event's data may be anything); the route checks the rest. */
  | { kind: 'bytes' };

declare module 'fastify' {
  interface FastifyContextConfig {
    body?: BodyRule;
  }
}

/**
 * Replaces fastify's body parsers by one that follows each route's BodyRule, whatever the content
 * type: clients send specs with curl's `--data-binary @file` (a form type) and JSON without any
 * type, and what the body is follows from the route, not from the header.
 */
export function installBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, bytes, done) => {
    try {
      done(null, readBody(request, bytes as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

function readBody(request: FastifyRequest, bytes: Buffer): unknown {
  const rule = request.routeOptions.config.body;
  if (rule === undefined) {
    if (bytes.length === 0) return undefined;
    throw new ApiError(400, `${request.method} ${request.routeOptions.url} takes no body`);
  }
  if (rule.kind === 'bytes') return bytes;
  const text = bytes.toString('utf8');
  const tooDeep = nestingProblem(text, rule.kind === 'json' ? 'json' : rule.syntax, rule.nesting);
  if (tooDeep !== null)
    throw new ApiError(400, `the ${rule.kind === 'json' ? 'body' : rule.noun} is ${tooDeep}`);
  if (rule.kind === 'text') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ApiError(400, `the body is not JSON: ${(error as Error).message}`);
  }
}
