import fc from 'fast-check';
import {
  DEFAULTS,
  eventIdentity,
  resolveRetry,
  subscriptionProblems,
  syncRoute,
  targetIdentity,
  type SubscriptionSettings,
  type TargetAuth,
} from '../../../src/subscriptions/subscription';
import { growth, LINEAR_BOUND } from '../support/growth';

const PREFIX = '/sync/';

function asyncSettings(parts: Partial<SubscriptionSettings> = {}): SubscriptionSettings {
  return {
    type: 'async',
    events: { topics: ['orders'] },
    target: { url: 'https://hooks.example.com/in' },
    deadLetterTopic: 'orders.dlq',
    ...parts,
  };
}

function syncSettings(parts: Partial<SubscriptionSettings> = {}): SubscriptionSettings {
  return {
    type: 'sync',
    events: { topics: ['quote-requests'] },
    target: { url: 'https://quotes.example.com/quote' },
    sync: { path: '/sync/quote' },
    ...parts,
  };
}

const problems = (settings: SubscriptionSettings) => subscriptionProblems(settings, PREFIX);

/** The single problem of `settings`; a second one would mean the input tests more than it should. */
function onlyProblem(settings: SubscriptionSettings): string {
  const found = problems(settings);
  expect(found).toHaveLength(1);
  return found[0];
}

const withTopics = (...topics: string[]) => asyncSettings({ events: { topics } });
const withUrl = (url: string) => asyncSettings({ target: { url } });
const withHeaders = (headers: Record<string, string>) =>
  asyncSettings({ target: { url: 'https://hooks.example.com/in', headers } });
const withAuth = (auth: TargetAuth) =>
  asyncSettings({ target: { url: 'https://hooks.example.com/in', auth } });
const withSyncPath = (path: string) => syncSettings({ sync: { path } });

