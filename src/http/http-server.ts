import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from '../observability/logger';
import { RateLimitedLog } from '../observability/rate-limited-log';
import { ApiError, errorBody, errorSchema, rawErrorResponse } from './api-error';
import { installBodyParsers } from './body-parsers';
import { registerOpenApi } from './openapi';

/** Takes over an upgrade request for its path; `url` is already parsed. */
export type UpgradeHandler = (request: http.IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void;

export interface HttpServerOptions {
  host: string;
  port: number;
  logger: Logger;
  /** The gateway's version, in the OpenAPI document. */
  version: string;
}

/** For routes that set none; the routes that take documents set their own. */
const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Longest path parameter the router matches; spec ids are at most 128 characters. */
const MAX_PARAM_LENGTH = 256;

const ANSWERED_METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH'] as const;

/**
 * Answers an upgrade request that will not be upgraded and closes the connection, with the API's
 * error body (the reason may quote what the client sent; JSON keeps it on one line).
 */
export function refuseOnSocket(socket: Duplex, status: number, reason: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(rawErrorResponse(status, reason));
}

/**
 * The gateway's HTTP side: a fastify application whose routes the rooms register (health, specs,
 * throttle, patterns, the OpenAPI document), plus the WebSocket endpoints, routed here by path
 * before fastify sees them. Every refusal, from a route, a hook, the body parsers, the router or
 * Node's own request parser, has the one error body of api-error.ts.
 */
export class HttpServer {
  readonly app: FastifyInstance;
  private readonly upgrades = new Map<string, UpgradeHandler>();
  private readonly clientErrors: RateLimitedLog;
  /** Methods registered per route URL, to answer 405 (with Allow) for the others. */
  private readonly methods = new Map<string, Set<string>>();

  /** A server ready for routes: the OpenAPI document is set up first, so it sees every route. */
  static async create(options: HttpServerOptions): Promise<HttpServer> {
    const server = new HttpServer(options);
    await registerOpenApi(server.app, { version: options.version });
    return server;
  }

  private constructor(private readonly options: HttpServerOptions) {
    this.clientErrors = new RateLimitedLog(options.logger);
    this.app = Fastify({
      logger: false,
      bodyLimit: DEFAULT_BODY_LIMIT,
      routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
      // Idle keep-alive connections close at once; requests in flight (a publish waiting for
      // Kafka's acknowledgement) are answered first, so nothing written goes unanswered.
      forceCloseConnections: 'idle',
      // fastify's Ajv drops properties a schema does not know; a misspelt setting would then be
      // ignored without a word. Refused instead, naming the property.
      ajv: { customOptions: { removeAdditional: false } },
      return503OnClosing: true,
      clientErrorHandler: (error, socket) => this.onClientError(error, socket),
      frameworkErrors: (error, _request, reply) => {
        const status = error.statusCode ?? 400;
        const reason =
          error.code === 'FST_ERR_BAD_URL' ? 'the request target is not a valid URL' : error.message;
        void (reply as FastifyReply).code(status).send(errorBody(status, reason));
      },
    });
    this.app.decorateRequest('principal', null as never);
    this.app.addSchema(errorSchema);
    installBodyParsers(this.app);
    this.app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const known = this.methods.get(route.url) ?? new Set<string>();
      for (const method of methods) known.add(method);
      this.methods.set(route.url, known);
    });
    this.app.setErrorHandler((error: FastifyError, request, reply) => {
      const answer = this.asApiError(error, request);
      void reply.headers(answer.headers).code(answer.status).send(answer.body());
    });
    this.app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0];
      void reply.code(404).send(errorBody(404, `no route for ${path.slice(0, 200)}`));
    });
    this.app.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.dispatchUpgrade(req, socket, head),
    );
  }

  /** Routes upgrade requests for `path` (WebSocket endpoints) to `handler`. */
  upgrade(path: string, handler: UpgradeHandler): void {
    this.upgrades.set(path, handler);
  }

  private asApiError(error: FastifyError, request: FastifyRequest): ApiError {
    if (error instanceof ApiError) return error;
    if (error.validation !== undefined) {
      // Ajv's message says that there is an unknown property, not which: the client needs the name.
      const unknown = error.validation.find((entry) => entry.keyword === 'additionalProperties')?.params
        .additionalProperty;
      const named = typeof unknown === 'string' ? ` (${JSON.stringify(unknown.slice(0, 100))})` : '';
      return new ApiError(400, `the request is invalid: ${error.message}${named}`);
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return new ApiError(413, `the body is larger than the ${request.routeOptions.bodyLimit}-byte limit`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return new ApiError(
          415,
          `content type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted`,
        );
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return new ApiError(400, 'the body is not as long as its content-length says');
    }
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) return new ApiError(status, error.message);
    this.options.logger.error(
      { err: error, method: request.method, path: request.routeOptions.url },
      'http handler failed',
    );
    return new ApiError(500, 'internal error');
  }

  private dispatchUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    // Until a handler takes the socket over nothing else listens on it: a client resetting the
    // connection after a refusal would otherwise raise an 'error' nobody handles, and end the process.
    socket.on('error', (error: Error) =>
      this.clientErrors.warn('upgrade-socket', { err: error.message }, 'upgrade connection failed'),
    );
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://gateway');
    } catch {
      refuseOnSocket(socket, 400, 'the request target is not a valid URL');
      return;
    }
    const handler = this.upgrades.get(url.pathname);
    if (handler === undefined) {
      refuseOnSocket(socket, 404, 'no WebSocket endpoint at this path');
      return;
    }
    try {
      handler(request, socket, head, url);
    } catch (error) {
      this.options.logger.error({ err: error, path: url.pathname }, 'upgrade handler failed');
      refuseOnSocket(socket, 500, 'internal error');
    }
  }

  /** Requests Node's parser refuses (bad method, NUL in the target, oversized headers, timeouts). */
  private onClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    this.clientErrors.warn(
      `client-error:${error.code ?? 'unknown'}`,
      { code: error.code, err: error.message },
      'http request refused',
    );
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    refuseOnSocket(socket, status, `the request could not be read: ${error.code ?? 'malformed'}`);
  }

  /** A 405 naming the allowed methods for every method a route URL does not serve. */
  private answerOtherMethods(): void {
    for (const [url, known] of [...this.methods]) {
      const allowed = [...known].filter((method) => method !== 'HEAD' || known.has('GET')).join(', ');
      for (const method of ANSWERED_METHODS) {
        if (known.has(method) || (method === 'HEAD' && known.has('GET'))) continue;
        this.app.route({
          method,
          url,
          schema: { hide: true },
          handler: (request, reply) => {
            void reply
              .header('allow', allowed)
              .code(405)
              .send(errorBody(405, `${request.method} not allowed on ${url}; allowed: ${allowed}`));
          },
        });
      }
    }
  }

  async listen(): Promise<void> {
    this.answerOtherMethods();
    try {
      await this.app.listen({ host: this.options.host, port: this.options.port });
    } catch (error) {
      throw new Error(
        `cannot listen on ${this.options.host}:${this.options.port} for http: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  port(): number {
    return (this.app.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
