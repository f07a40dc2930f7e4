import * as http from 'node:http';
import * as https from 'node:https';
import { DEFAULTS, type TargetAuth } from './subscription';
import { TARGET_REFUSED, type TargetPolicy } from './target-policy';

/** The code of the error a token request fails with when the token endpoint does not answer in time. */
export const TOKEN_TIMEOUT = 'EGW_TOKEN_TIMEOUT';

export interface TokenSourceOptions {
  /** Token requests connect only where targets may. */
  policy: TargetPolicy;
  /** For the whole token request, answer included. */
  timeoutMs?: number;
  /** Milliseconds, any origin; tests move it. */
  now?: () => number;
}

type OAuth2Settings = Extract<TargetAuth, { oauth2: unknown }>['oauth2'];

/** Without expires_in, a token is kept this long: the server did not say, and 401 renews it anyway. */
const DEFAULT_LIFETIME_MS = 5 * 60_000;
/** A token is renewed this much before it expires (a tenth of its lifetime, at most this). */
const MAX_RENEW_MARGIN_MS = 60_000;
/** A token answer is a few hundred bytes; anything this large is not one. */
const MAX_TOKEN_ANSWER_BYTES = 64 * 1024;
/** What a token may be made of to be sent in a header (RFC 6750's b64token is stricter still). */
const TOKEN_TEXT = /^[\x21-\x7e]+$/;

/** `Authorization: Basic` for a user and password (RFC 7617, UTF-8). */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/**
 * OAuth 2.0 client credentials (RFC 6749 4.4): a token fetched from the token endpoint, kept until
 * shortly before it expires, and shared: callers that ask while it is being fetched wait for the
 * same request, so a burst of deliveries costs the authorisation server one request.
 */
export class OAuth2TokenSource {
  private token: { value: string; renewAt: number } | null = null;
  private pending: Promise<string> | null = null;
  private readonly tokenUrl: URL | null;
  private readonly now: () => number;
  private readonly timeoutMs: number;

  constructor(
    private readonly settings: OAuth2Settings,
    private readonly options: TokenSourceOptions,
  ) {
    this.tokenUrl = URL.canParse(settings.tokenUrl) ? new URL(settings.tokenUrl) : null;
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  }

  /** The current access token, fetched when there is none or it is about to expire. */
  accessToken(): Promise<string> {
    if (this.token !== null && this.now() < this.token.renewAt) return Promise.resolve(this.token.value);
    if (this.pending === null) {
      this.pending = this.fetch().finally(() => {
        this.pending = null;
      });
    }
    return this.pending;
  }

  /**
   * Forgets the token, so that the next caller fetches another. Given the token the target turned
   * down, forgets it only if it is still the current one: when many deliveries are answered 401
   * at once, the first renews the token and the others must not throw the new one away.
   */
  invalidate(rejected?: string): void {
    if (rejected === undefined || this.token?.value === rejected) this.token = null;
  }

  private async fetch(): Promise<string> {
    const url = this.tokenUrl;
    if (url === null) throw new Error('oauth2 token endpoint: tokenUrl is not an absolute URL');
    const where = `oauth2 token endpoint ${url.origin}${url.pathname}`;
    const refused = this.options.policy.problem(url);
    if (refused !== null)
      throw Object.assign(new Error(`${where}: target refused: ${refused}`), { code: TARGET_REFUSED });
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.settings.scope !== undefined) form.set('scope', this.settings.scope);
    if (this.settings.audience !== undefined) form.set('audience', this.settings.audience);
    const answer = await post(url, form.toString(), {
      // RFC 6749 2.3.1: the id and secret are form-encoded before they are joined for Basic.
      authorization: basicAuthorization(
        formEncode(this.settings.clientId),
        formEncode(this.settings.clientSecret),
      ),
      policy: this.options.policy,
      timeoutMs: this.timeoutMs,
    }).catch((error: unknown) => {
      throw Object.assign(new Error(`${where}: ${describeError(error)}`), {
        code: (error as { code?: unknown } | null)?.code,
      });
    });
    const body = parseJson(answer.body);
    if (answer.status < 200 || answer.status > 299) {
      const details = ['error', 'error_description']
        .filter((key) => typeof body?.[key] === 'string')
        .map((key) => `${key} ${quote(body?.[key] as string)}`);
      throw new Error(
        `${where} answered ${answer.status}${details.length > 0 ? `: ${details.join(', ')}` : ''}`,
      );
    }
    const token = body?.access_token;
    if (typeof token !== 'string' || !TOKEN_TEXT.test(token))
      throw new Error(`${where} answered ${answer.status} without a usable access_token`);
    const tokenType = body?.token_type;
    if (typeof tokenType === 'string' && tokenType.toLowerCase() !== 'bearer')
      throw new Error(`${where} gave a token of type ${quote(tokenType)}; only Bearer tokens can be sent`);
    this.token = { value: token, renewAt: this.now() + lifetimeMs(body?.expires_in) };
    return token;
  }
}

