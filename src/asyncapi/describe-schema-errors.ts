import type { ErrorObject } from 'ajv';

/** JSON type names as people read them: integers are told apart from other numbers. */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function valueAt(root: unknown, instancePath: string): unknown {
  let node = root;
  for (const segment of instancePath.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segment.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

function pathOf(prefix: string, instancePath: string): string {
  const inner = instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
  if (prefix === '') return inner === '' ? '(root)' : inner;
  return inner === '' ? prefix : `${prefix}.${inner}`;
}

function reasonOf(error: ErrorObject, data: unknown): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return `Invalid type. Expected: ${String(p.type).replace(/,/g, ' or ')}, given: ${jsonTypeOf(valueAt(data, error.instancePath))}`;
    case 'required':
      return `${String(p.missingProperty)} is required`;
    case 'minimum':
      return `Must be greater than or equal to ${String(p.limit)}`;
    case 'maximum':
      return `Must be less than or equal to ${String(p.limit)}`;
    case 'exclusiveMinimum':
      return `Must be greater than ${String(p.limit)}`;
    case 'exclusiveMaximum':
      return `Must be less than ${String(p.limit)}`;
    case 'format':
      return `Does not match format '${String(p.format)}'`;
    case 'pattern':
      return `Does not match pattern '${String(p.pattern)}'`;
    case 'enum':
      return `Must be one of the following: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `Must be ${JSON.stringify(p.allowedValue)}`;
    case 'additionalProperties':
      return `Additional property ${String(p.additionalProperty)} is not allowed`;
    case 'minLength':
      return `String length must be greater than or equal to ${String(p.limit)}`;
    case 'maxLength':
      return `String length must be less than or equal to ${String(p.limit)}`;
    case 'minItems':
      return `Array must have at least ${String(p.limit)} items`;
    case 'maxItems':
      return `Array must have at most ${String(p.limit)} items`;
    case 'multipleOf':
      return `Must be a multiple of ${String(p.multipleOf)}`;
    default:
      return error.message ?? error.keyword;
  }
}

/**
 * Turns Ajv's errors into "<path>: <reason>" lines. `prefix` names the part of the record that was
 * validated ('' for the value, 'key', 'headers'); `data` is what was validated, to name given types.
 */
export function describeSchemaErrors(
  errors: readonly ErrorObject[],
  prefix: string,
  data: unknown,
): string[] {
  const lines: string[] = [];
  for (const error of errors) {
    // anyOf/oneOf summaries repeat what their branches already said.
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf' || error.keyword === 'if') continue;
    const line = `${pathOf(prefix, error.instancePath)}: ${reasonOf(error, data)}`;
    if (!lines.includes(line)) lines.push(line);
  }
  return lines.length > 0 ? lines : [`${prefix === '' ? '(root)' : prefix}: does not match the schema`];
}
