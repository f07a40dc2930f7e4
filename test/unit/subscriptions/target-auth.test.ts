import type { TargetAuth } from '../../../src/subscriptions/subscription';
import {
  OAuth2TokenSource,
  TOKEN_TIMEOUT,
  TargetAuthorizer,
  basicAuthorization,
} from '../../../src/subscriptions/target-auth';
import { TARGET_REFUSED, TargetPolicy } from '../../../src/subscriptions/target-policy';
import { json, startServer, type TestServer } from './http-server';

const policy = new TargetPolicy(['*']);
const servers: TestServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A token endpoint handing out tok-1, tok-2, … with `expires_in` as given. */
async function tokenServer(expiresIn?: unknown): Promise<TestServer> {
  let issued = 0;
  const server = await startServer((_request, response) => {
    issued++;
    json(response, 200, { access_token: `tok-${issued}`, token_type: 'Bearer', expires_in: expiresIn });
  });
  servers.push(server);
  return server;
}

function oauth2(server: TestServer, extra: Partial<Extract<TargetAuth, { oauth2: unknown }>['oauth2']> = {}) {
  return {
    tokenUrl: `${server.origin}/oauth/token`,
    clientId: 'gateway',
    clientSecret: 's3cret',
    ...extra,
  };
}

describe('TargetAuthorizer', () => {
  it('sends nothing without auth, an API key header, or Basic credentials', async () => {
    expect(await TargetAuthorizer.for(undefined, { policy }).headers()).toEqual({});
    const apiKey = TargetAuthorizer.for({ apiKey: { header: 'X-Api-Key', value: 'k1' } }, { policy });
    expect(await apiKey.headers()).toEqual({ 'X-Api-Key': 'k1' });
    expect(apiKey.renewable).toBe(false);
    const basic = TargetAuthorizer.for({ basic: { username: 'üser', password: 'p:w' } }, { policy });
    expect(await basic.headers()).toEqual({
      Authorization: `Basic ${Buffer.from('üser:p:w').toString('base64')}`,
    });
  });

  it('sends a Bearer token for OAuth 2.0, and may renew it', async () => {
    const server = await tokenServer(3600);
    const authorizer = TargetAuthorizer.for({ oauth2: oauth2(server) }, { policy });
    expect(authorizer.renewable).toBe(true);
    expect(await authorizer.headers()).toEqual({ Authorization: 'Bearer tok-1' });
    authorizer.invalidate({ Authorization: 'Bearer tok-1' });
    expect(await authorizer.headers()).toEqual({ Authorization: 'Bearer tok-2' });
  });
});

