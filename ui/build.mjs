// Bundles the browser console into dist/ui: one script, one stylesheet and index.html naming
// both by content hash, so the gateway can let browsers keep them and still never serve stale ones.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? path.resolve(here, '..', 'dist', 'ui');
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [path.join(here, 'src', 'main.ts')],
  outfile: path.join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(path.join(here, 'console.css'), path.join(out, 'console.css'));

const hash = (file) =>
  createHash('sha256')
    .update(readFileSync(path.join(out, file)))
    .digest('hex')
    .slice(0, 12);
const html = readFileSync(path.join(here, 'index.html'), 'utf8')
  .replace('app.js', `app.js?v=${hash('app.js')}`)
  .replace('console.css', `console.css?v=${hash('console.css')}`);
writeFileSync(path.join(out, 'index.html'), html);
