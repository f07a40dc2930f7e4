import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { GatewayConfig } from '../config/gateway-config';
import { ConfigError, describeErrors } from '../config/load-config';
import type { Middleware, MiddlewareFactory, MiddlewareTools } from './middleware';

/**
 * Built-in middlewares by the name the configuration uses. `settings` is the value of an object
 * entry (`- filter: {...}`), undefined for a bare name; `where` is the entry's key path, for errors.
 */
export type BuiltinMiddlewares = Record<string, (settings: unknown, where: string) => Middleware>;

function factoryOf(exported: unknown): MiddlewareFactory | undefined {
  const candidates = [
    exported,
    (exported as { default?: unknown })?.default,
    (exported as { create?: unknown })?.create,
  ];
  return candidates.find((candidate): candidate is MiddlewareFactory => typeof candidate === 'function');
}

/**
 * A real dynamic import at run time: with `module: node16` TypeScript leaves `import()` as written
 * in the CommonJS it emits, and Node 20 offers no other way to load an ES module from CommonJS.
 */
function importModule(file: string): Promise<unknown> {
  return import(pathToFileURL(file).href);
}

/**
 * ES modules (`.mjs`, or `.js` in a `"type": "module"` package) are imported; CommonJS modules
 * still go through require(), as they always did, which also keeps them loadable where the gateway
 * runs inside a VM without an ES module loader (jest).
 */
async function loadModule(file: string): Promise<unknown> {
  if (file.endsWith('.mjs')) return importModule(file);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_REQUIRE_ESM' || code === 'ERR_REQUIRE_ASYNC_MODULE') return importModule(file);
    throw error;
  }
}

/**
 * The factory's options, checked against its `optionsSchema` when it declares one, with the
 * schema's defaults filled into a copy (the configuration stays as it was given).
 */
function checkedOptions(
  factory: MiddlewareFactory,
  options: Record<string, unknown>,
  where: string,
  file: string,
): Record<string, unknown> {
  const copy = structuredClone(options);
  if (factory.optionsSchema === undefined) return copy;
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  addFormats(ajv);
  let validate: ReturnType<Ajv['compile']>;
  try {
    validate = ajv.compile(factory.optionsSchema);
  } catch (error) {
    throw new Error(
      `${where}: the optionsSchema of ${file} is not a valid JSON Schema: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (!validate(copy)) {
    throw new ConfigError(`middleware ${file}`, describeErrors(validate.errors ?? [], `${where}.options`));
  }
  return copy;
}

/**
 * Builds the configured middlewares in order. A module path is resolved against the working
 * directory; the module exports a factory (module.exports, `default` or `create`) that returns an
 * object with `name` and `onRecord` (see src/pipeline/middleware.ts and docs/pipeline.md).
 */
export async function loadMiddlewares(
  entries: GatewayConfig['pipeline']['middlewares'],
  builtins: BuiltinMiddlewares,
  tools: MiddlewareTools,
): Promise<Middleware[]> {
  const known = Object.keys(builtins).join(', ');
  const middlewares: Middleware[] = [];
  for (const [i, entry] of entries.entries()) {
    const where = `pipeline.middlewares.${i}`;
    if (typeof entry === 'string') {
      const create = builtins[entry];
      if (create === undefined)
        throw new Error(`${where}: unknown built-in middleware '${entry}' (built-ins: ${known})`);
      middlewares.push(create(undefined, where));
      continue;
    }
    if (!('module' in entry)) {
      const [name, settings] = Object.entries(entry)[0];
      const create = builtins[name];
      if (create === undefined)
        throw new Error(`${where}: unknown built-in middleware '${name}' (built-ins: ${known})`);
      middlewares.push(create(settings, `${where}.${name}`));
      continue;
    }
    const file = path.resolve(entry.module);
    let exported: unknown;
    try {
      exported = await loadModule(file);
    } catch (error) {
      throw new Error(`${where}: cannot load module ${file}: ${(error as Error).message}`, { cause: error });
    }
    const factory = factoryOf(exported);
    if (factory === undefined) throw new Error(`${where}: ${file} exports no middleware factory function`);
    const options = checkedOptions(factory, entry.options ?? {}, where, file);
    let middleware: Middleware;
    try {
      middleware = await factory(options, tools);
    } catch (error) {
      throw new Error(`${where} (${file}): ${(error as Error).message}`, { cause: error });
    }
    if (typeof middleware?.onRecord !== 'function' || typeof middleware.name !== 'string') {
      throw new Error(
        `${where}: the factory in ${file} must return an object with a name and an onRecord function`,
      );
    }
    middlewares.push(middleware);
  }
  return middlewares;
}
