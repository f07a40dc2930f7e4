import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { findConsoleAssets, registerConsoleRoutes } from '../../../src/console/console-routes';

function builtConsole(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'console-assets-'));
  writeFileSync(path.join(dir, 'index.html'), '<script src="app.js?v=1"></script>');
  writeFileSync(path.join(dir, 'app.js'), 'console.log(1)');
  writeFileSync(path.join(dir, 'notes.txt'), 'not served');
  return dir;
}

let port = 26230;
let app: FastifyInstance;

/** Serves the routes on a real socket: fastify's inject needs an ES module jest does not load. */
async function serve(dir: string | null): Promise<void> {
  app = Fastify();
  registerConsoleRoutes(app, { dir });
  // A port of its own each time: fetch would reuse a kept-alive socket of the server before.
  port += 1;
  await app.listen({ host: '127.0.0.1', port });
}

function get(route: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${route}`, { headers, redirect: 'manual' });
}

afterEach(async () => {
  await app?.close();
});

describe('the console routes', () => {
  it('serve index.html uncached and versioned assets for good, each with its type and the CSP', async () => {
    await serve(builtConsole());
    const index = await get('/ui/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(index.headers.get('x-content-type-options')).toBe('nosniff');

    const script = await get('/ui/app.js?v=1');
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const unchanged = await get('/ui/app.js', { 'if-none-match': script.headers.get('etag')! });
    expect(unchanged.status).toBe(304);
    expect(unchanged.headers.get('cache-control')).toBe('no-cache');

    expect((await get('/ui/notes.txt')).status).toBe(404);
    expect((await get('/ui/..%2Fpackage.json')).status).toBe(404);
    expect((await get('/ui')).headers.get('location')).toBe('/ui/');
  });

  it('say how to build the console when it was not built', async () => {
    await serve(null);
    const answer = await get('/ui/');
    expect(answer.status).toBe(503);
    expect(await answer.text()).toContain('npm run build');
  });

  it('find the assets beside the compiled gateway or in the repository build', () => {
    app = Fastify();
    const root = mkdtempSync(path.join(tmpdir(), 'console-find-'));
    mkdirSync(path.join(root, 'dist', 'console'), { recursive: true });
    mkdirSync(path.join(root, 'src', 'console'), { recursive: true });
    expect(findConsoleAssets(path.join(root, 'dist', 'console'))).toBeNull();
    mkdirSync(path.join(root, 'dist', 'ui'));
    writeFileSync(path.join(root, 'dist', 'ui', 'index.html'), '');
    expect(findConsoleAssets(path.join(root, 'dist', 'console'))).toBe(path.join(root, 'dist', 'ui'));
    expect(findConsoleAssets(path.join(root, 'src', 'console'))).toBe(path.join(root, 'dist', 'ui'));
  });
});
