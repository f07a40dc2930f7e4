import type { Logger } from '../observability/logger';
import type { SizedFrame } from './frame-reader';

/** The three fixed-position fields every request header starts with: enough to route a frame. */
export interface RequestRoute {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
}

/** What the connection should do with one client request. */
export type RequestDecision =
  /**
   * Send `frame` (or the original bytes when absent) to the broker. `exchange` is handed back to
   * onResponse with this request's response, so a handler keeps per-request state without a
   * lookup table of its own. `frame` carries its size prefix in front of it (`sizedFrame`), so that
   * it leaves in one write: a separate prefix and payload cost the kernel more than the same bytes
   * together.
   */
  | {
      action: 'forward';
      frame?: SizedFrame;
      expectResponse: boolean;
      exchange?: unknown;
      watch?: RequestWatch;
      /**
       * The handler read no further than it needed to route the request and keeps no view of it
       * once it has returned: the memory the request arrived in may then take the next read
       * (without it, a handler that saw a whole request is assumed to keep parts of it).
       */
      holdsNothing?: boolean;
    }
  /** Answer the client from the gateway (`response` is a full response payload); nothing goes upstream. */
  | { action: 'respond'; response: Buffer }
  /** Answer nothing and close the connection, as a broker does for a failed acks=0 produce. */
  | { action: 'close'; reason: string };

/**
 * Follows a forwarded request (a forward decision's `watch`): it sees every byte of the payload
 * that goes upstream, without holding any, and cannot change them. A request decided from its
 * head (onRequestHead) is seen piece by piece as it passes; one decided whole, in one piece.
 */
export interface RequestWatch {
  /** The next bytes of the request payload; the first call gets the payload part of the head. */
  take(bytes: Buffer): void;
  /** The last byte has passed. */
  finish(): void;
}

/** What a handler may know about the connection a frame travels on. */
export interface ConnectionContext {
  readonly id: number;
  readonly clientAddress: string;
  /** `bootstrap` or `broker-<node id>`. */
  readonly listener: string;
  readonly logger: Logger;
  clientId: string | null;
}

/**
 * Follows a response that goes to the client as it arrives instead of after it has been held whole
 * (see ApiHandler.watchResponse).
 */
export interface ResponseWatch {
  /**
   * Sees the next bytes of the response payload and returns how many of them may go to the client
   * now. Once it returns fewer than it was given, the rest of the response is held back and handed
   * to `finish`.
   */
  take(bytes: Buffer): number;
  /**
   * Receives the held end of the response once it is complete and returns what to send instead:
   * exactly as many bytes, because the response's size has gone out already. Null when that cannot
   * be done; the connection is then closed and the client retries, as after a broker disconnect.
   */
  finish(tail: Buffer): Buffer | null | Promise<Buffer | null>;
}

/**
 * Per-API behaviour. APIs without a handler travel byte for byte; a handler exists only for the
 * APIs whose requests the gateway inspects or whose responses carry broker addresses.
 */
export interface ApiHandler {
  onRequest?(
    frame: Buffer,
    route: RequestRoute,
    context: ConnectionContext,
  ): RequestDecision | Promise<RequestDecision>;
  /**
   * Decides on a request from its first bytes while the rest is still arriving (`head` is the size
   * prefix and at least the start of the payload), so that it can go upstream as it arrives.
   * Only a forward of the original bytes can be decided this way; undefined means the handler
   * needs the whole request (onRequest then sees it). Without this method, requests to a
   * handler with onRequest are always held whole.
   */
  onRequestHead?(head: Buffer, route: RequestRoute, context: ConnectionContext): RequestDecision | undefined;
  /**
   * True when responses to this request never need rewriting (e.g. versions without node
   * endpoints): they are then streamed to the client as they arrive instead of being held whole.
   */
  passesUntouched?(route: RequestRoute): boolean;
  /**
   * For a response that onResponse would otherwise need whole: a watch that lets it stream to the
   * client and rewrites only its end. Undefined when this response must be held whole.
   */
  watchResponse?(
    route: RequestRoute,
    context: ConnectionContext,
    exchange?: unknown,
  ): ResponseWatch | undefined;
  /** Returns the payload to send to the client: the same buffer when nothing changed. */
  onResponse?(
    frame: Buffer,
    route: RequestRoute,
    context: ConnectionContext,
    exchange?: unknown,
  ): Buffer | Promise<Buffer>;
}

/** Handlers indexed by API key: a plain array lookup on the hot path. */
export type ApiHandlers = ReadonlyArray<ApiHandler | undefined>;

export const FORWARD_EXPECTING_RESPONSE: RequestDecision = Object.freeze({
  action: 'forward',
  expectResponse: true,
});
