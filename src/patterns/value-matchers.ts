import { BlockList, isIP } from 'node:net';
import { childPath, indexPath, PatternError } from './pattern-error';

/**
 * The right-hand side of a field in an event pattern: the list of values and match expressions
 * (`"state": ["running", {"prefix": "init"}]`), compiled into tests on the field's leaf values.
 * Semantics follow Amazon EventBridge content filtering: string operators see strings only,
 * `numeric` sees JSON numbers only (`"5"` is not 5), `anything-but` matches any value present that
 * its operand would not match (so numbers and null pass an `anything-but` of strings).
 */

/** A scalar in an event: what patterns compare. Objects and arrays are never leaves. */
export type Leaf = string | number | boolean | null;

type LeafTest = (leaf: Leaf) => boolean;

/** One alternative of a field's list: a test on its leaves, or a statement about their presence. */
export type FieldMatcher = { kind: 'test'; test: LeafTest } | { kind: 'exists'; exists: boolean };

/** Operator names, which `$or` branches may not use as field names (they would read as mistakes). */
export const OPERATORS: ReadonlySet<string> = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
]);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Case-insensitive comparisons fold both sides the same way; lower case is locale-independent in JS. */
const fold = (text: string) => text.toLowerCase();

export function compileFieldMatchers(list: readonly unknown[], path: string): FieldMatcher[] {
  if (list.length === 0) {
    throw new PatternError(
      path,
      'an empty list matches nothing: give at least one value or match expression',
    );
  }
  return list.map((item, i) => compileItem(item, indexPath(path, i)));
}

function compileItem(item: unknown, path: string): FieldMatcher {
  if (typeof item === 'string' || typeof item === 'boolean' || item === null) {
    return { kind: 'test', test: (leaf) => leaf === item };
  }
  if (typeof item === 'number') {
    if (!Number.isFinite(item)) throw new PatternError(path, `${item} is not a JSON number`);
    return { kind: 'test', test: (leaf) => leaf === item };
  }
  if (Array.isArray(item)) {
    throw new PatternError(path, 'a list holds values and match expressions, not lists');
  }
  if (!isPlainObject(item)) throw new PatternError(path, `${describe(item)} cannot be matched`);
  const keys = Object.keys(item);
  if (keys.length !== 1) {
    throw new PatternError(
      path,
      keys.length === 0
        ? 'an empty match expression: write e.g. {"prefix": "abc"}'
        : `a match expression has exactly one operator, found ${keys.map((k) => JSON.stringify(k)).join(', ')}`,
    );
  }
  const operator = keys[0];
  const operand = item[operator];
  const at = childPath(path, operator);
  switch (operator) {
    case 'exists':
      if (typeof operand !== 'boolean') throw new PatternError(at, 'exists takes true or false');
      return { kind: 'exists', exists: operand };
    case 'prefix':
      return { kind: 'test', test: affix(operand, at, 'prefix') };
    case 'suffix':
      return { kind: 'test', test: affix(operand, at, 'suffix') };
    case 'equals-ignore-case': {
      const expected = fold(text(operand, at, 'equals-ignore-case'));
      return { kind: 'test', test: (leaf) => typeof leaf === 'string' && fold(leaf) === expected };
    }
    case 'wildcard': {
      const matches = compileWildcard(text(operand, at, 'wildcard'), at);
      return { kind: 'test', test: (leaf) => typeof leaf === 'string' && matches(leaf) };
    }
    case 'anything-but': {
      const excluded = compileAnythingBut(operand, at);
      return { kind: 'test', test: (leaf) => !excluded(leaf) };
    }
    case 'numeric':
      return { kind: 'test', test: compileNumeric(operand, at) };
    case 'cidr':
      return { kind: 'test', test: compileCidr(operand, at) };
    default:
      throw new PatternError(
        path,
        `unknown operator ${JSON.stringify(operator)}; the operators are ${[...OPERATORS].join(', ')}`,
      );
  }
}

function text(operand: unknown, path: string, operator: string): string {
  if (typeof operand !== 'string')
    throw new PatternError(path, `${operator} takes a string, not ${describe(operand)}`);
  return operand;
}

