import type { Socket } from 'node:net';
import { ProtocolError } from '../protocol/primitives';
import type { Logger } from '../observability/logger';
import type { ConnectionObserver } from '../observability/connection-observer';
import type { RateLimitedLog } from '../observability/rate-limited-log';
import {
  FORWARD_EXPECTING_RESPONSE,
  type ApiHandlers,
  type ConnectionContext,
  type RequestDecision,
  type RequestWatch,
  type ResponseWatch,
  type RequestRoute,
} from './api-handler';
import { FrameReader, withSizePrefix, type FrameSink } from './frame-reader';
import type { RecycledReads } from './recycled-reads';
import { ReadTurnWrites } from './read-turn-writes';

/** One request waiting for its response to go back to the client. */
interface InFlight {
  route: RequestRoute;
  /** True until the broker's response for it arrived (false for answers the gateway makes itself). */
  awaitingBroker: boolean;
  /** The payload to send to the client, once known. */
  response: Buffer | null;
  /** True when `response` is the broker's frame as the reader delivered it (size prefix in front). */
  responseUntouched: boolean;
  /** performance.now() when the request went upstream (for the round-trip histogram). */
  sentAt: number;
  /** What the request's handler asked to get back with the response. */
  exchange?: unknown;
}

export interface ProxyConnectionOptions {
  id: number;
  listener: string;
  maxFrameBytes: number;
  handlers: ApiHandlers;
  logger: Logger;
  onClose?: (connection: ProxyConnection) => void;
  /** Sees every frame as it arrived (client requests, broker responses): for capture and debugging. */
  frameTap?: FrameTap;
  /** Set when `upstream` reads into recycled memory (its 'data' events are then not emitted). */
  upstreamReads?: RecycledReads;
  /** Set when `client` reads into recycled memory (accepted-socket.ts). */
  clientReads?: RecycledReads;
  observer?: ConnectionObserver;
  /**
   * Shared by every connection, so that a warning thousands of clients trigger at once (a broker
   * going away, a load balancer's probes) is one line and a count, not a flood.
   */
  warnings?: RateLimitedLog;
}

/** Receives raw frame payloads (without the size prefix); must not keep them without copying. */
export type FrameTap = (direction: 'request' | 'response', route: RequestRoute, frame: Buffer) => void;

const MIN_REQUEST_HEADER_BYTES = 8;
/**
 * How much of a request must have arrived before the gateway decides whether to pass the rest
 * through as it comes: the header and, for Produce, the fields up to acks, with room for long
 * client and transactional ids.
 */
const REQUEST_HEAD_BYTES = 512;
/** A response's correlation id is all it takes to know whose it is. */
const RESPONSE_HEAD_BYTES = 4;

/**
 * A client connection paired with its own broker connection. Requests go upstream in the order
 * they arrived and responses go back in that same order, including answers the gateway makes
 * itself. Either side being slow pauses reading on the other, so nothing buffers without bound.
 */
export class ProxyConnection implements ConnectionContext {
  readonly id: number;
  readonly listener: string;
  readonly clientAddress: string;
  readonly logger: Logger;
  clientId: string | null = null;

