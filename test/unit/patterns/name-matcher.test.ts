import { nameMatcher } from '../../../src/patterns/name-matcher';
import { throttleProblems } from '../../../src/quotas/quota-manager';
import { growth, LINEAR_BOUND } from '../support/growth';

describe('name lists with /regex/ entries', () => {
  it('matches exact names and regexes', () => {
    const matches = nameMatcher(['orders', '/^audit\\./']);
    expect(['orders', 'audit.x', 'x.audit.y', 'order'].map(matches)).toEqual([true, true, false, false]);
  });

  it('matches in time linear in the name, even for a regex that backtracks', () => {
    const tail = nameMatcher(['/a+$/']);
    expect(growth((n) => tail(`${'a'.repeat(n)}b`), 2_000)).toBeLessThan(LINEAR_BOUND());
    const nested = nameMatcher(['/^(a+)+$/']);
    expect(nested(`${'a'.repeat(10_000)}!`)).toBe(false);
  });

  it('refuses regexes that need backtracking, naming the entry and the reason', () => {
    expect(() => nameMatcher(['/(a)\\1/'])).toThrow(/\/\(a\)\\1\/.*backreference/);
    expect(() => nameMatcher(['/x(?=y)/'])).toThrow(/lookahead/);
    expect(() => nameMatcher(['/(unclosed/'])).toThrow(/not a valid regular expression/);
  });

  it('reports such a regex in a throttle quota as a configuration problem', () => {
    const problems = throttleProblems({
      quotas: [{ name: 'q', kind: 'topic', match: ['exact', '/(?<!x)y/'], bytesPerSecond: 1 }],
    } as unknown as Parameters<typeof throttleProblems>[0]);
    expect(problems).toEqual([expect.stringMatching(/^throttle\.quotas\.0\.match\.1: .*lookbehind/)]);
  });
});
