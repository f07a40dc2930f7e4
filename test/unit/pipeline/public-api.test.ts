import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const REPO_ROOT = path.resolve(__dirname, '../../..');
const ENTRY = path.join(REPO_ROOT, 'src/index.ts');

/** The contract a middleware is written against; anything else exported would become API by accident. */
const PUBLIC_TYPES = [
  'DropOptions',
  'JsonReading',
  'JsonSchema',
  'Middleware',
  'MiddlewareFactory',
  'MiddlewareTools',
  'ProduceContext',
  'ProducedRecord',
  'RecordHeader',
  'RecordOutcome',
  'RecordVerdict',
];

function compilerOptions(overrides: ts.CompilerOptions): ts.CompilerOptions {
  const configFile = path.join(REPO_ROOT, 'tsconfig.build.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, overrides, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  return parsed!.options;
}

function messages(diagnostics: readonly ts.Diagnostic[]): string[] {
  return diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('the package entry point', () => {
  it('package.json points at the built entry and its declarations', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg.main).toBe('dist/index.js');
    expect(pkg.types).toBe('dist/index.d.ts');
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    const build = compilerOptions({});
    expect(build.declaration).toBe(true);
    expect(path.relative(REPO_ROOT, build.rootDir!)).toBe('src');
    expect(path.relative(REPO_ROOT, build.outDir!)).toBe('dist');
  });

  it('exports the middleware types and nothing else', () => {
    const program = ts.createProgram([ENTRY], compilerOptions({ noEmit: true }));
    const checker = program.getTypeChecker();
    const entry = checker.getSymbolAtLocation(program.getSourceFile(ENTRY)!)!;
    const exported = checker.getExportsOfModule(entry).map((symbol) => symbol.name);
    expect(exported.sort()).toEqual(PUBLIC_TYPES);
  });

  it('emits declarations a middleware written in TypeScript compiles against', () => {
    const fixture = path.join(REPO_ROOT, 'test/fixtures/middlewares/typed-middleware.ts');
    const emitted = new Map<string, string>();
    const program = ts.createProgram(
      [ENTRY, fixture],
      compilerOptions({ rootDir: REPO_ROOT, emitDeclarationOnly: true, declaration: true, types: ['node'] }),
    );
    const result = program.emit(undefined, (file, text) => emitted.set(path.relative(REPO_ROOT, file), text));
    expect(messages([...ts.getPreEmitDiagnostics(program), ...result.diagnostics])).toEqual([]);
    expect(emitted.get('dist/src/index.d.ts')).toContain('MiddlewareFactory');
  }, 30_000);
});
