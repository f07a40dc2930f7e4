import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where `npm run build` writes the console's assets (see ui/build.mjs). */
const BUILT = 'ui';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

/**
 * Everything the console needs is served from here, so the policy can shut out every other
 * origin; 'self' covers the tap's ws:// on the same host and port.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * The built assets, looked for beside the compiled gateway (dist/ui) and, when the gateway runs
 * from its sources (tests, tsx), in the repository's dist/ui.
 */
export function findConsoleAssets(from = __dirname): string | null {
  const candidates = [path.resolve(from, '..', BUILT), path.resolve(from, '..', '..', 'dist', BUILT)];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html'))) ?? null;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type === undefined) continue;
    const body = readFileSync(path.join(dir, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    assets.set(name, { body, type, etag });
  }
  return assets;
}

export interface ConsoleOptions {
  /** The built assets; null when the gateway was not built with them (the console then says so). */
  dir: string | null;
}

/**
 * GET /ui: the browser console, static files read once at start. They hold no data and take no
 * token; the console asks for one and sends it with every API call it makes.
 */
export function registerConsoleRoutes(app: FastifyInstance, options: ConsoleOptions): void {
  const assets = options.dir === null ? new Map<string, Asset>() : loadAssets(options.dir);

  const send = (reply: FastifyReply, name: string, ifNoneMatch: string | undefined, versioned: boolean) => {
    const asset = assets.get(name);
    void reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');
    if (asset === undefined) {
      if (assets.size === 0)
        return reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send('The console is not built: run `npm run build`.\n');
      return reply.code(404).type('text/plain; charset=utf-8').send('No such file.\n');
    }
    // index.html names each asset with its content hash (?v=), so those may be kept for good;
    // index.html itself is asked for again each time, or an upgrade would not show.
    void reply
      .header('cache-control', versioned ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('etag', asset.etag);
    if (ifNoneMatch === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  };

  app.get('/ui', { schema: { hide: true } }, (_request, reply) => reply.redirect('/ui/', 302));
  app.get('/ui/', { schema: { hide: true } }, (request, reply) =>
    send(reply, 'index.html', request.headers['if-none-match'], false),
  );
  app.get<{ Params: { file: string }; Querystring: { v?: string } }>(
    '/ui/:file',
    { schema: { hide: true } },
    (request, reply) =>
      send(reply, request.params.file, request.headers['if-none-match'], request.query.v !== undefined),
  );
}
