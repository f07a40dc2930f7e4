/**
 * A gateway whose WebSocket tap mirrors the given topics, for the tap's integration tests: the
 * configuration the tests vary (topics, refresh interval, replay bound) and helpers to watch it.
 */
import { resolveConfig } from '../../../src/config/load-config';
import type { GatewayConfig } from '../../../src/config/gateway-config';
import type { TapRecord } from '../../../src/http/tap/tap-record';
import { startGateway, type RunningGateway } from '../../../src/main';
import { createLogger } from '../../../src/observability/logger';
import { CapturedLogs } from '../../support/captured-logs';
import { BOOTSTRAP } from './kafka-harness';
import { TapClient } from './ws-client';
import { isolatedState } from './isolated-state';

const HOST = '127.0.0.1';

export interface TapGatewayOptions {
  /** The gateway's bootstrap port; HTTP listens at bootstrapPort + 90. */
  bootstrapPort: number;
  tap: Partial<GatewayConfig['tap']> & { topics: string[] };
  bootstrapServers?: string;
}

export interface TapGateway {
  running: RunningGateway;
  logs: CapturedLogs;
  /** host:port of the Kafka listener. */
  bootstrap: string;
  /** host:port of the HTTP server (and the tap). */
  httpAddress: string;
  connect(query?: Record<string, string | readonly string[]>): Promise<TapClient>;
  stop(): Promise<void>;
}

export async function startTapGateway(options: TapGatewayOptions): Promise<TapGateway> {
  const servers = (options.bootstrapServers ?? BOOTSTRAP).split(',').map((s) => s.trim());
  const config = resolveConfig(
    {
      kafka: { bootstrapServers: servers },
      listeners: {
        bindHost: HOST,
        bootstrapPort: options.bootstrapPort,
        brokerPortBase: options.bootstrapPort,
      },
      http: { host: HOST, port: options.bootstrapPort + 90 },
      tap: options.tap,
      state: isolatedState(),
      logging: { level: 'info' },
      shutdown: { drainTimeoutMs: 2_000 },
    },
    'tap test gateway',
  );
  const logs = new CapturedLogs();
  const running = await startGateway(config, createLogger(config.logging.level, logs));
  const httpAddress = `${HOST}:${options.bootstrapPort + 90}`;
  const clients: TapClient[] = [];
  let stopped: Promise<void> | null = null;
  return {
    running,
    logs,
    bootstrap: `${HOST}:${options.bootstrapPort}`,
    httpAddress,
    async connect(query = {}) {
      const client = await TapClient.connect(httpAddress, query);
      clients.push(client);
      return client;
    },
    stop() {
      stopped ??= (async () => {
        await Promise.all(clients.map((c) => c.close()));
        await running.stop();
      })();
      return stopped;
    },
  };
}

/** `topic/partition/offset` of each record, to compare what a client saw with what was expected. */
export const position = (record: TapRecord): string => `${record.topic}/${record.partition}/${record.offset}`;

/** The keys a client received, in arrival order. */
export const keysOf = (received: { record: TapRecord }[]): (string | null)[] =>
  received.map((r) => r.record.key);

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
