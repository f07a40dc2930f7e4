import type http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { sendJson } from './http-server';

/** Compares a token sent by a client with the configured one in constant time. */
export function tokenMatches(sent: string | null | undefined, token: string): boolean {
  if (sent === null || sent === undefined) return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * True when the request may proceed: no token is configured, or it carries
 * `Authorization: Bearer <token>`. Otherwise answers 401 itself.
 */
export function checkBearerToken(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  token: string | undefined,
): boolean {
  if (token === undefined) return true;
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ') && tokenMatches(header.slice('Bearer '.length), token)) return true;
  response.setHeader('www-authenticate', 'Bearer');
  sendJson(response, 401, { error: 'a valid bearer token is required' });
  return false;
}
