import type { Logger } from '../observability/logger';

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
   * lookup table of its own.
   */
  | { action: 'forward'; frame?: Buffer; expectResponse: boolean; exchange?: unknown }
  /** Answer the client from the gateway (`response` is a full response payload); nothing goes upstream. */
  | { action: 'respond'; response: Buffer }
  /** Answer nothing and close the connection, as a broker does for a failed acks=0 produce. */
  | { action: 'close'; reason: string };

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
   * True when responses to this request never need rewriting (e.g. versions without node
   * endpoints): they are then streamed to the client as they arrive instead of being held whole.
   */
  passesUntouched?(route: RequestRoute): boolean;
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
