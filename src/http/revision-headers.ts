import type http from 'node:http';
import { StaleRevisionError, StateUnavailableError } from '../state/state-errors';
import { sendJson } from './http-server';

/** A stored document's revision as an ETag. */
export function etag(revision: string): string {
  return `"${revision}"`;
}

export interface Preconditions {
  /** The revision `If-Match` names; '*' when any existing document will do. */
  ifMatch?: string;
  /** `If-None-Match: *`: only when there is no such document yet. */
  ifNoneMatch?: boolean;
}

/** Reads If-Match / If-None-Match; a value that is no ETag of ours is an error for the caller's 400. */
export function preconditions(request: http.IncomingMessage): Preconditions | { error: string } {
  const result: Preconditions = {};
  const match = request.headers['if-match'];
  if (typeof match === 'string') {
    const value = match.trim();
    if (value === '*') result.ifMatch = '*';
    else {
      const parsed = /^(?:W\/)?"(\d{1,19})"$/.exec(value);
      if (parsed === null)
        return {
          error: `If-Match must be an ETag this API returned (e.g. "42"), not ${JSON.stringify(value.slice(0, 40))}`,
        };
      result.ifMatch = parsed[1];
    }
  }
  const noneMatch = request.headers['if-none-match'];
  if (typeof noneMatch === 'string') {
    if (noneMatch.trim() !== '*') return { error: 'If-None-Match is supported only as *' };
    result.ifNoneMatch = true;
  }
  return result;
}

/** Answers a failed state write: 412 for a stale revision, 503 when Kafka could not take it. True when it did. */
export function answerStateError(response: http.ServerResponse, error: unknown): boolean {
  if (error instanceof StaleRevisionError) {
    sendJson(response, 412, { error: `precondition failed: ${error.message}` });
    return true;
  }
  if (error instanceof StateUnavailableError) {
    response.setHeader('retry-after', '5');
    sendJson(response, 503, { error: `the change was not stored: ${error.message}` });
    return true;
  }
  return false;
}
