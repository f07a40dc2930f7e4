const TOKEN_KEY = 'event-gateway-token';

export type Role = 'admin' | 'read';

export interface Session {
  name: string;
  role: Role;
}

/** An answer other than 2xx, with the API's error text and whatever else its body said. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Kept for the tab only: closing it forgets the token. */
export function storedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

export interface CallOptions {
  body?: string;
  headers?: Record<string, string>;
  /** Read the answer as text rather than JSON. */
  text?: boolean;
}

export interface Answer<T> {
  status: number;
  headers: Headers;
  body: T;
}

export async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  const token = storedToken();
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined && headers['content-type'] === undefined)
    headers['content-type'] = 'application/yaml';
  const response = await fetch(path, { method, headers, body: options.body, cache: 'no-store' });
  const text = await response.text();
  if (!response.ok) {
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // Not the API's error body (a proxy in between, say): the status says enough.
    }
    const reason = typeof body.error === 'string' ? body.error : `${response.status} ${response.statusText}`;
    throw new ApiFailure(response.status, reason, body);
  }
  return {
    status: response.status,
    headers: response.headers,
    body: (options.text === true || text === '' ? text : JSON.parse(text)) as T,
  };
}

export async function get<T = Record<string, unknown>>(path: string): Promise<T> {
  return (await call<T>('GET', path)).body;
}

/** Who the stored token is; null when the API wants a token and has none it knows. */
export async function whoami(): Promise<Session | null> {
  try {
    return await get<Session>('/whoami');
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) return null;
    throw error;
  }
}
