import type http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { onRequestHookHandler } from 'fastify';
import { ApiError } from './api-error';

/** `admin` may change state; `read` may look at it. */
export type Role = 'admin' | 'read';

/** Who made a request: a token's name, never the token. */
export interface Principal {
  name: string;
  role: Role;
}

export interface NamedToken extends Principal {
  token: string;
}

/** The OpenAPI security requirement of the routes that take a token. */
export const bearerSecurity = [{ bearer: [] }];

/** When no token is configured at all, every request acts as this (loopback or an explicit opt-out). */
export const ANONYMOUS: Principal = { name: 'anonymous', role: 'admin' };

const RANK: Record<Role, number> = { read: 1, admin: 2 };

function sameBytes(sent: string, token: string): boolean {
  const a = Buffer.from(sent);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(request: http.IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  return typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
}

/**
 * The HTTP API's tokens. Every token is compared, in constant time, whatever matched first, so
 * the answer's timing tells nothing about which token came close.
 */
export class AccessControl {
  constructor(private readonly tokens: readonly NamedToken[]) {}

  /** No token configured: the API is open (the configuration refuses that off loopback unless opted out). */
  get open(): boolean {
    return this.tokens.length === 0;
  }

  identify(sent: string | null | undefined): Principal | null {
    if (this.open) return ANONYMOUS;
    if (typeof sent !== 'string') return null;
    let found: NamedToken | null = null;
    for (const candidate of this.tokens) {
      if (sameBytes(sent, candidate.token) && found === null) found = candidate;
    }
    return found === null ? null : { name: found.name, role: found.role };
  }

  /**
   * The caller when it may do what needs `role`; otherwise an ApiError: 401 (no or unknown token)
   * or 403 (a read token asking to change something).
   */
  require(request: http.IncomingMessage, role: Role): Principal {
    const principal = this.identify(bearerToken(request));
    if (principal === null)
      throw new ApiError(401, 'a valid bearer token is required', {}, { 'www-authenticate': 'Bearer' });
    if (RANK[principal.role] < RANK[role])
      throw new ApiError(
        403,
        `token '${principal.name}' has the ${principal.role} role; ${role} is required`,
      );
    return principal;
  }

  /**
   * An onRequest hook for routes that need `role`: it runs before the body is read, so a request
   * without the right token is refused without taking its upload.
   */
  hook(role: Role): onRequestHookHandler {
    return (request, _reply, done) => {
      try {
        request.principal = this.require(request.raw, role);
        done();
      } catch (error) {
        done(error as Error);
      }
    };
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request, set by AccessControl's hook on routes that need a token. */
    principal: Principal;
  }
}
