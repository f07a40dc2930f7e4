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
  | { kind: 'text'; syntax: 'json' | 'yaml'; nesting: number; noun: string };

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
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, text, done) => {
    try {
      done(null, readBody(request, text as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

function readBody(request: FastifyRequest, text: string): unknown {
  const rule = request.routeOptions.config.body;
  if (rule === undefined) {
    if (text === '') return undefined;
    throw new ApiError(400, `${request.method} ${request.routeOptions.url} takes no body`);
  }
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
