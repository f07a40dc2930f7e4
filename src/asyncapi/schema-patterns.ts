import { RegexError } from '../regex/regex-error';
import type { SpecDiagnostic } from './spec-error';
import type { JsonSchema } from './spec-outline';

/** Keywords whose value is one schema. */
const SCHEMA_KEYWORDS = [
  'additionalItems',
  'additionalProperties',
  'contains',
  'else',
  'if',
  'items',
  'not',
  'propertyNames',
  'then',
  'unevaluatedItems',
  'unevaluatedProperties',
];
/** Keywords whose value is a list of schemas (`items` may be either). */
const SCHEMA_LIST_KEYWORDS = ['allOf', 'anyOf', 'items', 'oneOf', 'prefixItems'];
/** Keywords whose value maps names to schemas (`dependencies` values may be name lists, skipped). */
const SCHEMA_MAP_KEYWORDS = [
  '$defs',
  'definitions',
  'dependencies',
  'dependentSchemas',
  'patternProperties',
  'properties',
];

const isObject = (value: unknown): value is JsonSchema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Every `pattern` and `patternProperties` key of a schema that `compile` refuses, with its path
 * (`<path>.properties.s.pattern`). The walk follows only schema keywords, so data that merely
 * looks like a schema (`enum`, `const`, `default`, `examples`) is left alone, and it visits each
 * schema object once, so recursive schemas end.
 */
export function schemaPatternProblems(
  schema: JsonSchema,
  path: string,
  compile: (source: string) => unknown,
): SpecDiagnostic[] {
  const problems: SpecDiagnostic[] = [];
  const seen = new Set<JsonSchema>();
  const check = (source: string, at: string) => {
    try {
      compile(source);
    } catch (error) {
      if (!(error instanceof RegexError)) throw error;
      problems.push({ path: at, message: error.message, code: 'unsupported-pattern' });
    }
  };
  const visit = (node: unknown, at: string): void => {
    if (!isObject(node) || seen.has(node)) return;
    seen.add(node);
    if (typeof node.pattern === 'string') check(node.pattern, `${at}.pattern`);
    if (isObject(node.patternProperties)) {
      for (const key of Object.keys(node.patternProperties)) check(key, `${at}.patternProperties.${key}`);
    }
    for (const keyword of SCHEMA_KEYWORDS) visit(node[keyword], `${at}.${keyword}`);
    for (const keyword of SCHEMA_LIST_KEYWORDS) {
      const list = node[keyword];
      if (Array.isArray(list)) list.forEach((item, i) => visit(item, `${at}.${keyword}.${i}`));
    }
    for (const keyword of SCHEMA_MAP_KEYWORDS) {
      const map = node[keyword];
      if (isObject(map))
        for (const [name, item] of Object.entries(map)) visit(item, `${at}.${keyword}.${name}`);
    }
  };
  visit(schema, path);
  return problems;
}
