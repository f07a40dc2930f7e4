import { applyEnvironment, ConfigError, loadConfig, resolveConfig } from '../../../src/config/load-config';

const KAFKA = { bootstrapServers: ['b:9092'] };

function problemsOf(input: unknown): string[] {
  try {
    resolveConfig(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('throttle configuration', () => {
  it('defaults to no quotas and no connection limit', () => {
    expect(resolveConfig({ kafka: KAFKA }).throttle).toEqual({
      quotas: [],
      maxThrottleMs: 10000,
      maxBuckets: 10000,
    });
    expect(loadConfig('config/gateway.example.yaml', {}).throttle.quotas).toEqual([]);
  });

  it('fills the defaults of each quota', () => {
    const { throttle } = resolveConfig({
      kafka: KAFKA,
      throttle: { quotas: [{ name: 'q', kind: 'topic', bytesPerSecond: 10 }], maxConnectionsPerAddress: 3 },
    });
    expect(throttle.quotas).toEqual([
      { name: 'q', kind: 'topic', bytesPerSecond: 10, shared: false, hardLimit: false },
    ]);
    expect(throttle.maxConnectionsPerAddress).toBe(3);
  });

  it('names wrong keys and values by path', () => {
    expect(
      problemsOf({
        kafka: KAFKA,
        throttle: {
          quotas: [{ name: 'has space', kind: 'user', bytesPerSecond: 0, burst: 1 }],
          maxConnectionsPerAddress: 0,
        },
      }),
    ).toEqual(
      expect.arrayContaining([
        'throttle.quotas.0.burst: unknown key',
        'throttle.quotas.0.name: must match pattern "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"',
        'throttle.quotas.0.kind: must be one of clientId, topic, clientAddress',
        'throttle.quotas.0.bytesPerSecond: must be >= 1',
        'throttle.maxConnectionsPerAddress: must be >= 1',
      ]),
    );
  });

  it('can be set from the environment', () => {
    const config: Record<string, unknown> = { kafka: KAFKA };
    applyEnvironment(config, { EVENT_GATEWAY_THROTTLE__MAX_CONNECTIONS_PER_ADDRESS: '50' });
    expect(resolveConfig(config).throttle.maxConnectionsPerAddress).toBe(50);
  });
});