  private readonly handlers: ApiHandlers;
  private readonly requestFrames: FrameReader;
  private readonly responseFrames: FrameReader;
  private readonly inFlight: InFlight[] = [];
  /** Requests that arrived while an asynchronous handler was still deciding on an earlier one. */
  private readonly backlog: Buffer[] = [];
  private deciding = false;
  private closed = false;
  private draining: (() => void) | null = null;
  /** True while a response passes to the client as it arrives; later responses wait for it. */
  private responseStreaming = false;
  /** Rewrites the end of the response being streamed, when its handler needs to. */
  private responseWatch: ResponseWatch | null = null;
  /** The end of the streamed response, held back for the watch once it started. */
  private heldTail: Buffer[] = [];
  /** Follows the request passing upstream as it arrives, when its handler asked to. */
  private requestWatch: RequestWatch | null = null;
  /** Set once shutdown asked this connection to stop reading; it never reads again. */
  private drainRequested = false;
  /** Responses whose handler is still working on them asynchronously (they may hold read memory). */
  private responsesInProgress = 0;
  /**
   * Set while a client read is handled when something may keep a view of it past the read: a
   * handler that saw a whole request (it may keep parts of it until the response, or hand records
   * to middlewares) unless its decision says it holds nothing, one that follows a request with a
   * watch or an exchange, or a frame tap.
   */
  private clientBytesKept = false;
  /** Writes to the broker made while a client read is handled, and to the client for a broker read. */
  private readonly toUpstream: ReadTurnWrites;
  private readonly toClient: ReadTurnWrites;
  private readonly requestSink: FrameSink = {
    frame: (payload) => this.onRequestFrame(payload),
    frameStart: (_size, head) => this.passRequest(head),
    frameRest: (bytes, remaining) => {
      if (this.closed) return;
      this.write(this.upstream, bytes, this.client);
      const watch = this.requestWatch;
      if (watch === null) return;
      this.clientBytesKept = true;
      watch.take(bytes);
      if (remaining === 0) {
        this.requestWatch = null;
        watch.finish();
      }
    },
  };
  private readonly responseSink: FrameSink = {
    frame: (payload) => this.handleResponse(payload),
    frameStart: (_size, head) => this.passResponse(head),
    frameRest: (bytes, remaining) => this.continueResponse(bytes, remaining),
  };

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly options: ProxyConnectionOptions,
  ) {
    this.id = options.id;
    this.listener = options.listener;
    this.clientAddress = `${client.remoteAddress}:${client.remotePort}`;
    this.logger = options.logger.child({
      conn: options.id,
      client: this.clientAddress,
      listener: options.listener,
    });
    this.handlers = options.handlers;
    this.requestFrames = new FrameReader(options.maxFrameBytes, REQUEST_HEAD_BYTES);
    // Response sizes are chosen by the client (fetch.max.bytes), not by the request limit; the
    // broker is trusted to honour them, so only the protocol's own bound applies.
    this.responseFrames = new FrameReader(0x7fffffff, RESPONSE_HEAD_BYTES);
    options.observer?.opened();

    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.toUpstream = new ReadTurnWrites(upstream);
    this.toClient = new ReadTurnWrites(client);
    const onClientRead = (chunk: Buffer): void => {
      // Everything one chunk produces leaves in one write.
      this.toUpstream.begin();
      this.onClientData(chunk);
      if (!this.toUpstream.end()) client.pause();
    };
    if (options.clientReads === undefined) {
      client.on('data', onClientRead);
    } else {
      options.clientReads.attach((chunk) => {
        this.clientBytesKept = false;
        onClientRead(chunk);
        return this.keepsNoClientBytes();
      });
    }
    const onUpstreamRead = (chunk: Buffer): void => {
      this.toClient.begin();
      this.onUpstreamData(chunk);
      if (!this.toClient.end()) upstream.pause();
    };
    if (options.upstreamReads === undefined) {
      upstream.on('data', onUpstreamRead);
    } else {
      options.upstreamReads.attach((chunk) => {
        onUpstreamRead(chunk);
        return this.keepsNoUpstreamBytes();
      });
    }
    client.on('drain', () => upstream.resume());
    upstream.on('drain', () => {
      if (this.mayReadClient()) client.resume();
    });
    client.on('end', () => {
      const partial = this.requestFrames.bufferedBytes();
      if (partial > 0) {
        this.warn(
          'partial-frame',
          { bufferedBytes: partial },
          'client closed the connection in the middle of a frame',
        );
      }
      this.close('client closed the connection');
    });
    upstream.on('end', () => this.close('broker closed the connection'));
    client.on('error', (error) => this.close(`client socket error: ${error.message}`));
    upstream.on('error', (error) => this.close(`broker socket error: ${error.message}`));
    client.on('close', () => this.close('client connection closed'));
    upstream.on('close', () => this.close('broker connection closed'));
  }

  /** Stops reading new requests and resolves once every accepted request has been answered. */
  drain(): Promise<void> {
    this.drainRequested = true;
    // A request already on its way upstream is read to its end, or its response would never come.
    if (!this.requestFrames.passingThrough()) this.client.pause();
    if (this.closed || (this.inFlight.length === 0 && !this.responseStreaming && !this.deciding)) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.draining = resolve;
    });
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.options.observer?.closed();
    this.logger.debug({ reason }, 'connection closed');
    this.client.end();
    this.upstream.end();
    // Give queued bytes a moment to flush, then make sure no socket outlives the pair.
    setTimeout(() => {
      this.client.destroy();
      this.upstream.destroy();
    }, 1000).unref();
    this.draining?.();
    this.options.onClose?.(this);
  }

  private warn(key: string, fields: Record<string, unknown>, message: string): void {
    const warnings = this.options.warnings;
    if (warnings === undefined) this.logger.warn(fields, message);
    else
      warnings.warn(
        key,
        { conn: this.id, client: this.clientAddress, listener: this.listener, ...fields },
        message,
      );
  }

  private fail(side: 'client' | 'broker', error: unknown): void {
    if (error instanceof ProtocolError) {
      // One line per kind of fault (numbers aside), so one bad client does not hide another's.
      this.warn(
        `malformed-frame:${side}:${error.message.replace(/\d+/g, 'N')}`,
        { side, err: error.message },
        'malformed frame; closing the connection',
      );
    } else {
      this.logger.error({ side, err: error }, 'unexpected error while proxying; closing the connection');
    }
    this.close(`${side} frame error`);
  }

  /** Reading from the client stops while a decision is pending and, after a drain request, for good. */
  private mayReadClient(): boolean {
    return !this.deciding && (!this.drainRequested || this.requestFrames.passingThrough());
  }

  private onClientData(chunk: Buffer): void {
    if (this.closed) return;
    this.options.observer?.bytes('client_to_broker', chunk.length);
    try {
      this.requestFrames.feed(chunk, this.requestSink);
    } catch (error) {
      this.fail('client', error);
    }
    if (this.drainRequested && !this.requestFrames.passingThrough()) this.client.pause();
  }

  private onRequestFrame(frame: Buffer): void {
    if (this.closed) return;
    if (this.deciding) this.backlog.push(frame);
    else this.handleRequest(frame);
  }

  /**
   * Cut-through for a request that is not complete yet: when its handler (if any) can decide from
   * the head that it goes upstream unchanged, its bytes are forwarded as they arrive instead of
   * being assembled first. Returns false to have it held whole.
   */
  private passRequest(head: Buffer): boolean {
    if (this.closed || this.deciding || this.options.frameTap !== undefined) return false;
    const route: RequestRoute = {
      apiKey: head.readInt16BE(4),
      apiVersion: head.readInt16BE(6),
      correlationId: head.readInt32BE(8),
    };
    const handler = this.handlers[route.apiKey];
    let decision: RequestDecision | undefined = FORWARD_EXPECTING_RESPONSE;
    if (handler?.onRequest !== undefined) {
      try {
        decision = handler.onRequestHead?.(head, route, this);
      } catch (error) {
        this.fail('client', error);
        return false;
      }
      if (decision === undefined || decision.action !== 'forward' || decision.frame !== undefined)
        return false;
    }
    this.options.observer?.request(route.apiKey);
    if (decision.action === 'forward' && decision.expectResponse)
      this.expectResponse(route, decision.exchange);
    this.write(this.upstream, head, this.client);
    const watch = decision.action === 'forward' ? decision.watch : undefined;
    if (watch !== undefined || (decision.action === 'forward' && decision.exchange !== undefined))
      this.clientBytesKept = true;
    if (watch !== undefined) {
      this.requestWatch = watch;
      watch.take(head.subarray(4));
    }
    return true;
  }

  private handleRequest(frame: Buffer): void {
    if (frame.length < MIN_REQUEST_HEADER_BYTES) {
      this.fail('client', new ProtocolError(`request of ${frame.length} bytes is shorter than a header`, 0));
      return;
    }
    const route: RequestRoute = {
      apiKey: frame.readInt16BE(0),
      apiVersion: frame.readInt16BE(2),
      correlationId: frame.readInt32BE(4),
    };
    this.options.frameTap?.('request', route, frame);
    this.options.observer?.request(route.apiKey);
    const handler = this.handlers[route.apiKey];
    if (this.options.frameTap !== undefined) this.clientBytesKept = true;
    let decision: RequestDecision | Promise<RequestDecision> = FORWARD_EXPECTING_RESPONSE;
    if (handler?.onRequest) {
      try {
        decision = handler.onRequest(frame, route, this);
      } catch (error) {
        this.fail('client', error);
        return;
      }
      if (decision instanceof Promise || decision.action !== 'forward' || decision.holdsNothing !== true)
        this.clientBytesKept = true;
    }
    if (decision instanceof Promise) {
      this.deciding = true;
      this.client.pause();
      decision.then(
        (settled) => {
          this.deciding = false;
          this.apply(frame, route, settled);
          this.resumeRequests();
        },
        (error: unknown) => {
          this.deciding = false;
          this.fail('client', error);
        },
      );
      return;
    }
    this.apply(frame, route, decision);
  }

  private resumeRequests(): void {
    while (!this.closed && !this.deciding && this.backlog.length > 0) {
      this.handleRequest(this.backlog.shift()!);
    }
    if (!this.closed && this.mayReadClient() && this.upstream.writableNeedDrain === false) {
      this.client.resume();
    }
    this.checkDrained();
  }

  private apply(original: Buffer, route: RequestRoute, decision: RequestDecision): void {
    if (this.closed) return;
    switch (decision.action) {
      case 'forward':
        if (decision.expectResponse) this.expectResponse(route, decision.exchange);
        this.write(this.upstream, withSizePrefix(decision.frame ?? original), this.client);
        if (decision.watch !== undefined) {
          decision.watch.take(decision.frame ?? original);
          decision.watch.finish();
        }
        return;
      case 'respond':
        this.inFlight.push({
          route,
          awaitingBroker: false,
          response: decision.response,
          responseUntouched: false,
          sentAt: 0,
        });
        this.flushResponses();
        return;
      case 'close':
        this.logger.info({ apiKey: route.apiKey, reason: decision.reason }, 'closing connection');
        this.close(decision.reason);
        return;
    }
  }

  private expectResponse(route: RequestRoute, exchange: unknown): void {
    this.inFlight.push({
      route,
      awaitingBroker: true,
      response: null,
      responseUntouched: false,
      sentAt: performance.now(),
      exchange,
    });
  }

  private onUpstreamData(chunk: Buffer): void {
    if (this.closed) return;
    this.options.observer?.bytes('broker_to_client', chunk.length);
    try {
      this.responseFrames.feed(chunk, this.responseSink);
    } catch (error) {
      this.fail('broker', error);
    }
  }

  /**
   * Cut-through for large responses (most Fetch responses): when `head` starts a response that is
   * not complete yet and is the next one the client is owed, its bytes go to the client as they
   * arrive instead of after the whole response has been buffered. A handler that rewrites such
   * responses follows them with a watch and replaces only their end.
   */
  private passResponse(head: Buffer): boolean {
    if (this.closed || this.options.frameTap !== undefined) return false;
    const entry = this.inFlight[0];
    if (entry === undefined || !entry.awaitingBroker || head.readInt32BE(4) !== entry.route.correlationId)
      return false;
    const handler = this.handlers[entry.route.apiKey];
    let watch: ResponseWatch | undefined;
    if (handler?.onResponse !== undefined && handler.passesUntouched?.(entry.route) !== true) {
      try {
        watch = handler.watchResponse?.(entry.route, this, entry.exchange);
      } catch (error) {
        this.fail('broker', error);
        return false;
      }
      if (watch === undefined) return false;
    }
    this.inFlight.shift();
    this.options.observer?.brokerResponse(entry.route.apiKey, (performance.now() - entry.sentAt) / 1000);
    this.responseStreaming = true;
    if (watch === undefined) {
      this.write(this.client, head, this.upstream);
      return true;
    }
    this.responseWatch = watch;
    this.heldTail = [];
    this.write(this.client, head.subarray(0, 4), this.upstream);
    this.continueResponse(head.subarray(4), -1);
    return true;
  }

  /** More of the streamed response; `remaining` bytes of it are still to come (-1: not known here). */
  private continueResponse(bytes: Buffer, remaining: number): void {
    if (this.closed) return;
    const watch = this.responseWatch;
    if (watch === null) {
      this.write(this.client, bytes, this.upstream);
    } else {
      // Once the watch holds the tail back, everything after it is tail too.
      let passed = 0;
      if (this.heldTail.length === 0) {
        try {
          passed = watch.take(bytes);
        } catch (error) {
          this.fail('broker', error);
          return;
        }
        if (passed > 0)
          this.write(this.client, passed === bytes.length ? bytes : bytes.subarray(0, passed), this.upstream);
      }
      if (passed < bytes.length) this.heldTail.push(passed === 0 ? bytes : bytes.subarray(passed));
    }
    if (remaining === 0) this.endStreamedResponse();
  }

  private endStreamedResponse(): void {
    const watch = this.responseWatch;
    if (watch === null) {
      this.responseStreaming = false;
      this.flushResponses();
      return;
    }
    const held = this.heldTail;
    const tail = held.length === 1 ? held[0] : Buffer.concat(held);
    this.responseWatch = null;
    this.heldTail = [];
    const send = (replacement: Buffer | null): void => {
      if (this.closed) return;
      if (replacement === null || replacement.length !== tail.length) {
        this.logger.warn(
          'a streamed response could not be rewritten in place; closing the connection so that the client retries',
        );
        this.close('streamed response could not be rewritten');
        return;
      }
      this.write(this.client, replacement, this.upstream);
      this.responseStreaming = false;
      this.flushResponses();
    };
    let replacement: Buffer | null | Promise<Buffer | null>;
    try {
      replacement = watch.finish(tail);
    } catch (error) {
      this.fail('broker', error);
      return;
    }
    if (replacement instanceof Promise) this.whenSettled(replacement, send);
    else send(replacement);
  }

  private handleResponse(frame: Buffer): void {
    const entry = this.inFlight.find((candidate) => candidate.awaitingBroker);
    if (frame.length < 4 || entry === undefined) {
      this.fail('broker', new ProtocolError('response without a matching request', 0));
      return;
    }
    const correlationId = frame.readInt32BE(0);
    if (correlationId !== entry.route.correlationId) {
      this.fail(
        'broker',
        new ProtocolError(
          `response correlation id ${correlationId}, expected ${entry.route.correlationId}`,
          0,
        ),
      );
      return;
    }
    entry.awaitingBroker = false;
    this.options.observer?.brokerResponse(entry.route.apiKey, (performance.now() - entry.sentAt) / 1000);
    this.options.frameTap?.('response', entry.route, frame);
    const handler = this.handlers[entry.route.apiKey];
    if (!handler?.onResponse) {
      entry.response = frame;
      entry.responseUntouched = true;
      this.flushResponses();
      return;
    }
    let rewritten: Buffer | Promise<Buffer>;
    try {
      rewritten = handler.onResponse(frame, entry.route, this, entry.exchange);
    } catch (error) {
      this.fail('broker', error);
      return;
    }
    if (rewritten instanceof Promise) {
      this.whenSettled(rewritten, (payload) => {
        entry.response = payload;
        this.flushResponses();
      });
      return;
    }
    entry.response = rewritten;
    entry.responseUntouched = rewritten === frame;
    this.flushResponses();
  }

  /**
   * Continues with a response a handler finishes asynchronously. Until then it may hold bytes of
   * the read it came in (see keepsNoUpstreamBytes); a failure closes the connection.
   */
  private whenSettled<T>(pending: Promise<T>, then: (value: T) => void): void {
    this.responsesInProgress++;
    pending.then(
      (value) => {
        this.responsesInProgress--;
        then(value);
      },
      (error: unknown) => {
        this.responsesInProgress--;
        this.fail('broker', error);
      },
    );
  }

  /** Sends every response at the head of the queue that is ready, preserving request order. */
  private flushResponses(): void {
    // A response still being streamed owns the client socket until its last byte.
    if (this.closed || this.responseStreaming) return;
    while (this.inFlight.length > 0 && this.inFlight[0].response !== null) {
      const { response, responseUntouched } = this.inFlight.shift()!;
      if (responseUntouched) this.write(this.client, withSizePrefix(response!), this.upstream);
      else this.writeFrame(this.client, response!, this.upstream);
    }
    this.checkDrained();
  }

  /**
   * Whether the bytes of the last read are free for the next one: all written to the client (none
   * queued), and no part of them waiting in a frame being assembled, a held tail, a response
   * waiting for its turn or one a handler is still working on.
   */
  private keepsNoUpstreamBytes(): boolean {
    if (this.closed || this.client.writableLength > 0) return false;
    if (this.responseFrames.bufferedBytes() > 0 || this.heldTail.length > 0 || this.responsesInProgress > 0)
      return false;
    for (const entry of this.inFlight) if (entry.response !== null) return false;
    return true;
  }

  /**
   * Whether the memory of the last client read is free for the next one: all written upstream
   * (none queued), no part of it in a frame being assembled or a request waiting for a decision,
   * and nothing that may keep a view of it was given any (clientBytesKept).
   */
  private keepsNoClientBytes(): boolean {
    return (
      !this.clientBytesKept &&
      !this.closed &&
      this.upstream.writableLength === 0 &&
      this.requestFrames.bufferedBytes() === 0 &&
      !this.deciding &&
      this.backlog.length === 0
    );
  }

  private checkDrained(): void {
    if (
      this.draining !== null &&
      this.inFlight.length === 0 &&
      !this.responseStreaming &&
      !this.deciding &&
      this.backlog.length === 0
    ) {
      const done = this.draining;
      this.draining = null;
      done();
    }
  }

  /**
   * Writes a size-prefixed frame without copying its payload. When `socket` cannot take more,
   * `source` (the other side) stops being read until it drains.
   */
  private writeFrame(socket: Socket, payload: Buffer, source: Socket): void {
    const size = Buffer.allocUnsafe(4);
    size.writeInt32BE(payload.length, 0);
    const turn = this.turnOf(socket);
    socket.cork();
    const sizeTaken = turn.write(size);
    const payloadTaken = turn.write(payload);
    socket.uncork();
    if (!sizeTaken || !payloadTaken) source.pause();
  }

  /** Writes bytes as they are (parts of a frame passing through). */
  private write(socket: Socket, bytes: Buffer, source: Socket): void {
    if (!this.turnOf(socket).write(bytes)) source.pause();
  }

  private turnOf(socket: Socket): ReadTurnWrites {
    return socket === this.upstream ? this.toUpstream : this.toClient;
  }
}
