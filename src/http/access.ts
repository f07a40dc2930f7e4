import type http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { sendJson } from './http-server';

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
   * The caller when it may do what needs `role`; otherwise answers 401 (no or unknown token) or
   * 403 (a read token asking to change something) itself and returns null.
   */
  require(request: http.IncomingMessage, response: http.ServerResponse, role: Role): Principal | null {
    const principal = this.identify(bearerToken(request));
    if (principal === null) {
      response.setHeader('www-authenticate', 'Bearer');
      sendJson(response, 401, { error: 'a valid bearer token is required' });
      return null;
    }
    if (RANK[principal.role] < RANK[role]) {
      sendJson(response, 403, {
        error: `token '${principal.name}' has the ${principal.role} role; ${role} is required`,
      });
      return null;
    }
    return principal;
  }
}
