import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request a target received. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Date.now() when the request's body had arrived. */
  at: number;
}

/** How the target answers one request; `delayMs` holds the answer back (a slow or hung target). */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  delayMs?: number;
}

export type Behaviour = (request: Received, seen: readonly Received[]) => Answer;

/**
 * A real HTTP server on loopback standing for a subscription's target: it records every request
 * and answers as the test's behaviour says (200 by default).
 */
export class HttpTarget {
  readonly received: Received[] = [];
  behaviour: Behaviour = () => ({ status: 200, body: 'ok' });
  private server: Server | null = null;
  private readonly waiters: { count: number; resolve: () => void }[] = [];

  async start(port = 0): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const received: Received = {
          method: request.method ?? '',
          path: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks),
          at: Date.now(),
        };
        const seen = this.received.filter((r) => r.path === received.path);
        let answer: Answer;
        try {
          answer = this.behaviour(received, seen);
        } catch (error) {
          answer = { status: 500, body: String(error) };
        }
        this.received.push(received);
        for (const waiter of [...this.waiters])
          if (this.received.length >= waiter.count) {
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        const send = () => {
          if (response.destroyed) return;
          response.writeHead(answer.status, answer.headers ?? {});
          response.end(answer.body ?? '');
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs).unref();
        else send();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return this;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  url(path = '/'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Resolves once `count` requests in all have arrived; fails after `timeoutMs`. */
  until(count: number, timeoutMs = 30_000): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`the target received ${this.received.length} of ${count} requests in ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
