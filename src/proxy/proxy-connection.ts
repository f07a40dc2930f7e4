import type { Socket } from 'node:net';
import { ProtocolError } from '../protocol/primitives';
import type { Logger } from '../observability/logger';
import {
  FORWARD_EXPECTING_RESPONSE,
  type ApiHandlers,
  type ConnectionContext,
  type RequestDecision,
  type RequestRoute,
} from './api-handler';
import { FrameReader } from './frame-reader';

/** One request waiting for its response to go back to the client. */
interface InFlight {
  route: RequestRoute;
  /** True until the broker's response for it arrived (false for answers the gateway makes itself). */
  awaitingBroker: boolean;
  /** The payload to send to the client, once known. */
  response: Buffer | null;
  /** performance.now() when the request went upstream (for the round-trip histogram). */
  sentAt: number;
  /** What the request's handler asked to get back with the response. */
  exchange?: unknown;
}

/** What the connection reports as traffic flows (metrics hang off this). */
export interface ConnectionObserver {
  opened(): void;
  closed(): void;
  /** A client request arrived. */
  request(apiKey: number): void;
  /** The broker answered a forwarded request after `seconds`. */
  brokerResponse(apiKey: number, seconds: number): void;
  bytes(direction: 'client_to_broker' | 'broker_to_client', count: number): void;
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
  observer?: ConnectionObserver;
}

/** Receives raw frame payloads (without the size prefix); must not keep them without copying. */
export type FrameTap = (direction: 'request' | 'response', route: RequestRoute, frame: Buffer) => void;

