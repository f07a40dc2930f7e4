import http from 'node:http';
import type { Logger } from '../observability/logger';

export type RouteHandler = (
  request: http.IncomingMessage,
  response: http.ServerResponse,
) => void | Promise<void>;

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
 * The gateway's HTTP side (health, and the admin routes later parts register). Routes are matched
 * on method and exact path or path prefix; anything else is a 404 with a JSON reason.
 */
export class HttpServer {
  private readonly server: http.Server;
  private readonly routes: { method: string; path: string; prefix: boolean; handler: RouteHandler }[] = [];

  constructor(private readonly options: HttpServerOptions) {
    this.route('GET', '/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }));
    this.route('GET', '/readyz', (_req, res) => {
      const { ready, checks } = options.readiness();
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
    });
    this.server = http.createServer((req, res) => this.dispatch(req, res));
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
        if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
        else response.destroy();
      });
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
