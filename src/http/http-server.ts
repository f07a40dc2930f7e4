import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../observability/logger';
import { RateLimitedLog } from '../observability/rate-limited-log';

export type RouteHandler = (
  request: http.IncomingMessage,
  response: http.ServerResponse,
) => void | Promise<void>;

/** Takes over an upgrade request for its path; `url` is already parsed. */
export type UpgradeHandler = (request: http.IncomingMessage, socket: Duplex, head: Buffer, url: URL) => void;

export interface HttpServerOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Reports whether the gateway can serve traffic; its reasons go into the /readyz body. */
  readiness: () => { ready: boolean; checks: Record<string, string> };
}

export function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

/**
 * Answers an upgrade request that will not be upgraded and closes the connection. The reason is
 * put on one line: it may quote what the client sent.
 */
export function refuseOnSocket(socket: Duplex, status: number, reason: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${reason.replace(/[\r\n]+/g, ' ')}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nconnection: close\r\n` +
      `content-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * The gateway's HTTP side (health, and the admin routes later parts register). Routes are matched
 * on method and exact path or path prefix; anything else is a 404 with a JSON reason.
 */
export class HttpServer {
  private readonly server: http.Server;
  private readonly routes: { method: string; path: string; prefix: boolean; handler: RouteHandler }[] = [];
  private readonly upgrades = new Map<string, UpgradeHandler>();
  private readonly clientErrors: RateLimitedLog;

  constructor(private readonly options: HttpServerOptions) {
    this.route('GET', '/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }));
    this.route('GET', '/readyz', (_req, res) => {
      const { ready, checks } = options.readiness();
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
    });
    this.clientErrors = new RateLimitedLog(options.logger);
    this.server = http.createServer((req, res) => this.dispatch(req, res));
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      this.dispatchUpgrade(req, socket, head),
    );
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) =>
      this.onClientError(error, socket),
    );
  }

  /** Routes upgrade requests for `path` (WebSocket endpoints) to `handler`. */
  upgrade(path: string, handler: UpgradeHandler): void {
    this.upgrades.set(path, handler);
  }

  route(method: string, path: string, handler: RouteHandler, prefix = false): void {
    this.routes.push({ method, path, prefix, handler });
  }

  get raw(): http.Server {
    return this.server;
  }

  private dispatch(request: http.IncomingMessage, response: http.ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    const matches = this.routes.filter((r) => (r.prefix ? path.startsWith(r.path) : path === r.path));
    if (matches.length === 0) return sendJson(response, 404, { error: `no route for ${path}` });
    const route = matches.find((r) => r.method === request.method);
    if (!route) return sendJson(response, 405, { error: `${request.method} not allowed on ${path}` });
    Promise.resolve()
      .then(() => route.handler(request, response))
      .catch((error: Error) => {
        this.options.logger.error({ err: error, path }, 'http handler failed');
        try {
          if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
          else response.destroy();
        } catch {
          response.destroy();
        }
      });
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

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (error: Error) =>
        reject(
          new Error(`cannot listen on ${this.options.host}:${this.options.port} for http: ${error.message}`),
        ),
      );
      this.server.listen({ host: this.options.host, port: this.options.port }, () => resolve());
    });
  }

  port(): number {
    return (this.server.address() as { port: number }).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
