import { execFileSync } from 'node:child_process';
import { loadConfig, resolveConfig } from '../../../src/config/load-config';
import { problemsOf as allProblems } from '../support/config-problems';

const KAFKA = { bootstrapServers: ['127.0.0.1:9092'] };
const TOKEN = 'a-token-of-sixteen-or-more';

/** Problems, or none when the configuration is accepted. */
const problemsOf = (action: () => unknown): string[] => allProblems(action, false);

describe('an HTTP API off loopback', () => {
  test.each(['0.0.0.0', '::', '10.1.2.3', 'gateway.internal'])(
    'on %s without an admin token is refused, saying how to set one',
    (host) => {
      const problems = problemsOf(() => resolveConfig({ kafka: KAFKA, http: { host } }));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^http\.host: .* no admin token/);
      expect(problems[0]).toContain('EVENT_GATEWAY_HTTP__ADMIN_TOKEN');
      expect(problems[0]).toContain('http.allowUnauthenticated');
    },
  );

  test.each(['127.0.0.1', '127.8.9.10', 'localhost', '::1', '[::1]'])(
    'on loopback (%s) needs no token',
    (host) => {
      expect(problemsOf(() => resolveConfig({ kafka: KAFKA, http: { host } }))).toEqual([]);
    },
  );

  test('is accepted with an admin token, a named admin token, or the explicit opt-out', () => {
    const http = { host: '0.0.0.0' };
    expect(problemsOf(() => resolveConfig({ kafka: KAFKA, http: { ...http, adminToken: TOKEN } }))).toEqual(
      [],
    );
    expect(
      problemsOf(() =>
        resolveConfig({
          kafka: KAFKA,
          http: { ...http, tokens: [{ name: 'ops', role: 'admin', token: TOKEN }] },
        }),
      ),
    ).toEqual([]);
    expect(
      problemsOf(() => resolveConfig({ kafka: KAFKA, http: { ...http, allowUnauthenticated: true } })),
    ).toEqual([]);
  });

  test('a read token alone is not an admin token', () => {
    const tokens = [{ name: 'grafana', role: 'read', token: TOKEN }];
    expect(problemsOf(() => resolveConfig({ kafka: KAFKA, http: { host: '0.0.0.0', tokens } }))).toHaveLength(
      1,
    );
  });

  test('token names and tokens are unique', () => {
    const tokens = [
      { name: 'ops', role: 'admin', token: TOKEN },
      { name: 'ops', role: 'read', token: `${TOKEN}-2` },
      { name: 'ci', role: 'read', token: TOKEN },
    ];
    const problems = problemsOf(() => resolveConfig({ kafka: KAFKA, http: { tokens } }));
    expect(problems).toEqual([
      "http.tokens: the name 'ops' is used twice",
      "http.tokens: 'ci' has the same token as another entry",
    ]);
  });
});

describe('a wildcard bind address', () => {
  test.each(['0.0.0.0', '::'])('%s without an advertised host is refused, naming the key', (bindHost) => {
    const problems = problemsOf(() => resolveConfig({ kafka: KAFKA, listeners: { bindHost } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^listeners\.advertisedHost: must be set/);
    expect(problems[0]).toContain('EVENT_GATEWAY_LISTENERS__ADVERTISED_HOST');
  });

  test('with an advertised host is accepted, and a wildcard advertised host is not', () => {
    expect(
      problemsOf(() =>
        resolveConfig({ kafka: KAFKA, listeners: { bindHost: '0.0.0.0', advertisedHost: 'gw' } }),
      ),
    ).toEqual([]);
    expect(
      problemsOf(() =>
        resolveConfig({ kafka: KAFKA, listeners: { bindHost: '0.0.0.0', advertisedHost: '0.0.0.0' } }),
      ),
    ).toHaveLength(1);
  });
});

describe('the Docker configuration', () => {
  const file = 'config/gateway.docker.yaml';

  test('refuses to start with neither a token nor an advertised host', () => {
    const problems = problemsOf(() => loadConfig(file, {}));
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['http.host', 'listeners.advertisedHost']);
  });

  test('takes its tokens and advertised host from the environment', () => {
    const config = loadConfig(file, {
      EVENT_GATEWAY_HTTP__ADMIN_TOKEN: TOKEN,
      EVENT_GATEWAY_TAP__TOKEN: `${TOKEN}-tap`,
      EVENT_GATEWAY_LISTENERS__ADVERTISED_HOST: 'gateway-1',
    });
    expect(config.http.adminToken).toBe(TOKEN);
    expect(config.tap.token).toBe(`${TOKEN}-tap`);
    expect(config.listeners.advertisedHost).toBe('gateway-1');
  });

  test("the image's entrypoint advertises the container's host name unless told otherwise", () => {
    const script = 'scripts/docker-entrypoint.sh';
    const run = (env: Record<string, string>) =>
      execFileSync(
        'sh',
        ['-c', `sed 's#^exec node .*#echo "$EVENT_GATEWAY_LISTENERS__ADVERTISED_HOST"#' ${script} | sh`],
        {
          env: { PATH: process.env.PATH ?? '', ...env },
        },
      )
        .toString()
        .trim();
    expect(run({})).toBe(execFileSync('hostname').toString().trim());
    expect(run({ EVENT_GATEWAY_LISTENERS__ADVERTISED_HOST: 'gw.example.com' })).toBe('gw.example.com');
  });
});

describe('the HTTP door without API keys', () => {
  const open = { requireApiKeys: false };

  test('off loopback is refused, naming the key and the opt-out', () => {
    const problems = problemsOf(() =>
      resolveConfig({ kafka: KAFKA, http: { host: '0.0.0.0', adminToken: TOKEN }, ingest: open }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^ingest\.requireApiKeys: false lets anyone who reaches 0\.0\.0\.0 publish/);
    expect(problems[0]).toContain('http.allowUnauthenticated');
  });

  test('is accepted on loopback, with the opt-out, with keys, or with the door closed', () => {
    expect(problemsOf(() => resolveConfig({ kafka: KAFKA, ingest: open }))).toEqual([]);
    const offLoopback = { host: '0.0.0.0', adminToken: TOKEN };
    expect(
      problemsOf(() =>
        resolveConfig({ kafka: KAFKA, http: { ...offLoopback, allowUnauthenticated: true }, ingest: open }),
      ),
    ).toEqual([]);
    expect(problemsOf(() => resolveConfig({ kafka: KAFKA, http: offLoopback }))).toEqual([]);
    expect(
      problemsOf(() =>
        resolveConfig({ kafka: KAFKA, http: offLoopback, ingest: { ...open, enabled: false } }),
      ),
    ).toEqual([]);
  });
});