const MIN_REQUEST_HEADER_BYTES = 8;

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
  /** Bytes of the response being streamed to the client that have not arrived from the broker yet. */
  private streamingRemaining = 0;
  /** Set once shutdown asked this connection to stop reading; it never reads again. */
  private drainRequested = false;

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
    this.requestFrames = new FrameReader(options.maxFrameBytes);
    // Response sizes are chosen by the client (fetch.max.bytes), not by the request limit; the
    // broker is trusted to honour them, so only the protocol's own bound applies.
    this.responseFrames = new FrameReader(0x7fffffff);
    options.observer?.opened();

    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.onClientData(chunk));
    upstream.on('data', (chunk: Buffer) => this.onUpstreamData(chunk));
    client.on('drain', () => upstream.resume());
    upstream.on('drain', () => {
      if (!this.deciding && !this.drainRequested) client.resume();
    });
    client.on('end', () => {
      const partial = this.requestFrames.bufferedBytes();
      if (partial > 0) {
        this.logger.warn({ bufferedBytes: partial }, 'client closed the connection in the middle of a frame');
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
    this.client.pause();
    if (this.closed || (this.inFlight.length === 0 && this.streamingRemaining === 0 && !this.deciding)) {
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

  private fail(side: 'client' | 'broker', error: unknown): void {
    if (error instanceof ProtocolError) {
      this.logger.warn({ side, err: error.message }, 'malformed frame; closing the connection');
    } else {
      this.logger.error({ side, err: error }, 'unexpected error while proxying; closing the connection');
    }
    this.close(`${side} frame error`);
  }

  private onClientData(chunk: Buffer): void {
    if (this.closed) return;
    this.options.observer?.bytes('client_to_broker', chunk.length);
    let frames: Buffer[];
    try {
      frames = this.requestFrames.push(chunk);
    } catch (error) {
      this.fail('client', error);
      return;
    }
    for (const frame of frames) {
      if (this.deciding) this.backlog.push(frame);
      else this.handleRequest(frame);
      if (this.closed) return;
    }
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
    let decision: RequestDecision | Promise<RequestDecision> = FORWARD_EXPECTING_RESPONSE;
    if (handler?.onRequest) {
      try {
        decision = handler.onRequest(frame, route, this);
      } catch (error) {
        this.fail('client', error);
        return;
      }
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
    if (!this.closed && !this.deciding && !this.drainRequested && this.upstream.writableNeedDrain === false) {
      this.client.resume();
    }
    this.checkDrained();
  }

  private apply(original: Buffer, route: RequestRoute, decision: RequestDecision): void {
    if (this.closed) return;
    switch (decision.action) {
      case 'forward':
        if (decision.expectResponse) {
          this.inFlight.push({
            route,
            awaitingBroker: true,
            response: null,
            sentAt: performance.now(),
            exchange: decision.exchange,
          });
        }
        if (!this.write(this.upstream, decision.frame ?? original)) this.client.pause();
        return;
      case 'respond':
        this.inFlight.push({ route, awaitingBroker: false, response: decision.response, sentAt: 0 });
        this.flushResponses();
        return;
      case 'close':
        this.logger.info({ apiKey: route.apiKey, reason: decision.reason }, 'closing connection');
        this.close(decision.reason);
        return;
    }
  }

  private onUpstreamData(chunk: Buffer): void {
    if (this.closed) return;
    this.options.observer?.bytes('broker_to_client', chunk.length);
    let data = chunk;
    if (this.streamingRemaining > 0) {
      const passed = Math.min(this.streamingRemaining, data.length);
      this.streamingRemaining -= passed;
      if (!this.client.write(data.subarray(0, passed))) this.upstream.pause();
      if (this.streamingRemaining === 0) this.flushResponses();
      if (passed === data.length) return;
      data = data.subarray(passed);
    }
    if (this.responseFrames.bufferedBytes() === 0 && this.startStreaming(data)) return;
    let frames: Buffer[];
    try {
      frames = this.responseFrames.push(data);
    } catch (error) {
      this.fail('broker', error);
      return;
    }
    for (const frame of frames) {
      this.handleResponse(frame);
      if (this.closed) return;
    }
  }

  /**
   * Cut-through for large responses nobody needs to read (most Fetch responses): when `data`
   * starts a response that is not complete yet, belongs to the oldest request, and its API never
   * rewrites it at this version, its bytes go to the client as they arrive instead of after the
   * whole response has been buffered.
   */
  private startStreaming(data: Buffer): boolean {
    if (data.length < 8 || this.options.frameTap !== undefined) return false;
    const size = data.readInt32BE(0);
    if (size < 4 || size > 0x7ffffff0 || 4 + size <= data.length) return false;
    const head = this.inFlight[0];
    if (head === undefined || !head.awaitingBroker || data.readInt32BE(4) !== head.route.correlationId)
      return false;
    const handler = this.handlers[head.route.apiKey];
    if (handler?.onResponse !== undefined && handler.passesUntouched?.(head.route) !== true) return false;
    this.inFlight.shift();
    this.options.observer?.brokerResponse(head.route.apiKey, (performance.now() - head.sentAt) / 1000);
    this.streamingRemaining = 4 + size - data.length;
    if (!this.client.write(data)) this.upstream.pause();
    return true;
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
      rewritten.then(
        (payload) => {
          entry.response = payload;
          this.flushResponses();
        },
        (error: unknown) => this.fail('broker', error),
      );
      return;
    }
    entry.response = rewritten;
    this.flushResponses();
  }

  /** Sends every response at the head of the queue that is ready, preserving request order. */
  private flushResponses(): void {
    // A response still being streamed owns the client socket until its last byte.
    if (this.closed || this.streamingRemaining > 0) return;
    let blocked = false;
    while (this.inFlight.length > 0 && this.inFlight[0].response !== null) {
      const { response } = this.inFlight.shift()!;
      if (!this.write(this.client, response!)) blocked = true;
    }
    if (blocked) this.upstream.pause();
    this.checkDrained();
  }

  private checkDrained(): void {
    if (
      this.draining !== null &&
      this.inFlight.length === 0 &&
      this.streamingRemaining === 0 &&
      !this.deciding &&
      this.backlog.length === 0
    ) {
      const done = this.draining;
      this.draining = null;
      done();
    }
  }

  /** Writes a size-prefixed frame without copying its payload. Returns false when the socket is full. */
  private write(socket: Socket, payload: Buffer): boolean {
    const size = Buffer.allocUnsafe(4);
    size.writeInt32BE(payload.length, 0);
    socket.cork();
    socket.write(size);
    const ok = socket.write(payload);
    socket.uncork();
    return ok;
  }
}
