import * as http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';
import { DEFAULTS, RESERVED_HEADERS, type TargetSettings } from './subscription';
import { TOKEN_TIMEOUT, TargetAuthorizer, describeError } from './target-auth';
import { TARGET_REFUSED, type TargetPolicy } from './target-policy';

/**
 * How one delivery to a target went. `durationMs` is the whole of `send`: a token fetch and the
 * second try after a 401 included.
 */
export type DeliveryAttempt =
  | { kind: 'answered'; status: number; headers: IncomingHttpHeaders; body: Buffer; durationMs: number }
  | { kind: 'timeout'; durationMs: number }
  /** DNS, connection refused or reset, TLS, an answer too large, a token that could not be had. */
  | { kind: 'unreachable'; error: string; durationMs: number }
  /** The policy refused the target's URL or an address it resolved to. */
  | { kind: 'refused'; reason: string; durationMs: number };

export interface TargetRequest {
  headers: Record<string, string>;
  body: Buffer | null;
  /** The target's method unless given. */
  method?: string;
  /** Appended to the target URL's path (its query joined to the URL's); none for the URL as it is. */
  path?: string;
  /**
   * The answer's body is read and dropped, whatever its size: an async delivery needs only the
   * status, and a target that accepted a record with a large answer has still accepted it.
   */
  discardBody?: boolean;
}

export interface TargetClientOptions {
  target: TargetSettings;
  policy: TargetPolicy;
  maxConnections: number;
  maxResponseBytes: number;
}

/**
 * A path segment that would climb out of the target's path once the target's server resolves it;
 * escaped dots and slashes and backslashes too, as some servers decode or accept them.
 */
const DOT_SEGMENT = /(?:^|\/|\\|%2f|%5c)(?:\.|%2e){1,2}(?:\/|\\|%2f|%5c|\?|$)/i;
const RETRY_AFTER_CAP_MS = 24 * 3_600_000;

/** Where the attempt ended up when it did not get an answer. */
type Failure =
  { kind: 'timeout' } | { kind: 'unreachable'; error: string } | { kind: 'refused'; reason: string };
type Answer = Omit<Extract<DeliveryAttempt, { kind: 'answered' }>, 'durationMs'>;

/**
 * The HTTP client of one target: kept-alive connections, at most `maxConnections` of them, each
 * to an address the policy allows. `send` never rejects: every way a delivery can go is a
 * DeliveryAttempt, for the caller to retry or give up on.
 */
export class TargetClient {
  private readonly url: URL | null;
  private readonly agent: http.Agent;
  private readonly authorizer: TargetAuthorizer;
  private readonly method: string;
  private readonly timeoutMs: number;
  /** Why the policy refuses the URL, if it does: the URL and the policy never change for a client. */
  private readonly refused: string | null;
  /**
   * Whether a request's headers can be sent as they are, plus the auth's: no target headers to
   * merge, and no API key header whose name could collide with a format's header in another case.
   */
  private readonly plainHeaders: boolean;
  private closed = false;

  constructor(private readonly options: TargetClientOptions) {
    const { target, policy, maxConnections } = options;
    this.url = URL.canParse(target.url) ? new URL(target.url) : null;
    this.method = target.method ?? DEFAULTS.method;
    this.timeoutMs = target.timeoutMs ?? DEFAULTS.timeoutMs;
    const agentOptions = { keepAlive: true, maxSockets: maxConnections, lookup: policy.lookup };
    this.agent =
      this.url?.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.authorizer = TargetAuthorizer.for(target.auth, { policy, timeoutMs: this.timeoutMs });
    this.refused = this.url === null ? null : policy.problem(this.url);
    this.plainHeaders =
      Object.keys(target.headers ?? {}).length === 0 &&
      (target.auth === undefined || !('apiKey' in target.auth));
  }

  async send(request: TargetRequest): Promise<DeliveryAttempt> {
    const started = performance.now();
    const done = (outcome: Failure | Answer) =>
      ({ ...outcome, durationMs: performance.now() - started }) as DeliveryAttempt;
    if (this.closed) return done({ kind: 'unreachable', error: 'the target client is closed' });
    const url = this.url;
    if (url === null) return done({ kind: 'unreachable', error: 'target.url is not an absolute URL' });
    // Judged again here, not only when stored: this instance's allowedTargets may be narrower
    // than those of the instance that stored the subscription.
    if (this.refused !== null) return done({ kind: 'refused', reason: this.refused });
    const path = joinPath(url, request.path);
    if (typeof path !== 'string') return done(path);
    let outcome = await this.attempt(url, path, request);
    if (outcome.kind === 'answered' && outcome.status === 401 && this.authorizer.renewable) {
      this.authorizer.invalidate(outcome.auth);
      outcome = await this.attempt(url, path, request);
    }
    if (outcome.kind !== 'answered') return done(outcome);
    const { auth: _auth, ...answered } = outcome;
    return done(answered);
  }

  /** Destroys the connections; sends after this are 'unreachable'. */
  close(): void {
    this.closed = true;
    this.agent.destroy();
  }

