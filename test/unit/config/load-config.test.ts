import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, resolveConfig } from '../../../src/config/load-config';
import { problemsOf } from '../support/config-problems';

function configFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'eg-config-'));
  const file = path.join(dir, 'gateway.yaml');
  writeFileSync(file, text);
  return file;
}

describe('configuration', () => {
  it('loads the example configuration with every default filled in', () => {
    const config = loadConfig('config/gateway.example.yaml', {});
    expect(config.kafka.bootstrapServers).toEqual(['127.0.0.1:9092']);
    expect(config.listeners.bootstrapPort).toBe(20472);
    expect(config.listeners.brokerPortBase).toBe(20473);
    expect(config.http).toEqual({ host: '127.0.0.1', port: 5000, tokens: [], allowUnauthenticated: false });
    expect(config.shutdown.drainTimeoutMs).toBe(10000);
  });

  it('fills defaults for a minimal configuration', () => {
    const config = resolveConfig({ kafka: { bootstrapServers: ['b:9092'] } });
    expect(config.listeners.maxFrameBytes).toBe(104857600);
    expect(config.kafka.tls.enabled).toBe(false);
    expect(config.logging.level).toBe('info');
  });

  it('names every wrong key and value by path', () => {
    const problems = problemsOf(() =>
      resolveConfig({
        kafka: { bootstrapServers: ['no-port'], bogus: 1 },
        listeners: { bootstrapPort: 70000 },
        logging: { level: 'loud' },
        extra: true,
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        'extra: unknown key',
        'kafka.bogus: unknown key',
        'kafka.bootstrapServers.0: must be host:port',
        'listeners.bootstrapPort: must be <= 65535',
        'logging.level: must be one of fatal, error, warn, info, debug, trace, silent',
      ]),
    );
  });

  it('requires the broker addresses', () => {
    expect(problemsOf(() => resolveConfig({}))).toEqual(["(top level): must have required property 'kafka'"]);
  });

  it('applies EVENT_GATEWAY_* overrides with their YAML types', () => {
    const file = configFile('kafka:\n  bootstrapServers: [a:1]\n');
    const config = loadConfig(file, {
      EVENT_GATEWAY_KAFKA__BOOTSTRAP_SERVERS: '[x:9092, y:9093]',
      EVENT_GATEWAY_LISTENERS__ADVERTISED_HOST: 'gw.example.com',
      EVENT_GATEWAY_LISTENERS__BOOTSTRAP_PORT: '30000',
      UNRELATED: 'ignored',
    });
    expect(config.kafka.bootstrapServers).toEqual(['x:9092', 'y:9093']);
    expect(config.listeners.advertisedHost).toBe('gw.example.com');
    expect(config.listeners.bootstrapPort).toBe(30000);
  });

  it('reports an override of the wrong type like a file error', () => {
    const file = configFile('kafka:\n  bootstrapServers: [a:1]\n');
    expect(problemsOf(() => loadConfig(file, { EVENT_GATEWAY_HTTP__PORT: 'eighty' }))).toEqual([
      'http.port: must be integer',
    ]);
  });

  it('rejects unreadable files and malformed YAML clearly', () => {
    expect(problemsOf(() => loadConfig('/nonexistent/gateway.yaml', {}))[0]).toMatch(/cannot read the file/);
    expect(problemsOf(() => loadConfig(configFile('kafka: [unclosed'), {}))[0]).toMatch(/not valid YAML/);
  });

  it('rejects two listeners on one port and TLS without a certificate', () => {
    const problems = problemsOf(() =>
      resolveConfig({
        kafka: { bootstrapServers: ['a:1'] },
        listeners: { bootstrapPort: 20472, brokerPorts: { '1': 20472 }, tls: { enabled: true } },
      }),
    );
    expect(problems).toEqual([
      'listeners.brokerPorts.1: port 20472 is already used by listeners.bootstrapPort',
      'listeners.tls: enabled requires cert and key',
    ]);
  });
});
