import type http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { sendJson } from './http-server';

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
  const sent = Buffer.from(request.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  if (sent.length === expected.length && timingSafeEqual(sent, expected)) return true;
  response.setHeader('www-authenticate', 'Bearer');
  sendJson(response, 401, { error: 'a valid bearer token is required' });
  return false;
}