  private async attempt(
    url: URL,
    path: string,
    request: TargetRequest,
  ): Promise<Failure | (Answer & { auth: Record<string, string> })> {
    let auth: Record<string, string>;
    try {
      auth = await this.authorizer.headers();
    } catch (error) {
      return failure(error);
    }
    const method = request.method ?? this.method;
    const headers = this.plainHeaders
      ? { ...request.headers, ...auth }
      : mergeHeaders(this.options.target.headers ?? {}, request.headers, auth);
    if (request.body !== null) headers['Content-Length'] = String(request.body.length);
    else if (method === 'POST' || method === 'PUT' || method === 'PATCH') headers['Content-Length'] = '0';
    const answer = await this.exchange(
      url,
      path,
      method,
      headers,
      request.body,
      request.discardBody === true,
    );
    return answer.kind === 'answered' ? { ...answer, auth } : answer;
  }

  private exchange(
    url: URL,
    path: string,
    method: string,
    headers: Record<string, string>,
    body: Buffer | null,
    discardBody: boolean,
  ): Promise<Failure | Answer> {
    const { maxResponseBytes } = this.options;
    return new Promise((resolve) => {
      let settled = false;
      let request: http.ClientRequest | undefined;
      const settle = (outcome: Failure | Answer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        settle({ kind: 'timeout' });
        request?.destroy();
      }, this.timeoutMs);
      const send = url.protocol === 'https:' ? https.request : http.request;
      try {
        request = send({
          protocol: url.protocol,
          hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
          port: url.port,
          path,
          method,
          headers,
          agent: this.agent,
        });
      } catch (error) {
        // Invalid header values or methods are thrown, not emitted.
        return settle(failure(error));
      }
      const sent = request;
      sent.on('error', (error) => settle(failure(error)));
      sent.on('response', (response) => {
        const declared = Number(response.headers['content-length']);
        const tooLarge = () => {
          settle({
            kind: 'unreachable',
            error: `the target's answer is larger than ${maxResponseBytes} bytes`,
          });
          sent.destroy();
        };
        if (declared > maxResponseBytes && !discardBody) return tooLarge();
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (discardBody) return;
          size += chunk.length;
          if (size > maxResponseBytes) tooLarge();
          else chunks.push(chunk);
        });
        response.on('error', (error) => settle(failure(error)));
        response.on('end', () =>
          settle({
            kind: 'answered',
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks, size),
          }),
        );
        response.on('close', () =>
          settle({ kind: 'unreachable', error: 'the connection closed before the answer was complete' }),
        );
      });
      sent.end(body ?? undefined);
    });
  }
}

/** The target's headers, then the request's, then the authorisation's: later ones replace earlier ones of any case. */
function mergeHeaders(...layers: Record<string, string>[]): Record<string, string> {
  const merged = new Map<string, [string, string]>();
  for (const layer of layers)
    for (const [name, value] of Object.entries(layer)) {
      const key = name.toLowerCase();
      if (!RESERVED_HEADERS.has(key)) merged.set(key, [name, value]);
    }
  return Object.fromEntries(merged.values());
}

/** The request path: the target's path with `extra` after it, and the queries of both. */
function joinPath(url: URL, extra: string | undefined): string | Failure {
  if (extra === undefined || extra === '') return `${url.pathname}${url.search}`;
  if (extra.includes('#') || DOT_SEGMENT.test(extra))
    return { kind: 'refused', reason: 'the path to append has a fragment or a dot segment' };
  const at = extra.indexOf('?');
  const extraPath = at < 0 ? extra : extra.slice(0, at);
  const extraQuery = at < 0 ? '' : extra.slice(at + 1);
  const base = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
  const path = extraPath === '' || extraPath.startsWith('/') ? extraPath : `/${extraPath}`;
  const query = [url.search.slice(1), extraQuery].filter((part) => part !== '').join('&');
  return `${base}${path || (base === '' ? '/' : '')}${query === '' ? '' : `?${query}`}`;
}

function failure(error: unknown): Failure {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === TARGET_REFUSED) return { kind: 'refused', reason: (error as Error).message };
  if (code === TOKEN_TIMEOUT) return { kind: 'timeout' };
  return { kind: 'unreachable', error: describeError(error) };
}

/**
 * How long a target asked to be left alone (Retry-After, RFC 9110 10.2.3): delta-seconds or an
 * HTTP-date. Undefined when absent or not either form; 0 for the past; at most a day, so that a
 * target cannot park a subscription indefinitely.
 */
export function retryAfterMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const value = headers['retry-after'];
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^-?\d+$/.test(text)) ms = Number(text) * 1000;
  else if (HTTP_DATE.test(text)) ms = Date.parse(text) - now;
  else return undefined;
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(ms, 0), RETRY_AFTER_CAP_MS);
}

/** The three forms RFC 9110 5.6.7 lets an HTTP-date take (IMF-fixdate, RFC 850, asctime); Date.parse alone takes far more. */
const HTTP_DATE =
  /^(?:[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Z][a-z]{5,8}, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/;
