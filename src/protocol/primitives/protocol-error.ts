/**
 * The one error every decoder raises for bytes it cannot accept. Callers (the proxy) catch this
 * type alone: anything else escaping a decoder is a bug, not hostile input.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';

  constructor(
    message: string,
    /** Byte offset inside the buffer being decoded where the problem was found. */
    readonly offset: number,
    readonly apiKey?: number,
    readonly apiVersion?: number,
  ) {
    super(ProtocolError.describe(message, offset, apiKey, apiVersion));
  }

  /** The same error, now knowing which API it was decoding (decoders of bodies do not know). */
  withApi(apiKey: number, apiVersion: number): ProtocolError {
    if (this.apiKey !== undefined) return this;
    const reason = this.message.replace(/ \(at offset \d+\)$/, '');
    const error = new ProtocolError(reason, this.offset, apiKey, apiVersion);
    error.stack = this.stack;
    return error;
  }

  private static describe(message: string, offset: number, apiKey?: number, apiVersion?: number): string {
    const api = apiKey === undefined ? '' : ` in api key ${apiKey} v${apiVersion}`;
    return `${message}${api} (at offset ${offset})`;
  }
}
