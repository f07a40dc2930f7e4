/**
 * One bounded GET against a registry: a deadline for the whole exchange (connect, headers, body)
 * and a cap on the body, so a registry that is slow, hangs mid-body or answers with gigabytes
 * costs the gateway a known amount of time and memory.
 */

export type HttpAnswer =
  { ok: true; status: number; body: string; contentType: string } | { ok: false; reason: string };

export interface HttpGetOptions {
  timeoutMs: number;
  maxBodyBytes: number;
  /** Aborts the request early (the client is closing). */
  signal: AbortSignal;
}

export async function httpGet(url: string, options: HttpGetOptions): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([timeout, options.signal]);
  try {
    const response = await fetch(url, {
      signal,
      headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json;q=0.9, */*;q=0.8' },
      redirect: 'error',
    });
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > options.maxBodyBytes) {
      await response.body?.cancel().catch(() => undefined);
      return {
        ok: false,
        reason: `the registry answered with ${declared} bytes, over the limit of ${options.maxBodyBytes}`,
      };
    }
    const body = await readCapped(response, options.maxBodyBytes);
    if (body === undefined) {
      return { ok: false, reason: `the registry answered with more than ${options.maxBodyBytes} bytes` };
    }
    return {
      ok: true,
      status: response.status,
      body,
      contentType: response.headers.get('content-type') ?? '',
    };
  } catch (error) {
    if (options.signal.aborted) return { ok: false, reason: 'the registry client is closed' };
    if (timeout.aborted)
      return { ok: false, reason: `the registry did not answer within ${options.timeoutMs} ms` };
    return { ok: false, reason: `the registry could not be reached: ${describe(error)}` };
  }
}

/** The body as text, or undefined once it grows past `max` bytes (the rest is not read). */
async function readCapped(response: Response, max: number): Promise<string | undefined> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

function describe(error: unknown): string {
  // fetch wraps the socket error (ECONNREFUSED, ECONNRESET, ...) as its cause. Duck-typed: errors
  // raised in another realm (a vm context, a test runner's sandbox) fail instanceof checks.
  const cause = field(error, 'cause');
  const code = field(cause, 'code');
  const message = field(cause, 'message') ?? field(error, 'message');
  if (typeof code === 'string') return `${code} (${String(message)})`;
  return typeof message === 'string' ? message : String(error);
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}
