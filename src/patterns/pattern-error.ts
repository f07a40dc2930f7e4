/** An event pattern that cannot be compiled: where in the pattern, and what is wrong there. */
export class PatternError extends Error {
  override readonly name = 'PatternError';
  constructor(
    /** Location in the pattern, e.g. `value.amount[0].numeric`; empty for the pattern itself. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(path === '' ? reason : `${path}: ${reason}`);
  }
}

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** `parent.key`, or `parent["odd key"]` when the key would not read back unambiguously. */
export function childPath(parent: string, key: string): string {
  if (!PLAIN_KEY.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}
