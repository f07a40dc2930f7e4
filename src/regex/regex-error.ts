/** A regular expression the gateway will not run: not valid, or not possible in linear time. */
export class RegexError extends Error {
  override readonly name = 'RegexError';
  constructor(
    message: string,
    /** Invalid ECMAScript, or valid but beyond the linear-time engine. */
    readonly kind: 'invalid' | 'unsupported' = 'unsupported',
  ) {
    super(message);
  }
}
