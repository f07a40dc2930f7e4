import { compileFieldMatchers, type Leaf } from '../../../src/patterns/value-matchers';
import { growth, LINEAR_BOUND } from '../support/growth';

function wildcard(glob: string): (leaf: Leaf) => boolean {
  const [matcher] = compileFieldMatchers([{ wildcard: glob }], 'value.s');
  if (matcher.kind !== 'test') throw new Error('a wildcard is a test');
  return matcher.test;
}

describe('wildcard matching', () => {
  it('matches stars against any run, and never backtracks', () => {
    const matches = wildcard('*a*a*a*b');
    expect(['aaab', 'xaxaxaxb', 'aab', 'aaa'].map(matches)).toEqual([true, true, false, false]);
    expect(growth((n) => matches('a'.repeat(n)), 2_000)).toBeLessThan(LINEAR_BOUND());
    const long = wildcard(`*${'a'.repeat(50)}b*${'a'.repeat(50)}c`);
    expect(growth((n) => long('a'.repeat(n)), 2_000)).toBeLessThan(LINEAR_BOUND());
  });
});
