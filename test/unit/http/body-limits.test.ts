import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { jsonDepth, nestingProblem, yamlDepth } from '../../../src/http/body-limits';
import { growth, LINEAR_BOUND } from '../support/growth';

const root = path.join(__dirname, '../../..');

/** The depth of a parsed value: a scalar is 0, each object or array around it adds one. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Object.values(value as Record<string, unknown>);
  return 1 + Math.max(0, ...children.map(depthOf));
}

const YAML_SAMPLES = [
  'a: 1',
  'a:\n  b:\n    c: [1, {d: [2]}]\n',
  'a:\n- b:\n  - c:\n    - d: 1\n',
  '- - - - x\n- y\n',
  '? - a\n  - b\n: value\n',
  "a: \"quoted [[[[ not flow\"\nb: 'it''s [ fine'\nc: plain [ text # comment [[[\n",
  'a: |\n  [[[[[ block scalar\n  {{{{\nb: >-\n  more [ text\nc: [1, [2, [3]]]\n',
  'x: {a: {b: {c: {}}}, "k[": "v{"}\n',
  '[\n  [\n    {a: [1]},\n  ],\n]\n',
  '{"json": {"is": ["yaml", {"too": 1}]}}',
  'a: &anchor\n  b: [1]\nc: *anchor\n',
  '---\na:\n  b: 1\n...\n',
];

describe('nesting limits checked before parsing', () => {
  it('measures JSON depth exactly, ignoring brackets inside strings', () => {
    expect(jsonDepth('1', 100)).toBe(0);
    expect(jsonDepth('{"a":[1,{"b":"[[[{"}]}', 100)).toBe(3);
    expect(jsonDepth('["\\"[[", ["\\\\"], {"x": "]]]"}]', 100)).toBe(2);
    expect(jsonDepth('['.repeat(100_000), 10)).toBe(11);
  });

  it.each(YAML_SAMPLES)('never estimates a YAML document shallower than it is: %j', (text) => {
    expect(yamlDepth(text, 1_000)).toBeGreaterThanOrEqual(depthOf(parseYaml(text)));
    expect(yamlDepth(text, 1_000)).toBeLessThanOrEqual(2 * depthOf(parseYaml(text)) + 4);
  });

  it('accepts the specs and configuration files of the repository', () => {
    const files = [
      ...readdirSync(path.join(root, 'asyncapi')).map((f) => path.join(root, 'asyncapi', f)),
      ...readdirSync(path.join(root, 'config'))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => path.join(root, 'config', f)),
    ];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expect([file, nestingProblem(text, 'yaml', 64)]).toEqual([file, null]);
      expect(yamlDepth(text, 1_000)).toBeGreaterThanOrEqual(depthOf(parseYaml(text)));
    }
  });

  it.each([
    ['JSON arrays', 'json', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    ['JSON objects', 'json', `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`],
    ['flow collections', 'yaml', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    ['compact sequences', 'yaml', `${'- '.repeat(100_000)}x\n`],
    ['explicit keys', 'yaml', `${'? '.repeat(100_000)}x\n`],
    ['indentation', 'yaml', Array.from({ length: 2_000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n')],
    ['flow inside block', 'yaml', `${'- '.repeat(40)}${'{a: '.repeat(40)}1${'}'.repeat(40)}\n`],
  ] as const)('refuses %s nested too deeply, saying so', (_name, syntax, text) => {
    expect(nestingProblem(text, syntax, 64)).toMatch(/nested more than 64 levels deep/);
  });

  it('does not take a key after a block scalar in a sequence entry for part of the scalar', () => {
    // `b` is the next key of the entry's mapping, not text of `a`'s scalar: its 300 levels count.
    const hidden = `- a: |\n  b: ${'['.repeat(300)}${']'.repeat(300)}`;
    expect(yamlDepth(hidden, 64)).toBe(65);
    expect(nestingProblem(hidden, 'yaml', 64)).not.toBeNull();
    // The scalar's own text is still skipped, however many brackets it holds.
    expect(yamlDepth(`k:\n  - a: |\n      ${'['.repeat(300)}\n    b: 1`, 64)).toBeLessThan(10);
  });

  it('scans in time linear in the text', () => {
    const flow = (n: number) => yamlDepth(`a:\n  b: ${'[1, "x]", {c: 2}], '.repeat(n)}\n`, 64);
    expect(growth(flow, 1_000)).toBeLessThan(LINEAR_BOUND());
    const lines = (n: number) => yamlDepth('a:\n  - b: |\n      text [\n    c: 1\n'.repeat(n), 64);
    expect(growth(lines, 1_000)).toBeLessThan(LINEAR_BOUND());
    const json = (n: number) => jsonDepth(`[${'{"a": "\\"b"}, '.repeat(n)}1]`, 64);
    expect(growth(json, 1_000)).toBeLessThan(LINEAR_BOUND());
  });
});
