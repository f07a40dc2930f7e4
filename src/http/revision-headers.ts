import type { IncomingHttpHeaders } from 'node:http';
import { StaleRevisionError, StateUnavailableError } from '../state/state-errors';
import { ApiError } from './api-error';

/** The ETag response header, for the OpenAPI document. */
export const etagHeader = { ETag: { type: 'string', description: 'The stored revision, for If-Match.' } };

const IF_MATCH = { type: 'string', description: 'Only when the stored revision is this ETag (or *).' };

/** Request headers of a change to an existing document (DELETE, POST on it). */
export const ifMatchHeaders = { type: 'object', properties: { 'if-match': IF_MATCH } };

/** Request headers of a PUT: replace only this revision, or create only if there is none. */
export function putHeaders(what: string) {
  return {
    type: 'object',
    properties: {
      'if-match': IF_MATCH,
      'if-none-match': { type: 'string', enum: ['*'], description: `Only when no such ${what} exists.` },
    },
  };
}

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

/** Reads If-Match / If-None-Match; a value that is no ETag of ours is a 400. */
export function preconditions(headers: IncomingHttpHeaders): Preconditions {
  const result: Preconditions = {};
  const match = headers['if-match'];
  if (typeof match === 'string') {
    const value = match.trim();
    if (value === '*') result.ifMatch = '*';
    else {
      const parsed = /^(?:W\/)?"(\d{1,19})"$/.exec(value);
      if (parsed === null)
        throw new ApiError(
          400,
          `If-Match must be an ETag this API returned (e.g. "42"), not ${JSON.stringify(value.slice(0, 40))}`,
        );
      result.ifMatch = parsed[1];
    }
  }
  const noneMatch = headers['if-none-match'];
  if (typeof noneMatch === 'string') {
    if (noneMatch.trim() !== '*') throw new ApiError(400, 'If-None-Match is supported only as *');
    result.ifNoneMatch = true;
  }
  return result;
}

/**
 * A failed state write as the API's answer: 412 for a stale revision, 503 (with Retry-After) when
 * Kafka could not take it; anything else is not the client's to know and is rethrown.
 */
export function stateWriteError(error: unknown): never {
  if (error instanceof StaleRevisionError) throw new ApiError(412, `precondition failed: ${error.message}`);
  if (error instanceof StateUnavailableError)
    throw new ApiError(503, `the change was not stored: ${error.message}`, {}, { 'retry-after': '5' });
  throw error;
}
