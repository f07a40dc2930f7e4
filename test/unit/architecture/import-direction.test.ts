import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The rooms of src/ and what each may import, kept with docs/architecture.md ("Layout"). Imports run
 * one way: the engines both doors share (patterns, quotas, asyncapi, state, tap) must not reach up
 * into a door (proxy, pipeline, http), or the HTTP door could not reuse them without dragging the
 * Kafka door along. A room imports itself freely. A new room, or a new direction, is a change to
 * this list and to the docs, made on purpose.
 */
const ALLOWED: Record<string, readonly string[]> = {
  protocol: [],
  regex: [],
  config: [],
  observability: ['config', 'protocol'],
  patterns: ['protocol', 'regex'],
  quotas: ['config', 'patterns'],
  registry: ['observability', 'quotas'],
  serdes: ['protocol', 'registry'],
  asyncapi: ['patterns', 'regex', 'serdes'],
  kafka: ['config', 'observability', 'protocol'],
  state: ['config', 'kafka', 'observability'],
  tap: ['config', 'kafka', 'observability', 'patterns'],
  pipeline: ['asyncapi', 'config', 'observability', 'patterns', 'protocol', 'serdes'],
  proxy: ['config', 'observability', 'pipeline', 'protocol', 'quotas'],
  discovery: ['asyncapi', 'config', 'http', 'patterns', 'pipeline'],
  http: [
    'asyncapi',
    'config',
    'kafka',
    'observability',
    'patterns',
    'pipeline',
    'protocol',
    'quotas',
    'regex',
    'state',
    'tap',
  ],
  ingest: [
    'asyncapi',
    'config',
    'http',
    'kafka',
    'observability',
    'patterns',
    'pipeline',
    'protocol',
    'quotas',
    'regex',
    'state',
  ],
  subscriptions: [
    'config',
    'http',
    'ingest',
    'kafka',
    'observability',
    'patterns',
    'quotas',
    'regex',
    'state',
  ],
  // The browser console's server side: static files, nothing of the gateway's.
  console: [],
  // The primary of `workers: n` and its workers' side of the IPC: nothing of the gateway's engines.
  cluster: ['observability', 'tap'],
  main: [
    'asyncapi',
    'cluster',
    'config',
    'console',
    'discovery',
    'http',
    'ingest',
    'kafka',
    'observability',
    'patterns',
    'pipeline',
    'protocol',
    'proxy',
    'quotas',
    'regex',
    'registry',
    'serdes',
    'state',
    'subscriptions',
    'tap',
  ],
  // The launcher: node: modules only, so that the process in front of the gateway stays small.
  launch: [],
  cli: ['command', 'launch'],
  command: ['config', 'main'],
  // The package entry: the middleware contract, and nothing else.
  index: ['pipeline'],
};

const SRC = path.resolve(__dirname, '../../../src');

interface SourceFile {
  /** Path relative to src/, with forward slashes. */
  file: string;
  text: string;
}

/** A file's room: its top-level folder under src/, or its own name for the files at the top (main, cli). */
function roomOf(relative: string): string {
  const [first, ...rest] = relative.split('/');
  return rest.length === 0 ? first.replace(/\.ts$/, '') : first;
}

/** Every import that breaks ALLOWED, one line each, naming the file and the import as written. */
function violations(files: readonly SourceFile[]): string[] {
  const problems: string[] = [];
  for (const { file, text } of files) {
    const from = roomOf(file);
    const allowed = ALLOWED[from];
    if (allowed === undefined) {
      problems.push(`src/${file}: room '${from}' is not in the allowed list`);
      continue;
    }
    // preProcessFile finds every form: import, import type, export … from, import(), require().
    for (const { fileName: specifier } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!specifier.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      if (target.startsWith('../')) {
        problems.push(`src/${file}: import '${specifier}' reaches outside src/`);
        continue;
      }
      const to = roomOf(target);
      if (to !== from && !allowed.includes(to)) {
        problems.push(`src/${file}: import '${specifier}' goes ${from} → ${to}, which is not allowed`);
      }
    }
  }
  return problems;
}

function sourceFiles(dir: string): SourceFile[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => {
      const absolute = path.join(entry.parentPath, entry.name);
      return {
        file: path.relative(SRC, absolute).split(path.sep).join('/'),
        text: readFileSync(absolute, 'utf8'),
      };
    });
}

describe('import direction', () => {
  it('every import in src/ follows the allowed room graph', () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(50);
    expect(violations(files)).toEqual([]);
  });

  it('the allowed graph has no cycles', () => {
    const visiting = new Set<string>();
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (room: string, trail: string[]): void => {
      if (done.has(room)) return;
      if (visiting.has(room)) {
        cycles.push([...trail, room].join(' → '));
        return;
      }
      visiting.add(room);
      for (const next of ALLOWED[room] ?? []) visit(next, [...trail, room]);
      visiting.delete(room);
      done.add(room);
    };
    for (const room of Object.keys(ALLOWED)) visit(room, []);
    expect(cycles).toEqual([]);
  });

  it('names the file and the import that goes the wrong way', () => {
    const files: SourceFile[] = [
      {
        file: 'patterns/event-pattern.ts',
        text: "import type { Middleware } from '../pipeline/middleware';\n",
      },
      {
        file: 'asyncapi/spec-store.ts',
        text: "export { VALIDATION_ERROR_HEADER } from '../pipeline/validation-middleware';",
      },
      { file: 'tap/tap-consumer.ts', text: "const server = require('../http/tap/tap-server');" },
      {
        file: 'quotas/lru-map.ts',
        text: "import { LruMap } from './token-bucket';\nimport '../regex/linear-regex';",
      },
      { file: 'doors/rest.ts', text: "import { QuotaManager } from '../quotas/quota-manager';" },
    ];
    expect(violations(files)).toEqual([
      "src/patterns/event-pattern.ts: import '../pipeline/middleware' goes patterns → pipeline, which is not allowed",
      "src/asyncapi/spec-store.ts: import '../pipeline/validation-middleware' goes asyncapi → pipeline, which is not allowed",
      "src/tap/tap-consumer.ts: import '../http/tap/tap-server' goes tap → http, which is not allowed",
      "src/quotas/lru-map.ts: import '../regex/linear-regex' goes quotas → regex, which is not allowed",
      "src/doors/rest.ts: room 'doors' is not in the allowed list",
    ]);
  });
});
