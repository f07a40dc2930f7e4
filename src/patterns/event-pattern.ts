import { childPath, indexPath, PatternError } from './pattern-error';
import {
  compileFieldMatchers,
  isPlainObject,
  OPERATORS,
  type FieldMatcher,
  type Leaf,
} from './value-matchers';

export { PatternError } from './pattern-error';

/**
 * Event patterns in the syntax of Amazon EventBridge content filtering, compiled once and then
 * matched against any number of events (parsed JSON).
 *
 * A pattern is an object whose keys name fields of the event. A key maps to a list of values and
 * match expressions (the field matches when one of them does) or to a nested object (a pattern
 * for the nested object). All keys must match; `"$or": [{...}, {...}]` matches when one of its
 * patterns does. Values are compared to the event's leaves (strings, numbers, booleans, null):
 * where the event has an array, the field matches when one element does, and a nested pattern
 * meeting an array matches when one element matches it as a whole, so fields matched together
 * always come from the same element. A field that is missing, or whose value is an object, has
 * no leaves: only `{"exists": false}` matches it.
 */
export interface EventPattern {
  matches(event: unknown): boolean;
  /** The top-level keys the pattern reads (including inside top-level `$or` branches). */
  readonly fields: ReadonlySet<string>;
}

export interface CompileOptions {
  /** When given, the only top-level keys allowed: a typo there would otherwise never match. */
  fields?: readonly string[];
}

/** Deeper patterns are refused rather than risk the stack on something no real event needs. */
const MAX_DEPTH = 32;

interface ObjectNode {
  fields: FieldNode[];
  /** Each group is one `$or`: one of its branches must match. */
  ors: ObjectNode[][];
}

type FieldNode = { key: string; object: ObjectNode } | { key: string; matchers: FieldMatcher[] };

/** Compiles a pattern (parsed JSON); throws PatternError naming the place that is wrong. */
export function compileEventPattern(pattern: unknown, options: CompileOptions = {}): EventPattern {
  if (!isPlainObject(pattern)) {
    throw new PatternError('', 'a pattern is a JSON object such as {"value": {"type": ["order"]}}');
  }
  const root = compileObject(pattern, '', 1, false);
  const fields = new Set<string>();
  collectFields(root, fields);
  if (options.fields !== undefined) {
    const allowed = new Set(options.fields);
    for (const field of fields) {
      if (!allowed.has(field)) {
        throw new PatternError(
          childPath('', field),
          `not a part of the event: a pattern matches ${options.fields.join(', ')}`,
        );
      }
    }
  }
  return { matches: (event) => matchObject(root, event), fields };
}

function collectFields(node: ObjectNode, into: Set<string>): void {
  for (const field of node.fields) into.add(field.key);
  for (const group of node.ors) for (const branch of group) collectFields(branch, into);
}

function compileObject(
  spec: Record<string, unknown>,
  path: string,
  depth: number,
  inOr: boolean,
): ObjectNode {
  if (depth > MAX_DEPTH) throw new PatternError(path, `patterns nest at most ${MAX_DEPTH} levels deep`);
  const keys = Object.keys(spec);
  if (keys.length === 0) {
    throw new PatternError(path, 'an empty object matches nothing: give it fields or remove it');
  }
  const node: ObjectNode = { fields: [], ors: [] };
  for (const key of keys) {
    const value = spec[key];
    const at = childPath(path, key);
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2) {
        throw new PatternError(at, '$or takes a list of at least two patterns');
      }
      node.ors.push(
        value.map((branch, i) => {
          if (!isPlainObject(branch))
            throw new PatternError(indexPath(at, i), 'each $or branch is an object');
          return compileObject(branch, indexPath(at, i), depth + 1, true);
        }),
      );
      continue;
    }
    if (inOr && OPERATORS.has(key)) {
      throw new PatternError(
        at,
        `${key} is an operator, not a field: inside $or it goes in a field's list, e.g. {"field": [{"${key}": ...}]}`,
      );
    }
    if (Array.isArray(value)) {
      node.fields.push({ key, matchers: compileFieldMatchers(value, at) });
    } else if (isPlainObject(value)) {
      node.fields.push({ key, object: compileObject(value, at, depth + 1, inOr) });
    } else {
      throw new PatternError(
        at,
        `must be a list of values and match expressions, or an object of fields; values always go in a list: [${JSON.stringify(value) ?? String(value)}]`,
      );
    }
  }
  return node;
}

// ---- matching ----

function matchObject(node: ObjectNode, value: unknown): boolean {
  if (!Array.isArray(value)) return matchFields(node, isPlainObject(value) ? value : undefined);
  const elements = flatten(value);
  if (elements.length === 0) return matchFields(node, undefined);
  return elements.some((element) => matchFields(node, isPlainObject(element) ? element : undefined));
}

function matchFields(node: ObjectNode, object: Record<string, unknown> | undefined): boolean {
  for (const field of node.fields) {
    const child = object !== undefined && Object.hasOwn(object, field.key) ? object[field.key] : undefined;
    if ('object' in field) {
      if (!matchObject(field.object, child)) return false;
    } else if (!matchLeaves(field.matchers, child)) {
      return false;
    }
  }
  for (const group of node.ors) if (!matchesOneBranch(group, object)) return false;
  return true;
}

function matchesOneBranch(
  group: readonly ObjectNode[],
  object: Record<string, unknown> | undefined,
): boolean {
  for (const branch of group) if (matchFields(branch, object)) return true;
  return false;
}

function matchLeaves(matchers: readonly FieldMatcher[], value: unknown): boolean {
  let leaves: Leaf[] | null = null;
  if (Array.isArray(value)) {
    const found = flatten(value).filter(isLeaf);
    if (found.length > 0) leaves = found;
  }
  const present = leaves !== null || isLeaf(value);
  for (const matcher of matchers) {
    if (matcher.kind === 'exists') {
      if (matcher.exists === present) return true;
    } else if (leaves !== null ? leaves.some(matcher.test) : present && matcher.test(value as Leaf)) {
      return true;
    }
  }
  return false;
}

function isLeaf(value: unknown): value is Leaf {
  return value !== undefined && (typeof value !== 'object' || value === null);
}

/**
 * The elements of an array with nested arrays flattened into it, in order. Iterative: a record's
 * value can nest arrays arbitrarily deep, and that must not reach the stack.
 */
function flatten(array: readonly unknown[]): unknown[] {
  const elements: unknown[] = [];
  const stack: unknown[] = [array];
  while (stack.length > 0) {
    const next = stack.pop();
    if (Array.isArray(next)) {
      for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]);
    } else {
      elements.push(next);
    }
  }
  return elements;
}
