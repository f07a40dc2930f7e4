import type { IncomingHttpHeaders } from 'node:http';

/** A publisher the door let in, and what it may do. */
export interface PublisherIdentity {
  /** The API key's name (the records' client id in the pipeline and the quotas). */
  name: string;
  mayPublish(topic: string): boolean;
  /** Null when the key may publish events of this CloudEvents source and type, else why not. */
  mayUse(source: string, type: string): string | null;
  /** Takes `events` and `bytes` from the key's rate; refused: when to come back. */
  admit(events: number, bytes: number): { ok: true } | { ok: false; retryAfterSeconds: number };
}

/** Who is publishing: throws the API's 401/403 ApiError, or names the publisher. */
export interface PublisherAuth {
  authenticate(headers: IncomingHttpHeaders, clientAddress: string): PublisherIdentity;
}

/** With `ingest.requireApiKeys: false`: everyone is one publisher that may publish anything. */
export const OPEN_DOOR: PublisherAuth = {
  authenticate: () => ANYONE,
};

const ANYONE: PublisherIdentity = {
  name: 'anonymous',
  mayPublish: () => true,
  mayUse: () => null,
  admit: () => ({ ok: true }),
};
