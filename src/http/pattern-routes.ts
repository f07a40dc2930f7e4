import { PatternError } from '../patterns/event-pattern';
import { compileRecordPattern } from '../patterns/record-event';
import { BODY_NESTING_LIMIT, nestingProblem } from './body-limits';
import { sendJson, type HttpServer } from './http-server';
import { readBody } from './read-body';

/** A pattern and an event are small; anything bigger is a mistake or an attack. */
const MAX_BODY_BYTES = 256 * 1024;

/**
 * POST /patterns/test with `{"pattern": {...}, "event": {...}}`: whether the pattern matches the
 * event, the way the filter and the tap would match it against a record whose event (value, key,
 * headers) is `event`. Stateless, so it needs no token: it lets producers check a rule first.
 */
export function registerPatternRoutes(server: HttpServer): void {
  server.route('POST', '/patterns/test', async (request, response) => {
    const body = await readBody(request, MAX_BODY_BYTES);
    if (body === null) {
      sendJson(response, 413, { error: `the body is larger than the ${MAX_BODY_BYTES}-byte limit` });
      return;
    }
    const tooDeep = nestingProblem(body, 'json', BODY_NESTING_LIMIT);
    if (tooDeep !== null) {
      sendJson(response, 400, { error: `the body is ${tooDeep}` });
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      sendJson(response, 400, { error: `the body is not JSON: ${(error as Error).message}` });
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !('pattern' in parsed)) {
      sendJson(response, 400, { error: 'the body is {"pattern": {...}, "event": {...}}' });
      return;
    }
    const { pattern, event } = parsed as { pattern: unknown; event?: unknown };
    if (typeof event !== 'object' || event === null || Array.isArray(event)) {
      sendJson(response, 400, {
        error: 'event must be an object such as {"value": {...}, "key": "...", "headers": {...}}',
      });
      return;
    }
    try {
      sendJson(response, 200, { matches: compileRecordPattern(pattern).matches(event) });
    } catch (error) {
      if (!(error instanceof PatternError)) throw error;
      sendJson(response, 400, { error: `invalid pattern: ${error.message}`, path: error.path });
    }
  });
}
