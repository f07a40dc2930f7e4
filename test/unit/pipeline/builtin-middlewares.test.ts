import { SpecStore } from '../../../src/asyncapi/spec-store';
import { builtinMiddlewares } from '../../../src/pipeline/builtin-middlewares';

describe('the built-in middleware registry', () => {
  const registry = builtinMiddlewares({
    specs: new SpecStore(),
    validation: { failWhenInvalid: false, topicsWithoutSpec: 'pass' },
  });

  it('lists every middleware a configuration can name', () => {
    expect(Object.keys(registry).sort()).toEqual(['filter', 'validation']);
  });

  it('builds each by its name, with errors naming the entry', () => {
    expect(registry.validation(undefined, 'pipeline.middlewares.0').name).toBe('validation');
    expect(
      registry.filter({ rules: [{ name: 'r', pattern: { value: { a: [1] } }, action: 'drop' }] }, 'x').name,
    ).toBe('filter');
    expect(() => registry.filter({ rules: 'none' }, 'pipeline.middlewares.1.filter')).toThrow(
      'pipeline.middlewares.1.filter.rules: must be array',
    );
  });
});