/** `prefix` / `suffix`: a string, or `{"equals-ignore-case": string}` to ignore case. */
function affix(operand: unknown, path: string, operator: 'prefix' | 'suffix'): LeafTest {
  const at =
    operator === 'prefix'
      ? (expected: string, leaf: string) => leaf.startsWith(expected)
      : (expected: string, leaf: string) => leaf.endsWith(expected);
  if (typeof operand === 'string') return (leaf) => typeof leaf === 'string' && at(operand, leaf);
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    if (keys.length === 1 && keys[0] === 'equals-ignore-case') {
      const expected = fold(
        text(operand[keys[0]], childPath(path, keys[0]), `${operator} equals-ignore-case`),
      );
      return (leaf) => typeof leaf === 'string' && at(expected, fold(leaf));
    }
  }
  throw new PatternError(path, `${operator} takes a string or {"equals-ignore-case": string}`);
}

/**
 * What an `anything-but` excludes. A value or a list of values (all strings or all numbers), or
 * one of prefix, suffix, equals-ignore-case and wildcard. The result is negated by the caller, so
 * a leaf of another type is never excluded.
 */
function compileAnythingBut(operand: unknown, path: string): LeafTest {
  if (typeof operand === 'string' || typeof operand === 'number')
    return compileExcludedValues([operand], path);
  if (Array.isArray(operand)) return compileExcludedValues(operand, path);
  if (!isPlainObject(operand)) {
    throw new PatternError(
      path,
      `anything-but takes a string, a number, a list or an object, not ${describe(operand)}`,
    );
  }
  const keys = Object.keys(operand);
  if (keys.length !== 1) {
    throw new PatternError(path, 'anything-but takes one of prefix, suffix, equals-ignore-case or wildcard');
  }
  const operator = keys[0];
  const inner = operand[operator];
  const at = childPath(path, operator);
  switch (operator) {
    case 'prefix':
    case 'suffix': {
      const expected = text(inner, at, `anything-but ${operator}`);
      if (expected === '') throw new PatternError(at, `an empty ${operator} would exclude every string`);
      return operator === 'prefix'
        ? (leaf) => typeof leaf === 'string' && leaf.startsWith(expected)
        : (leaf) => typeof leaf === 'string' && leaf.endsWith(expected);
    }
    case 'equals-ignore-case': {
      const folded = new Set(strings(inner, at, 'anything-but equals-ignore-case').map(fold));
      return (leaf) => typeof leaf === 'string' && folded.has(fold(leaf));
    }
    case 'wildcard': {
      const globs = strings(inner, at, 'anything-but wildcard').map((glob, i) =>
        compileWildcard(glob, Array.isArray(inner) ? indexPath(at, i) : at),
      );
      return (leaf) => typeof leaf === 'string' && globs.some((matches) => matches(leaf));
    }
    default:
      throw new PatternError(
        path,
        `anything-but does not take ${JSON.stringify(operator)}; it takes prefix, suffix, equals-ignore-case or wildcard`,
      );
  }
}

function strings(operand: unknown, path: string, operator: string): string[] {
  if (typeof operand === 'string') return [operand];
  if (Array.isArray(operand) && operand.length > 0 && operand.every((item) => typeof item === 'string')) {
    return operand as string[];
  }
  throw new PatternError(path, `${operator} takes a string or a non-empty list of strings`);
}

function compileExcludedValues(values: readonly unknown[], path: string): LeafTest {
  if (values.length === 0) throw new PatternError(path, 'anything-but takes a non-empty list');
  const allStrings = values.every((value) => typeof value === 'string');
  const allNumbers = values.every((value) => typeof value === 'number' && Number.isFinite(value));
  if (!allStrings && !allNumbers) {
    throw new PatternError(
      path,
      'the values of anything-but are all strings or all numbers (not mixed, and no null, booleans or objects)',
    );
  }
  const excluded = new Set(values as (string | number)[]);
  return allStrings
    ? (leaf) => typeof leaf === 'string' && excluded.has(leaf)
    : (leaf) => typeof leaf === 'number' && excluded.has(leaf);
}

/**
 * `*` matches any run of characters (none included); `\*` is a literal star and `\\` a literal
 * backslash. Consecutive stars and any other escape are refused, as in EventBridge. Matching
 * anchors the first and last pieces and finds the middle ones leftmost-first, which is exact for
 * star-only globs and never backtracks.
 */