describe('subscriptionProblems', () => {
  it('finds nothing wrong with sound subscriptions, every optional field set', () => {
    expect(problems(asyncSettings())).toEqual([]);
    expect(problems(syncSettings())).toEqual([]);
    expect(
      problems(
        asyncSettings({
          events: {
            topics: ['orders', 'Orders_2024.v1-eu', '/^payments\\..+$/', 'x'.repeat(249)],
            type: 'com.example.order.created',
            pattern: { value: { amount: [{ numeric: ['>', 100] }] }, key: [{ prefix: 'eu-' }] },
          },
          target: {
            url: 'http://10.0.0.7:8080/hooks/in?tenant=a',
            method: 'PUT',
            headers: { 'X-Team': 'payments', 'x-empty': '', 'X-Tab': 'a\tb', 'X-Latin1': 'Grüße' },
            timeoutMs: 500,
            auth: { apiKey: { header: 'X-Api-Key', value: 'k-1' } },
          },
          format: 'structured',
          retry: { maxAttempts: 3, maxAgeSeconds: 60, initialBackoffMs: 100, maxBackoffMs: 100 },
          rateLimit: { requestsPerSecond: 5 },
          concurrency: 2,
          description: 'everything',
        }),
      ),
    ).toEqual([]);
    expect(
      problems(
        syncSettings({
          target: {
            url: 'https://quotes.example.com/quote',
            auth: {
              oauth2: { tokenUrl: 'https://auth.example.com/token', clientId: 'c', clientSecret: 's' },
            },
          },
          sync: { path: '/sync/v1.2/quote_now', method: 'GET', cors: { origins: ['*'] } },
        }),
      ),
    ).toEqual([]);
  });

  it('names each topic entry that is not a Kafka topic name, by its index', () => {
    for (const bad of ['', 'a b', 'orders/eu', 'Grüße', 'a:b', 'x'.repeat(250), '//', 'a\nb'])
      expect(onlyProblem(withTopics('orders', bad))).toMatch(/^events\.topics\.1: not a Kafka topic name/);
    expect(problems(withTopics('ok', 'a b', 'also_ok', 'c d'))).toEqual([
      expect.stringMatching(/^events\.topics\.1: /),
      expect.stringMatching(/^events\.topics\.3: /),
    ]);
  });

  it('names each /regex/ entry the linear-time engine refuses, with the reason', () => {
    expect(problems(withTopics('/^orders\\.(eu|us)$/', '/^payments/'))).toEqual([]);
    expect(onlyProblem(withTopics('/(/'))).toMatch(/^events\.topics\.0: .*[Ii]nvalid/);
    // Backreferences and lookaround need a backtracking engine, which hostile names could freeze.
    expect(onlyProblem(withTopics('orders', '/(a)\\1/'))).toMatch(/^events\.topics\.1: /);
    expect(onlyProblem(withTopics('/(?=a)b/'))).toMatch(/^events\.topics\.0: /);
    expect(onlyProblem(withTopics('/(?:a{1000}){1000}/'))).toMatch(/^events\.topics\.0: .*instructions/);
  });

  describe('internal topics', () => {
    it("refuses reading a topic internal to Kafka or the gateway, named, whatever the subscription's type", () => {
      expect(onlyProblem(withTopics('orders', '__consumer_offsets'))).toBe(
        "events.topics.1: '__consumer_offsets' is internal to Kafka or the gateway; no subscription may read it",
      );
      expect(onlyProblem(syncSettings({ events: { topics: ['_event_gateway_state'] } }))).toMatch(
        /^events\.topics\.0: '_event_gateway_state' is internal/,
      );
      // The gateway says what is internal: its state topic need not start with '_'.
      const stateTopic = (topic: string) => topic === 'gateway-state';
      expect(subscriptionProblems(withTopics('gateway-state'), PREFIX, stateTopic)).toEqual([
        expect.stringMatching(/^events\.topics\.0: 'gateway-state' is internal/),
      ]);
      expect(subscriptionProblems(withTopics('_orders'), PREFIX, stateTopic)).toEqual([]);
    });

    it('leaves /regex/ entries to be resolved without internal topics, rather than refusing them', () => {
      expect(problems(withTopics('/^_/', '/.*offsets/'))).toEqual([]);
    });

    it('refuses an internal dead-letter topic', () => {
      expect(onlyProblem(asyncSettings({ deadLetterTopic: '_orders.dlq' }))).toBe(
        'deadLetterTopic: internal to Kafka or the gateway; dead letters need a topic of their own',
      );
      expect(
        subscriptionProblems(asyncSettings({ deadLetterTopic: 'gateway-state' }), PREFIX, (topic) =>
          topic.endsWith('-state'),
        ),
      ).toEqual([
        'deadLetterTopic: internal to Kafka or the gateway; dead letters need a topic of their own',
      ]);
    });
  });

  it("refuses a dead-letter topic that is one of the subscription's own, named or matched", () => {
    const own =
      "deadLetterTopic: one of the subscription's own topics; its dead letters would be delivered again";
    const dlq = (...topics: string[]) => asyncSettings({ events: { topics }, deadLetterTopic: 'orders.dlq' });
    expect(onlyProblem(dlq('orders', 'orders.dlq'))).toBe(own);
    expect(onlyProblem(dlq('/\\.dlq$/'))).toBe(own);
    expect(onlyProblem(dlq('/orders/'))).toBe(own);
    expect(problems(dlq('/^orders$/', 'orders.dlq2'))).toEqual([]);
    // With a regex that does not compile, what the entries select is unknown: that regex is the problem.
    expect(problems(dlq('/(/', 'orders.dlq'))).toContainEqual(expect.stringMatching(/^events\.topics\.0: /));
  });

  it('refuses the topic names Kafka refuses, . and .. included, for topics and dead letters', () => {
    expect(problems(withTopics('.'))).toEqual([
      expect.stringContaining('events.topics.0: not a Kafka topic name'),
    ]);
    expect(problems(withTopics('ok', '..'))).toEqual([expect.stringContaining('events.topics.1')]);
    expect(problems(asyncSettings({ deadLetterTopic: '..' }))).toEqual([
      'deadLetterTopic: not a Kafka topic name',
    ]);
    expect(problems(withTopics('...'))).toEqual([]);
  });

  it('refuses an API key header the gateway sets itself, which would never reach the target', () => {
    for (const header of ['Host', 'content-length', 'Connection', 'Transfer-Encoding'])
      expect(onlyProblem(withAuth({ apiKey: { header, value: 'k' } }))).toMatch(
        /^target\.auth\.apiKey\.header: set by the gateway/,
      );
  });

  it('quotes a bad header name shortened in every problem about it', () => {
    const found = problems(withHeaders({ ['x '.repeat(50_000)]: 'a\nb' }));
    expect(found).toHaveLength(2);
    for (const problem of found) expect(problem.length).toBeLessThan(200);
  });

  it('refuses credentials in the OAuth 2 token URL, and sync paths with characters that need decoding', () => {
    expect(
      onlyProblem(
        withAuth({
          oauth2: { tokenUrl: 'https://u:p@auth.example.com/token', clientId: 'c', clientSecret: 's' },
        }),
      ),
    ).toMatch(/credentials belong in clientId/);
    for (const path of ['/sync/a\\b', '/sync/\u0000', '/sync/caf\u00e9', '/sync/a b'])
      expect(problems(withSyncPath(path)).some((p) => p.startsWith('sync.path: a plain path'))).toBe(true);
    expect(problems(withSyncPath("/sync/orders/v1.quote_(eu)~x@y!$&'+,;="))).toEqual([]);
  });

  it('reports a pattern that does not compile', () => {
    const withPattern = (pattern: unknown) =>
      asyncSettings({ events: { topics: ['orders'], pattern: pattern as Record<string, unknown> } });
    expect(problems(withPattern({ value: { kind: ['order'] }, headers: { ce_type: ['x'] } }))).toEqual([]);
    expect(onlyProblem(withPattern({ body: { kind: ['order'] } }))).toMatch(
      /^events\.pattern: .*value, key, headers/,
    );
    expect(onlyProblem(withPattern({ value: { kind: 'order' } }))).toMatch(/^events\.pattern: /);
    expect(onlyProblem(withPattern({ value: { n: [{ numeric: ['~', 1] }] } }))).toMatch(/^events\.pattern: /);
    expect(onlyProblem(withPattern([]))).toMatch(/^events\.pattern: /);
  });

  it('wants an absolute http or https target URL without credentials', () => {
    for (const url of ['', 'hooks.example.com/in', '/in', 'http//x']) {
      expect(onlyProblem(withUrl(url))).toBe('target.url: not an absolute URL');
    }
    expect(onlyProblem(withUrl('ftp://files.example.com/x'))).toBe(
      'target.url: the scheme must be http or https, not ftp',
    );
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'data:text/plain,x', 'ws://x/'])
      expect(onlyProblem(withUrl(url))).toMatch(/^target\.url: the scheme must be http or https/);
    for (const url of ['https://user:pass@x.example.com/', 'https://user@x.example.com/', 'http://:pw@x/'])
      expect(onlyProblem(withUrl(url))).toBe('target.url: credentials belong in target.auth, not in the URL');
    expect(problems(withUrl('HTTPS://X.example.com:8443/a?b=c#d'))).toEqual([]);
  });

  it('accepts only the methods it can send', () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])
      expect(problems(asyncSettings({ target: { url: 'https://x.example.com/', method } }))).toEqual([]);
    for (const method of ['post', 'HEAD', 'CONNECT', 'TRACE', ''])
      expect(onlyProblem(asyncSettings({ target: { url: 'https://x.example.com/', method } }))).toMatch(
        /^target\.method: one of GET, POST, PUT, PATCH, DELETE$/,
      );
  });

  it('refuses header names that are not tokens, and the headers the gateway sets itself, in any case', () => {
    expect(problems(withHeaders({ ['x'.repeat(256)]: 'v', "!#$%&'*+.^_`|~": 'v' }))).toEqual([]);
    for (const name of ['', 'X Team', 'X:Team', 'Grüße', 'a\r\nb', 'x'.repeat(257), '(x)', 'x"'])
      expect(onlyProblem(withHeaders({ [name]: 'v' }))).toMatch(
        /^target\.headers: ".*" is not a header name$/,
      );
    const reserved = [
      'Host',
      'CONTENT-LENGTH',
      'Transfer-Encoding',
      'connection',
      'Keep-Alive',
      'Upgrade',
      'TE',
      'Trailer',
      'Proxy-Connection',
    ];
    for (const name of reserved)
      expect(onlyProblem(withHeaders({ [name]: 'v' }))).toBe(
        `target.headers.${name}: set by the gateway, not by a subscription`,
      );
  });

  it('refuses header values with CR, LF or other control characters, which could split the request', () => {
    for (const value of ['a\r\nX-Injected: 1', 'a\nb', 'a\rb', '\u0000', 'a\u007fb', '\u001b[0m', 'euro €'])
      expect(onlyProblem(withHeaders({ 'X-Team': value }))).toBe(
        'target.headers.X-Team: a header value may not hold control characters',
      );
    // A bad name and a bad value are two problems, not the first only.
    expect(problems(withHeaders({ 'X Team': 'a\nb' }))).toHaveLength(2);
  });

  it('checks the API key header as a header name and its value as a header value', () => {
    expect(problems(withAuth({ apiKey: { header: 'Authorization', value: 'Bearer k' } }))).toEqual([]);
    expect(onlyProblem(withAuth({ apiKey: { header: 'X Api Key', value: 'k' } }))).toBe(
      'target.auth.apiKey.header: not a header name',
    );
    expect(onlyProblem(withAuth({ apiKey: { header: 'X-Api-Key', value: 'k\r\nX-Injected: 1' } }))).toBe(
      'target.auth.apiKey.value: a header value may not hold control characters',
    );
  });

  it('refuses a Basic username with a colon, where the user-id would end, but not such a password', () => {
    expect(problems(withAuth({ basic: { username: 'user', password: 'p:a:s:s' } }))).toEqual([]);
    expect(onlyProblem(withAuth({ basic: { username: 'us:er', password: 'p' } }))).toMatch(
      /^target\.auth\.basic\.username: may not contain ":"/,
    );
  });

  it('wants an absolute http or https OAuth 2 token URL', () => {
    const oauth2 = (tokenUrl: string) => withAuth({ oauth2: { tokenUrl, clientId: 'c', clientSecret: 's' } });
    expect(problems(oauth2('http://127.0.0.1:9000/oauth/token'))).toEqual([]);
    expect(onlyProblem(oauth2('/oauth/token'))).toBe('target.auth.oauth2.tokenUrl: not an absolute URL');
    expect(onlyProblem(oauth2('ftp://auth.example.com/token'))).toBe(
      'target.auth.oauth2.tokenUrl: the scheme must be http or https',
    );
  });

  describe('sync subscriptions', () => {
    const named = 'events.topics: a sync subscription writes its requests to exactly one topic, named';

    it('write to exactly one topic, named rather than matched', () => {
      expect(onlyProblem(syncSettings({ events: { topics: ['a', 'b'] } }))).toBe(named);
      expect(onlyProblem(syncSettings({ events: { topics: ['/^requests$/'] } }))).toBe(named);
      expect(onlyProblem(syncSettings({ events: { topics: [] } }))).toBe(named);
    });

    it('need a path', () => {
      expect(onlyProblem(syncSettings({ sync: undefined }))).toBe(
        'sync: a sync subscription needs sync.path',
      );
    });

    it('answer only under the prefix, and only on something after it', () => {
      for (const path of ['/sync/', '/sync', '/other/quote', 'sync/quote', '', '/SYNC/quote'])
        expect(onlyProblem(withSyncPath(path))).toBe(
          'sync.path: must start with /sync/ and name something after it',
        );
      expect(subscriptionProblems(withSyncPath('/rpc/quote'), '/rpc/')).toEqual([]);
    });

    it('answer on a plain path: no query, fragment, escapes, wildcards, parameters, blanks, // or dot segments', () => {
      const plain =
        'sync.path: a plain path (no query, fragment, escapes, wildcards, parameters or dot segments)';
      const refused = [
        '/sync/quote?x=1',
        '/sync/quote?',
        '/sync/quote#top',
        '/sync/%2e%2e/admin',
        '/sync/a%20b',
        '/sync/*',
        '/sync/quote/*',
        '/sync/:id',
        '/sync/a b',
        '/sync/a\tb',
        '/sync/a\r\nb',
        '/sync//quote',
        '/sync/quote//',
        '/sync/.',
        '/sync/..',
        '/sync/./quote',
        '/sync/../admin',
        '/sync/a/../../admin',
        '/sync/a/.',
        '/sync/a/..',
      ];
      for (const path of refused) expect([path, onlyProblem(withSyncPath(path))]).toEqual([path, plain]);
      for (const path of ['/sync/a.b', '/sync/.well-known', '/sync/...', '/sync/a/', '/sync/a..b/c.'])
        expect([path, problems(withSyncPath(path))]).toEqual([path, []]);
    });

    it('accept only the methods a route can answer', () => {
      expect(problems(syncSettings({ sync: { path: '/sync/q', method: 'DELETE' } }))).toEqual([]);
      expect(onlyProblem(syncSettings({ sync: { path: '/sync/q', method: 'HEAD' } }))).toBe(
        'sync.method: one of GET, POST, PUT, PATCH, DELETE',
      );
    });

    it('refuse every async-only field, each by name', () => {
      expect(onlyProblem(syncSettings({ retry: { maxAttempts: 2 } }))).toBe(
        'retry: for async subscriptions only',
      );
      expect(onlyProblem(syncSettings({ rateLimit: { requestsPerSecond: 1 } }))).toBe(
        'rateLimit: for async subscriptions only',
      );
      expect(onlyProblem(syncSettings({ concurrency: 4 }))).toBe('concurrency: for async subscriptions only');
      expect(onlyProblem(syncSettings({ deadLetterTopic: 'dlq' }))).toBe(
        'deadLetterTopic: for async subscriptions only',
      );
      expect(
        problems(
          syncSettings({
            retry: {},
            rateLimit: { requestsPerSecond: 1 },
            concurrency: 1,
            deadLetterTopic: 'd',
          }),
        ),
      ).toHaveLength(4);
    });
  });

  describe('async subscriptions', () => {
    it('refuse sync settings', () => {
      expect(onlyProblem(asyncSettings({ sync: { path: '/sync/quote' } }))).toBe(
        'sync: for sync subscriptions only',
      );
    });

    it('need a dead-letter topic with a Kafka topic name', () => {
      expect(onlyProblem(asyncSettings({ deadLetterTopic: undefined }))).toMatch(
        /^deadLetterTopic: an async subscription needs a topic/,
      );
      for (const topic of ['', 'dead letters', 'x'.repeat(250)])
        expect(onlyProblem(asyncSettings({ deadLetterTopic: topic }))).toBe(
          'deadLetterTopic: not a Kafka topic name',
        );
    });

    it('refuse an initial backoff larger than the largest, the defaults counted', () => {
      const retry = (retry: SubscriptionSettings['retry']) => problems(asyncSettings({ retry }));
      const tooLarge = ['retry: initialBackoffMs is larger than maxBackoffMs'];
      expect(retry({ initialBackoffMs: 500, maxBackoffMs: 500 })).toEqual([]);
      expect(retry({ initialBackoffMs: 501, maxBackoffMs: 500 })).toEqual(tooLarge);
      // Alone, each is set against the other's default (1 s initial, 60 s at most).
      expect(retry({ maxBackoffMs: 999 })).toEqual(tooLarge);
      expect(retry({ initialBackoffMs: 60_001 })).toEqual(tooLarge);
      expect(retry({ initialBackoffMs: 60_000 })).toEqual([]);
    });
  });

  it('reports every problem at once, not the first only', () => {
    const found = problems({
      type: 'async',
      events: { topics: ['a b'], pattern: { nope: [1] } },
      target: {
        url: 'ftp://u:p@x/',
        method: 'HEAD',
        headers: { Host: 'x' },
        auth: { basic: { username: 'a:b', password: 'p' } },
      },
      sync: { path: '/sync/x' },
      retry: { initialBackoffMs: 2, maxBackoffMs: 1 },
    });
    expect(found.map((problem) => problem.slice(0, problem.indexOf(':')))).toEqual([
      'events.topics.0',
      'events.pattern',
      'target.url',
      'target.url',
      'target.method',
      'target.headers.Host',
      'target.auth.basic.username',
      'sync',
      'deadLetterTopic',
      'retry',
    ]);
  });

  describe('hostile input', () => {
    const N = 100_000;
    const long = (unit: string, n = N) => unit.repeat(Math.ceil(n / unit.length));
    /** Each builds settings with one field about `n` characters long, in shapes that make matchers work hardest. */
    const hostile: [string, (n: number) => SubscriptionSettings][] = [
      ['a topic name', (n) => withTopics(long('a', n))],
      ['a topic name of dots', (n) => withTopics(long('.', n))],
      ['a /regex/ entry', (n) => withTopics(`/${long('a', n)}/`)],
      ['a /regex/ entry of open groups', (n) => withTopics(`/${long('(', n)}/`)],
      ['a /regex/ entry of nested stars', (n) => withTopics(`/${long('(a*)*', n)}/`)],
      ['a /regex/ entry of classes', (n) => withTopics(`/${long('[a-z]', n)}/`)],
      ['a URL path', (n) => withUrl(`https://x.example.com/${long('a/', n)}`)],
      ['a URL host', (n) => withUrl(`https://${long('a.', n)}com/`)],
      ['a URL of escapes', (n) => withUrl(`https://x.example.com/${long('%', n)}`)],
      ['a URL user', (n) => withUrl(`https://${long('u', n)}:p@x.example.com/`)],
      ['text that is no URL', (n) => withUrl(long(':/', n))],
      ['a header name', (n) => withHeaders({ [long('x', n)]: 'v' })],
      ['a header name of line breaks', (n) => withHeaders({ [long('\r\n', n)]: 'v' })],
      ['a header value', (n) => withHeaders({ 'X-Team': long('v', n) })],
      ['a header value ending in LF', (n) => withHeaders({ 'X-Team': `${long('v', n)}\n` })],
      ['an API key header', (n) => withAuth({ apiKey: { header: long('x', n), value: 'k' } })],
      ['an API key value', (n) => withAuth({ apiKey: { header: 'X-Key', value: `${long('k', n)}\r` } })],
      ['a Basic username', (n) => withAuth({ basic: { username: `${long('u', n)}:`, password: 'p' } })],
      [
        'a token URL',
        (n) =>
          withAuth({ oauth2: { tokenUrl: `https://a/${long('t', n)}`, clientId: 'c', clientSecret: 's' } }),
      ],
      ['a sync path', (n) => withSyncPath(`/sync/${long('a/', n)}`)],
      ['a sync path of dots', (n) => withSyncPath(`/sync/${long('/.', n)}`)],
      ['a sync path of dotted names', (n) => withSyncPath(`/sync/${long('/.a', n)}`)],
      ['a sync path of almost double slashes', (n) => withSyncPath(`/sync${long('/a', n)}/`)],
      ['a sync path outside the prefix', (n) => withSyncPath(long('/syn', n))],
      ['a dead-letter topic', (n) => asyncSettings({ deadLetterTopic: long('d', n) })],
      [
        'a pattern prefix',
        (n) =>
          asyncSettings({ events: { topics: ['t'], pattern: { value: { a: [{ prefix: long('p', n) }] } } } }),
      ],
      [
        'a pattern wildcard',
        (n) =>
          asyncSettings({
            events: { topics: ['t'], pattern: { value: { a: [{ wildcard: long('*a', n) }] } } },
          }),
      ],
      [
        'a pattern key',
        (n) => asyncSettings({ events: { topics: ['t'], pattern: { value: { [long('k', n)]: [1] } } } }),
      ],
    ];

    it.each(hostile)('answers for %s of 100,000 characters without throwing', (_what, build) => {
      expect(Array.isArray(problems(build(N)))).toBe(true);
    });

    // 3,334 and 100,020 characters: inputs 30 times apart, the larger as long as above.
    it.each(hostile)('takes time linear in the length of %s', (_what, build) => {
      expect(growth((n) => problems(build(n)), Math.ceil(N / 30))).toBeLessThan(LINEAR_BOUND());
    });
  });

  it('never throws, whatever strings are in whatever fields (property)', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom(
        '',
        '/',
        '//',
        '/(/',
        '/sync/',
        '/sync/a/../b',
        'http://',
        'https://u:p@x/',
        'http://[::1',
        'javascript:x',
        '__proto__',
        'constructor',
        'Host',
        '\r\n',
      ),
    );
    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const auth: fc.Arbitrary<TargetAuth> = fc.oneof(
      fc.record({ apiKey: fc.record({ header: text, value: text }) }),
      fc.record({ basic: fc.record({ username: text, password: text }) }),
      fc.record({
        oauth2: fc.record(
          { tokenUrl: text, clientId: text, clientSecret: text, scope: text, audience: text },
          { requiredKeys: ['tokenUrl', 'clientId', 'clientSecret'] },
        ),
      }),
    );
    const number = fc.oneof(fc.integer(), fc.double());
    const settings: fc.Arbitrary<SubscriptionSettings> = fc.record(
      {
        type: fc.constantFrom('async' as const, 'sync' as const),
        events: fc.record(
          {
            topics: fc.array(text, { maxLength: 4 }),
            type: text,
            pattern: fc.oneof(
              fc.dictionary(
                fc.oneof(text, fc.constantFrom('value', 'key', 'headers')),
                fc.jsonValue({ maxDepth: 3 }),
              ),
              fc.object({ maxDepth: 2 }),
            ),
          },
          { requiredKeys: ['topics'] },
        ),
        target: fc.record(
          {
            url: text,
            method: text,
            headers: fc.dictionary(text, text, { maxKeys: 4 }),
            timeoutMs: number,
            auth,
          },
          { requiredKeys: ['url'] },
        ),
        format: fc.constantFrom('binary' as const, 'structured' as const, 'raw' as const),
        retry: fc.record(
          { maxAttempts: number, maxAgeSeconds: number, initialBackoffMs: number, maxBackoffMs: number },
          { requiredKeys: [] },
        ),
        rateLimit: fc.record({ requestsPerSecond: number }),
        concurrency: number,
        deadLetterTopic: text,
        sync: fc.record(
          { path: text, method: text, cors: fc.record({ origins: fc.array(text, { maxLength: 2 }) }) },
          { requiredKeys: ['path'] },
        ),
        description: maybe(text),
      },
      { requiredKeys: ['type', 'events', 'target'] },
    );
    fc.assert(
      fc.property(settings, fc.oneof(fc.constant(PREFIX), text), (value, prefix) => {
        const found = subscriptionProblems(value, prefix);
        expect(found.every((problem) => typeof problem === 'string')).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('eventIdentity', () => {
  const events = (events: SubscriptionSettings['events']) => eventIdentity(asyncSettings({ events }));

  it('does not depend on the order of the topics, or on a topic named twice', () => {
    expect(events({ topics: ['b', 'a', '/c.*/'] })).toBe(events({ topics: ['/c.*/', 'a', 'b'] }));
    expect(events({ topics: ['a', 'b', 'a', 'b'] })).toBe(events({ topics: ['b', 'a'] }));
    expect(events({ topics: ['a'] })).not.toBe(events({ topics: ['a', 'b'] }));
    // Names are quoted, not joined: no list of names can pass for another.
    expect(events({ topics: ['a,b'] })).not.toBe(events({ topics: ['a', 'b'] }));
    expect(events({ topics: ['a"', 'b'] })).not.toBe(events({ topics: ['a', '"b'] }));
  });

  it('does not depend on the order of keys in the pattern, at any depth', () => {
    const pattern = {
      value: { kind: ['order'], amount: [{ numeric: ['>', 1] }], nested: { b: [1], a: [2] } },
      key: [{ prefix: 'eu-' }],
    };
    const reordered = {
      key: [{ prefix: 'eu-' }],
      value: { nested: { a: [2], b: [1] }, amount: [{ numeric: ['>', 1] }], kind: ['order'] },
    };
    expect(events({ topics: ['t'], pattern })).toBe(events({ topics: ['t'], pattern: reordered }));
    expect(events({ topics: ['t'], pattern })).not.toBe(
      events({ topics: ['t'], pattern: { ...pattern, key: [{ prefix: 'us-' }] } }),
    );
    expect(events({ topics: ['t'], pattern })).not.toBe(events({ topics: ['t'] }));
  });

  it('depends on the type', () => {
    expect(events({ topics: ['t'], type: 'a' })).not.toBe(events({ topics: ['t'], type: 'b' }));
    expect(events({ topics: ['t'], type: 'a' })).not.toBe(events({ topics: ['t'] }));
    expect(events({ topics: ['t'], type: undefined })).toBe(events({ topics: ['t'] }));
  });

  it('does not depend on anything but the events', () => {
    const one = asyncSettings({ events: { topics: ['t'] } });
    const other = syncSettings({
      events: { topics: ['t'] },
      target: { url: 'http://elsewhere.example.com/', method: 'PUT' },
      format: 'raw',
    });
    expect(eventIdentity(one)).toBe(eventIdentity(other));
  });

  it('is the same exactly when the sets of topics are (property)', () => {
    const topics = fc.array(fc.constantFrom('a', 'b', 'c', '/a/', 'a,b', '"'), { maxLength: 6 });
    fc.assert(
      fc.property(topics, topics, (one, two) => {
        const both = new Set([...one, ...two]).size;
        const same = new Set(one).size === both && new Set(two).size === both;
        expect(events({ topics: one }) === events({ topics: two })).toBe(same);
      }),
    );
  });
});

describe('targetIdentity', () => {
  const target = (url: string, method?: string) =>
    targetIdentity(asyncSettings({ target: { url, ...(method !== undefined && { method }) } }));

  it('compares URLs as parsed: scheme and host case and default ports do not count', () => {
    expect(target('HTTP://Hooks.Example.COM:80/in')).toBe(target('http://hooks.example.com/in'));
    expect(target('HTTPS://hooks.example.com:443/in')).toBe(target('https://hooks.example.com/in'));
    expect(target('http://hooks.example.com')).toBe(target('http://hooks.example.com/'));
    expect(target('https://hooks.example.com:80/in')).not.toBe(target('https://hooks.example.com/in'));
    expect(target('http://hooks.example.com:8080/in')).not.toBe(target('http://hooks.example.com/in'));
    expect(target('http://hooks.example.com/in')).not.toBe(target('https://hooks.example.com/in'));
    // The path and query are the target's own: their case and content count.
    expect(target('http://hooks.example.com/In')).not.toBe(target('http://hooks.example.com/in'));
    expect(target('http://hooks.example.com/in?a=1')).not.toBe(target('http://hooks.example.com/in'));
  });

  it('counts the method, POST when none is given', () => {
    expect(target('http://x.example.com/', 'POST')).toBe(target('http://x.example.com/'));
    expect(target('http://x.example.com/', 'PUT')).not.toBe(target('http://x.example.com/'));
    expect(target('http://x.example.com/')).toMatch(/^POST /);
  });

  it('does not depend on headers, auth, timeout or the events', () => {
    const plain = asyncSettings({ target: { url: 'http://x.example.com/' } });
    const dressed = syncSettings({
      events: { topics: ['other'] },
      target: {
        url: 'http://x.example.com/',
        headers: { 'X-A': '1' },
        timeoutMs: 100,
        auth: { basic: { username: 'u', password: 'p' } },
      },
    });
    expect(targetIdentity(plain)).toBe(targetIdentity(dressed));
  });

  it('takes a URL that does not parse as it is, without throwing', () => {
    expect(target('not a url')).toBe('POST not a url');
    expect(target('not a url')).not.toBe(target('Not a url'));
  });
});

describe('syncRoute', () => {
  it('is the method and path of a sync subscription, POST when no method is given', () => {
    expect(syncRoute(syncSettings({ sync: { path: '/sync/quote' } }))).toBe('POST /sync/quote');
    expect(syncRoute(syncSettings({ sync: { path: '/sync/quote', method: 'GET' } }))).toBe('GET /sync/quote');
  });

  it('is null for an async subscription, and for a sync one without a path', () => {
    expect(syncRoute(asyncSettings())).toBeNull();
    expect(syncRoute(asyncSettings({ sync: { path: '/sync/quote' } }))).toBeNull();
    expect(syncRoute(syncSettings({ sync: undefined }))).toBeNull();
  });
});

describe('resolveRetry', () => {
  const defaults = { maxAttempts: 10, maxAgeMs: 3_600_000, initialBackoffMs: 1_000, maxBackoffMs: 60_000 };

  it('fills in every default', () => {
    expect(resolveRetry(undefined)).toEqual(defaults);
    expect(resolveRetry({})).toEqual(defaults);
    expect(DEFAULTS.retry).toEqual(defaults);
  });

  it('keeps what is given, the age in milliseconds', () => {
    expect(resolveRetry({ maxAgeSeconds: 5 })).toEqual({ ...defaults, maxAgeMs: 5_000 });
    expect(resolveRetry({ maxAttempts: 1, maxAgeSeconds: 1, initialBackoffMs: 2, maxBackoffMs: 3 })).toEqual({
      maxAttempts: 1,
      maxAgeMs: 1_000,
      initialBackoffMs: 2,
      maxBackoffMs: 3,
    });
    expect(resolveRetry({ initialBackoffMs: 7 })).toEqual({ ...defaults, initialBackoffMs: 7 });
  });
});