describe('OAuth2TokenSource', () => {
  it('asks for client credentials as RFC 6749 says: a form, the client in Basic, scope and audience', async () => {
    const server = await tokenServer(3600);
    const source = new OAuth2TokenSource(
      oauth2(server, {
        clientId: 'client:1',
        clientSecret: 'a b+c',
        scope: 'read write',
        audience: 'https://api',
      }),
      { policy },
    );
    expect(await source.accessToken()).toBe('tok-1');
    const [request] = server.seen;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/oauth/token');
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request.headers.authorization).toBe(basicAuthorization('client%3A1', 'a+b%2Bc'));
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({
      grant_type: 'client_credentials',
      scope: 'read write',
      audience: 'https://api',
    });
  });

  it('fetches one token for 20 concurrent callers, and reuses it', async () => {
    const server = await tokenServer(3600);
    const source = new OAuth2TokenSource(oauth2(server), { policy });
    const tokens = await Promise.all(Array.from({ length: 20 }, () => source.accessToken()));
    expect(new Set(tokens)).toEqual(new Set(['tok-1']));
    expect(await source.accessToken()).toBe('tok-1');
    expect(server.seen).toHaveLength(1);
  });

  it('fetches another token shortly before expires_in runs out', async () => {
    const server = await tokenServer(1);
    const source = new OAuth2TokenSource(oauth2(server), { policy });
    expect(await source.accessToken()).toBe('tok-1');
    expect(await source.accessToken()).toBe('tok-1');
    // A tenth of a one-second lifetime early: by 0.95 s the token is due.
    await new Promise((resolve) => setTimeout(resolve, 950));
    expect(await source.accessToken()).toBe('tok-2');
    expect(server.seen).toHaveLength(2);
  });

  it('renews a tenth of the lifetime early, at most a minute, and after five minutes without expires_in', async () => {
    let now = 0;
    const at = async (expiresIn: unknown, ms: number) => {
      const server = await tokenServer(expiresIn);
      const source = new OAuth2TokenSource(oauth2(server), { policy, now: () => now });
      now = 0;
      await source.accessToken();
      now = ms;
      return source.accessToken();
    };
    expect(await at(3600, 3_539_000)).toBe('tok-1');
    expect(await at(3600, 3_541_000)).toBe('tok-2');
    expect(await at(100, 89_000)).toBe('tok-1');
    expect(await at(100, 91_000)).toBe('tok-2');
    expect(await at('100', 91_000)).toBe('tok-2');
    expect(await at(undefined, 299_000)).toBe('tok-1');
    expect(await at(undefined, 301_000)).toBe('tok-2');
    expect(await at('soon', 301_000)).toBe('tok-2');
  });

  it('forgets only the token that was turned down', async () => {
    const server = await tokenServer(3600);
    const source = new OAuth2TokenSource(oauth2(server), { policy });
    await source.accessToken();
    source.invalidate('tok-1');
    expect(await source.accessToken()).toBe('tok-2');
    // A late 401 for the old token must not cost the new one.
    source.invalidate('tok-1');
    expect(await source.accessToken()).toBe('tok-2');
    source.invalidate();
    expect(await source.accessToken()).toBe('tok-3');
  });

  it('reports a token endpoint error with its status and error, quoted and shortened, and tries again next time', async () => {
    let fail = true;
    const server = await startServer((_request, response) => {
      if (fail)
        json(response, 400, {
          error: 'invalid_client',
          error_description: `bad "secret" ${'x'.repeat(1000)}`,
        });
      else json(response, 200, { access_token: 'fine' });
    });
    servers.push(server);
    const source = new OAuth2TokenSource(oauth2(server), { policy });
    const failures = await Promise.allSettled([source.accessToken(), source.accessToken()]);
    expect(server.seen).toHaveLength(1);
    const error = (failures[0] as PromiseRejectedResult).reason as Error;
    expect(error.message).toMatch(
      /^oauth2 token endpoint http:\/\/127\.0\.0\.1:\d+\/oauth\/token answered 400: error "invalid_client", error_description "bad \\"secret\\" x+…"$/,
    );
    expect(error.message.length).toBeLessThan(400);
    fail = false;
    expect(await source.accessToken()).toBe('fine');
  });

  it('refuses answers that hold no usable token', async () => {
    const answers = [
      { token_type: 'Bearer' },
      { access_token: 'a\r\nX-Injected: 1' },
      { access_token: 't', token_type: 'mac' },
    ];
    let next = 0;
    const server = await startServer((_request, response) => json(response, 200, answers[next++]));
    servers.push(server);
    await expect(new OAuth2TokenSource(oauth2(server), { policy }).accessToken()).rejects.toThrow(
      /without a usable access_token/,
    );
    await expect(new OAuth2TokenSource(oauth2(server), { policy }).accessToken()).rejects.toThrow(
      /without a usable access_token/,
    );
    await expect(new OAuth2TokenSource(oauth2(server), { policy }).accessToken()).rejects.toThrow(
      /type "mac"/,
    );
  });

  it('asks only token endpoints the policy allows, by URL and by resolved address', async () => {
    const server = await tokenServer(3600);
    const narrow = new TargetPolicy(['10.0.0.0/8']);
    const byUrl = new OAuth2TokenSource(oauth2(server), { policy: narrow });
    await expect(byUrl.accessToken()).rejects.toMatchObject({
      code: TARGET_REFUSED,
      message: /127\.0\.0\.1 is not in/,
    });
    const byName = new OAuth2TokenSource(oauth2(server, { tokenUrl: `http://localhost:${server.port}/t` }), {
      policy: narrow,
    });
    await expect(byName.accessToken()).rejects.toMatchObject({
      code: TARGET_REFUSED,
      message: /"localhost" resolved to 127\.0\.0\.1/,
    });
    expect(server.seen).toHaveLength(0);
  });

  it('gives up on a token endpoint that does not answer in time', async () => {
    const server = await startServer(() => undefined);
    servers.push(server);
    const source = new OAuth2TokenSource(oauth2(server), { policy, timeoutMs: 100 });
    await expect(source.accessToken()).rejects.toMatchObject({
      code: TOKEN_TIMEOUT,
      message: /no answer within 100 ms/,
    });
  });
});