function compileWildcard(glob: string, path: string): (text: string) => boolean {
  const pieces: string[] = [];
  let current = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') {
      const next = glob[i + 1];
      if (next !== '*' && next !== '\\') {
        throw new PatternError(
          path,
          next === undefined
            ? 'a wildcard cannot end with a lone backslash (write \\\\ for a backslash)'
            : `a backslash in a wildcard escapes only * or \\, not ${JSON.stringify(next)}`,
        );
      }
      current += next;
      i++;
    } else if (c === '*') {
      if (glob[i + 1] === '*') throw new PatternError(path, 'consecutive * are not allowed in a wildcard');
      pieces.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  pieces.push(current);
  if (pieces.length === 1) {
    const exact = pieces[0];
    return (candidate) => candidate === exact;
  }
  const first = pieces[0];
  const last = pieces[pieces.length - 1];
  const middle = pieces.slice(1, -1);
  const minLength = pieces.reduce((sum, piece) => sum + piece.length, 0);
  return (candidate) => {
    if (candidate.length < minLength || !candidate.startsWith(first) || !candidate.endsWith(last))
      return false;
    let at = first.length;
    const end = candidate.length - last.length;
    for (const piece of middle) {
      const found = candidate.indexOf(piece, at);
      if (found < 0 || found + piece.length > end) return false;
      at = found + piece.length;
    }
    return true;
  };
}

const LOWER_BOUNDS = new Set(['>', '>=']);
const UPPER_BOUNDS = new Set(['<', '<=']);

/**
 * `["=", 5]`, one bound (`[">", 0]`, `["<=", 5]`) or a range with the lower bound first
 * (`[">", 0, "<=", 5]`). Only JSON numbers match: numeric text such as "5" does not.
 */
function compileNumeric(operand: unknown, path: string): LeafTest {
  const usage = 'numeric takes ["=", n], one bound such as [">", 0], or a range such as [">", 0, "<=", 5]';
  if (!Array.isArray(operand) || (operand.length !== 2 && operand.length !== 4)) {
    throw new PatternError(path, usage);
  }
  const terms: { operator: string; bound: number }[] = [];
  for (let i = 0; i < operand.length; i += 2) {
    const operator: unknown = operand[i];
    const bound: unknown = operand[i + 1];
    if (operator !== '=' && !LOWER_BOUNDS.has(operator as string) && !UPPER_BOUNDS.has(operator as string)) {
      throw new PatternError(indexPath(path, i), `${describe(operator)} is not one of =, <, <=, >, >=`);
    }
    if (typeof bound !== 'number' || !Number.isFinite(bound)) {
      throw new PatternError(
        indexPath(path, i + 1),
        `${operator as string} needs a number, not ${describe(bound)}`,
      );
    }
    terms.push({ operator: operator as string, bound });
  }
  if (terms.length === 1) {
    const [{ operator, bound }] = terms;
    switch (operator) {
      case '=':
        return (leaf) => typeof leaf === 'number' && leaf === bound;
      case '>':
        return (leaf) => typeof leaf === 'number' && leaf > bound;
      case '>=':
        return (leaf) => typeof leaf === 'number' && leaf >= bound;
      case '<':
        return (leaf) => typeof leaf === 'number' && leaf < bound;
      default:
        return (leaf) => typeof leaf === 'number' && leaf <= bound;
    }
  }
  const [low, high] = terms;
  if (!LOWER_BOUNDS.has(low.operator) || !UPPER_BOUNDS.has(high.operator)) {
    throw new PatternError(
      path,
      `a range is a lower bound (> or >=) followed by an upper bound (< or <=); ${usage}`,
    );
  }
  const lowOpen = low.operator === '>';
  const highOpen = high.operator === '<';
  if (low.bound > high.bound || (low.bound === high.bound && (lowOpen || highOpen))) {
    throw new PatternError(path, `the range ${JSON.stringify(operand)} is empty, so it would match nothing`);
  }
  return (leaf) =>
    typeof leaf === 'number' &&
    (lowOpen ? leaf > low.bound : leaf >= low.bound) &&
    (highOpen ? leaf < high.bound : leaf <= high.bound);
}

/** `"10.0.0.0/24"` or `"2001:db8::/32"`: matches strings that are addresses inside the block. */
function compileCidr(operand: unknown, path: string): LeafTest {
  if (typeof operand !== 'string')
    throw new PatternError(path, `cidr takes a string such as "10.0.0.0/24", not ${describe(operand)}`);
  const slash = operand.lastIndexOf('/');
  const address = slash < 0 ? operand : operand.slice(0, slash);
  const family = isIP(address);
  if (slash < 0 || family === 0) {
    throw new PatternError(
      path,
      `${JSON.stringify(operand)} is not a CIDR block such as "10.0.0.0/24" or "2001:db8::/32"`,
    );
  }
  const bits = operand.slice(slash + 1);
  const maxBits = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > maxBits) {
    throw new PatternError(path, `the prefix length of ${JSON.stringify(operand)} must be 0 to ${maxBits}`);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const block = new BlockList();
  block.addSubnet(address, Number(bits), type);
  return (leaf) => typeof leaf === 'string' && isIP(leaf) === family && block.check(leaf, type);
}
