import path from 'node:path';
import type { GatewayConfig } from '../config/gateway-config';
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
 * Builds the configured middlewares in order. A module path is resolved against the working
 * directory; the module exports a factory (module.exports, `default` or `create`) that returns an
 * object with `name` and `onRecord` (see src/pipeline/middleware.ts and docs/pipeline.md).
 */
export async function loadMiddlewares(
  entries: GatewayConfig['pipeline']['middlewares'],
  builtins: BuiltinMiddlewares,
  tools: MiddlewareTools,
): Promise<Middleware[]> {
  const middlewares: Middleware[] = [];
  for (const [i, entry] of entries.entries()) {
    if (typeof entry === 'string') {
      const create = builtins[entry];
      if (create === undefined)
        throw new Error(`pipeline.middlewares: unknown built-in middleware '${entry}'`);
      middlewares.push(create(undefined, `pipeline.middlewares.${i}`));
      continue;
    }
    if (!('module' in entry)) {
      const [name, settings] = Object.entries(entry)[0];
      const create = builtins[name];
      if (create === undefined)
        throw new Error(`pipeline.middlewares.${i}: unknown built-in middleware '${name}'`);
      middlewares.push(create(settings, `pipeline.middlewares.${i}.${name}`));
      continue;
    }
    const file = path.resolve(entry.module);
    let exported: unknown;
    try {
      // Middleware modules are CommonJS or transpiled to it, like the gateway itself.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      exported = require(file);
    } catch (error) {
      throw new Error(`pipeline.middlewares: cannot load module ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const factory = factoryOf(exported);
    if (factory === undefined)
      throw new Error(`pipeline.middlewares: ${file} exports no middleware factory function`);
    const middleware = await factory(entry.options ?? {}, tools);
    if (typeof middleware?.onRecord !== 'function' || typeof middleware.name !== 'string') {
      throw new Error(
        `pipeline.middlewares: the factory in ${file} must return an object with a name and an onRecord function`,
      );
    }
    middlewares.push(middleware);
  }
  return middlewares;
}
