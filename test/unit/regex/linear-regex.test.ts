import { compileLinearRegex, MAX_PROGRAM_SIZE } from '../../../src/regex/linear-regex';
import { RegexError } from '../../../src/regex/regex-error';
import { growth, LINEAR_BOUND } from '../support/growth';

function refusal(source: string): string {
  try {
    compileLinearRegex(source);
  } catch (error) {
    if (error instanceof RegexError) return error.message;
    throw error;
  }
  throw new Error(`expected ${source} to be refused`);
}

describe('linear-time regular expressions', () => {
  it.each([
    ['^[a-z]+$', ['abc', 'ABC', '', 'ab1']],
    ['^\\d{4}-\\d{2}-\\d{2}$', ['2024-05-01', '2024-5-01', '２０２４-05-01']],
    ['^\\u0041\\u{1F600}?$', ['A', 'A😀', 'B']],
    ['^.$', ['a', '😀', '\n', '\r', '\u2028', '']],
    ['^\\s+$', [' \t', '\u00a0\u3000', '\ufeff', 'x']],
    ['^\\S+$', ['abc', 'a b', '\u00a0']],
    ['^[\\s\\d]+$', ['1 2\u00a03', 'x']],
    ['^(?<year>\\d{4})(?:-\\d\\d)*$', ['2024', '2024-05-01', '2024-5']],
    ['a|b|c', ['xxcxx', 'xyz']],
    ['\\bword\\b', ['a word here', 'swordfish']],
    ['^[^]$', ['x', '\n']],
    ['^\\/\\.\\*[\\-]$', ['/.*-', '/.*x']],
    ['^\\p{Lu}\\p{Ll}*$', ['Élan', 'élan']],
    ['', ['', 'anything']],
  ])('matches %s as ECMAScript does', (source, inputs) => {
    const regex = compileLinearRegex(source);
    const native = new RegExp(source, 'u');
    for (const input of inputs) expect([input, regex.test(input)]).toEqual([input, native.test(input)]);
  });

  it('refuses backreferences and lookaround, which need backtracking, saying why', () => {
    expect(refusal('(a)\\1')).toMatch(/backreference/);
    expect(refusal('(?<x>a)\\k<x>')).toMatch(/backreference/);
    expect(refusal('(?=a)a')).toMatch(/lookahead/);
    expect(refusal('a(?!b)')).toMatch(/lookahead/);
    expect(refusal('(?<=a)b')).toMatch(/lookbehind/);
    expect(refusal('(?<!a)b')).toMatch(/lookbehind/);
    expect(refusal('[\\1]')).toMatch(/Invalid regular expression/);
  });

  it('refuses what is not ECMAScript, and what the engine cannot express', () => {
    expect(refusal('(unclosed')).toMatch(/Invalid regular expression/);
    expect(refusal('a{2,1}')).toMatch(/Invalid regular expression/);
    expect(refusal('\\p{Script=Greek}')).toMatch(/RE2/);
  });

  it('refuses a program too large before building it', () => {
    expect(refusal('a{999}'.repeat(170))).toMatch(new RegExp(`${MAX_PROGRAM_SIZE}`));
    expect(refusal('(?:(?:a{30}){30}){30}')).toMatch(/instructions|repeat/);
    expect(() =>
      compileLinearRegex('^[a-zA-Z0-9._%+-]{1,64}@[a-zA-Z0-9.-]{1,253}\\.[a-z]{2,63}$'),
    ).not.toThrow();
  });

  it('takes time linear in the input on patterns that backtrack exponentially or quadratically', () => {
    const nested = compileLinearRegex('^(a+)+$');
    expect(nested.test(`${'a'.repeat(100_000)}!`)).toBe(false);
    const tail = compileLinearRegex('a+$');
    expect(growth((n) => tail.test(`${'a'.repeat(n)}b`), 2_000)).toBeLessThan(LINEAR_BOUND());
    expect(growth((n) => nested.test(`${'a'.repeat(n)}!`), 2_000)).toBeLessThan(LINEAR_BOUND());
  });
});
