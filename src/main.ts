import type { GatewayConfig } from './config/gateway-config';
import { HttpServer } from './http/http-server';
import { createLogger, type Logger } from './observability/logger';
import { fetchClusterMetadata } from './proxy/cluster-metadata';
import { Gateway } from './proxy/gateway';
import { createApiHandlers } from './proxy/handlers';

export interface RunningGateway {
  gateway: Gateway;
  http: HttpServer;
  logger: Logger;
  stop(): Promise<void>;
}

/** Wires the parts together and starts listening; used by the CLI and by tests. */
export async function startGateway(config: GatewayConfig, logger = createLogger(config.logging.level)): Promise<RunningGateway> {
  const gateway = new Gateway({
    config,
    logger,
    fetchMetadata: fetchClusterMetadata,
    handlers: (g) => createApiHandlers(g),
  });
  let started = false;
  const http = new HttpServer({
    host: config.http.host,
    port: config.http.port,
    logger,
    readiness: () => ({
      ready: started && gateway.directory.all().length > 0,
      checks: { brokers: `${gateway.directory.all().length} known`, listening: String(started) },
    }),
  });
  await http.listen();
  try {
    await gateway.start();
  } catch (error) {
    await http.close();
    throw error;
  }
  started = true;
  return {
    gateway,
    http,
    logger,
    async stop() {
      await gateway.stop();
      await http.close();
    },
  };
}

/** Runs until SIGTERM or SIGINT, then drains in-flight requests and exits. */
export async function startGatewayProcess(config: GatewayConfig): Promise<void> {
  const running = await startGateway(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.logger.info({ signal }, 'shutting down: draining in-flight requests');
    running.stop().then(
      () => {
        running.logger.info('stopped');
        process.exit(0);
      },
      (error: Error) => {
        running.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