/** How long a token is used: until a margin before expires_in (a number, or a numeric string as some servers send). */
function lifetimeMs(expiresIn: unknown): number {
  const seconds =
    typeof expiresIn === 'string' && /^\d{1,12}$/.test(expiresIn) ? Number(expiresIn) : expiresIn;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return DEFAULT_LIFETIME_MS;
  const ms = seconds * 1000;
  return ms - Math.min(ms / 10, MAX_RENEW_MARGIN_MS);
}

/**
 * The headers that authorise the gateway at one target. For OAuth 2.0 `renewable` is true: a 401
 * may mean the token was revoked before it expired, and is worth one more try with a new one.
 */
export class TargetAuthorizer {
  private constructor(
    private readonly fixed: Record<string, string>,
    private readonly tokens: OAuth2TokenSource | null,
  ) {}

  static for(auth: TargetAuth | undefined, options: TokenSourceOptions): TargetAuthorizer {
    if (auth === undefined) return new TargetAuthorizer({}, null);
    if ('apiKey' in auth) return new TargetAuthorizer({ [auth.apiKey.header]: auth.apiKey.value }, null);
    if ('basic' in auth)
      return new TargetAuthorizer(
        { Authorization: basicAuthorization(auth.basic.username, auth.basic.password) },
        null,
      );
    return new TargetAuthorizer({}, new OAuth2TokenSource(auth.oauth2, options));
  }

  get renewable(): boolean {
    return this.tokens !== null;
  }

  /** Rejects when a token cannot be had (with code EGW_TARGET_REFUSED or EGW_TOKEN_TIMEOUT when that is why). */
  async headers(): Promise<Record<string, string>> {
    if (this.tokens === null) return { ...this.fixed };
    return { Authorization: `Bearer ${await this.tokens.accessToken()}` };
  }

  /** After a 401: the next `headers()` fetches a new token. Given the headers that were turned down, see OAuth2TokenSource.invalidate. */
  invalidate(rejected?: Record<string, string>): void {
    const authorization = rejected?.Authorization;
    this.tokens?.invalidate(
      authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined,
    );
  }
}

/** A TargetAuthorizer for `auth`; none when undefined. */
export function targetAuthorizer(
  auth: TargetAuth | undefined,
  options: TokenSourceOptions,
): TargetAuthorizer {
  return TargetAuthorizer.for(auth, options);
}

interface PostOptions {
  authorization: string;
  policy: TargetPolicy;
  timeoutMs: number;
}

/** One form POST, on a connection of its own (tokens are fetched rarely), within a deadline. */
function post(url: URL, form: string, options: PostOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(form);
    const send = url.protocol === 'https:' ? https.request : http.request;
    let request: http.ClientRequest | undefined;
    const timer = setTimeout(() => {
      const error = Object.assign(new Error(`no answer within ${options.timeoutMs} ms`), {
        code: TOKEN_TIMEOUT,
      });
      request?.destroy(error);
    }, options.timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    try {
      request = send(url, {
        method: 'POST',
        agent: false,
        lookup: options.policy.lookup,
        headers: {
          Authorization: options.authorization,
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': String(body.length),
          Accept: 'application/json',
        },
      });
    } catch (error) {
      return fail(error as Error);
    }
    const sent = request;
    sent.on('error', fail);
    sent.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_TOKEN_ANSWER_BYTES) return void chunks.push(chunk);
        fail(new Error(`the answer is larger than ${MAX_TOKEN_ANSWER_BYTES} bytes`));
        sent.destroy();
      });
      response.on('error', fail);
      response.on('end', () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      // A connection cut mid-answer ends in 'close' without 'end' (and, depending on the Node version, without 'error').
      response.on('close', () => fail(new Error('the connection closed before the answer was complete')));
    });
    sent.end(body);
  });
}

/**
 * An error's message, never empty: when a name has several addresses, Node tries each and fails
 * with an AggregateError whose own message is empty, the reasons being in `errors`. Duck-typed,
 * as errors from Node's internals may come from another realm than this module's Error.
 */
export function describeError(error: unknown): string {
  const e = error as { message?: unknown; code?: unknown; name?: unknown; errors?: unknown } | null;
  const text = (value: unknown) =>
    typeof value === 'string'
      ? value
      : typeof (value as Error)?.message === 'string'
        ? (value as Error).message
        : String(value);
  const own =
    typeof e?.message === 'string' && e.message !== '' ? e.message : String(e?.code ?? e?.name ?? e);
  const inner = Array.isArray(e?.errors) ? e.errors.map(text).filter((message) => message !== '') : [];
  if (inner.length === 0) return own;
  return own === 'AggregateError' ? inner.join('; ') : `${own}: ${inner.join('; ')}`;
}

function formEncode(text: string): string {
  return new URLSearchParams({ v: text }).toString().slice(2);
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Quoted and shortened: the text comes from another server. */
function quote(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}
