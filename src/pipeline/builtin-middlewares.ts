import type { SpecStore } from '../asyncapi/spec-store';
import { filterMiddleware } from './filter/filter-middleware';
import type { BuiltinMiddlewares } from './load-middlewares';
import {
  validationMiddleware,
  type ObservedObserver,
  type TaggedObserver,
  type ValidationSettings,
} from './validation-middleware';

/** What the built-in middlewares need from the running gateway. */
export interface BuiltinDependencies {
  specs: SpecStore;
  validation: ValidationSettings;
  /** Told about records forwarded with the validation error header. */
  onTagged?: TaggedObserver;
  /** Told about invalid records of channels in observe mode, written as sent. */
  onObserved?: ObservedObserver;
}

/**
 * Every middleware `pipeline.middlewares` can name instead of a module, by that name. Produce
 * tracing is not among them: it is switched on by `tracing.enabled` and always runs first
 * (src/main.ts), since it must see every record of every topic.
 */
export function builtinMiddlewares(deps: BuiltinDependencies): BuiltinMiddlewares {
  return {
    validation: () => validationMiddleware(deps.specs, deps.validation, deps.onTagged, deps.onObserved),
    filter: (settings, where) => filterMiddleware(settings, where),
  };
}
