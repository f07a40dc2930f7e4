/**
 * Runs the gateway in the test process, in front of a real broker or cluster, so integration tests
 * can drive it with real clients and still look inside: its log lines, its open connections, and
 * a stop() that behaves exactly like the shutdown path of the CLI.
 *
 * Every test file picks its own port range (bootstrap P, broker N at P + N, HTTP at P + 90), so
 * files never collide when run one after another with a port still in TIME_WAIT, and a gateway a
 * crashed run left behind shows up as "address in use" instead of as a test talking to it.
 */
import * as net from 'node:net';
import { resolveConfig } from '../../../src/config/load-config';
import type { GatewayConfig } from '../../../src/config/gateway-config';
import { startGateway, type RunningGateway } from '../../../src/main';
import { createLogger } from '../../../src/observability/logger';
import {
  createRequestHeaderData,
  decodeResponseHeaderData,
  encodeRequestHeaderData,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../../src/protocol/messages';
import { Reader, Writer } from '../../../src/protocol/primitives';
import { FrameReader } from '../../../src/proxy/frame-reader';
import { CapturedLogs } from '../../support/captured-logs';
import { BOOTSTRAP } from './kafka-harness';
import { isolatedState } from './isolated-state';

export type LogLevel = GatewayConfig['logging']['level'];

export { CapturedLogs, LEVEL, type LogLine } from '../../support/captured-logs';

export interface TestGatewayOptions {
  /** Where the real cluster is; the single test broker unless given. */
  bootstrapServers?: string | readonly string[];
  /** The gateway's bootstrap port; broker N gets bootstrapPort + N. */
  bootstrapPort: number;
  /** Defaults to bootstrapPort + 90. */
  httpPort?: number;
  /** Capture at this level ('debug' shows why each connection closed); 'silent' writes nothing. */
  logLevel?: LogLevel;
  maxFrameBytes?: number;
  drainTimeoutMs?: number;
  metadataRefreshMs?: number;
}

export interface TestGateway {
  /** host:port of the gateway's bootstrap listener, as a client's bootstrap.servers. */
  bootstrap: string;
  bootstrapPort: number;
  config: GatewayConfig;
  running: RunningGateway;
  logs: CapturedLogs;
  /** The gateway address standing for broker `nodeId`. */
  brokerAddress(nodeId: number): string;
  /** True if `host:port` is one of this gateway's listeners (bootstrap or a broker). */
  isGatewayAddress(address: string): boolean;
  /** Idempotent, so an afterAll can always call it even after a test stopped the gateway. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

export async function startTestGateway(options: TestGatewayOptions): Promise<TestGateway> {
  const servers = options.bootstrapServers ?? BOOTSTRAP;
  const bootstrapServers =
    typeof servers === 'string' ? servers.split(',').map((s) => s.trim()) : [...servers];
  const config = resolveConfig(
    {
      kafka: {
        bootstrapServers,
        ...(options.metadataRefreshMs !== undefined && { metadataRefreshMs: options.metadataRefreshMs }),
      },
      listeners: {
        bindHost: HOST,
        bootstrapPort: options.bootstrapPort,
        brokerPortBase: options.bootstrapPort,
        ...(options.maxFrameBytes !== undefined && { maxFrameBytes: options.maxFrameBytes }),
      },
      http: { host: HOST, port: options.httpPort ?? options.bootstrapPort + 90 },
      state: isolatedState(),
      logging: { level: options.logLevel ?? 'silent' },
      shutdown: { drainTimeoutMs: options.drainTimeoutMs ?? 10_000 },
    },
    'test gateway',
  );
  const logs = new CapturedLogs();
  const running = await startGateway(config, createLogger(config.logging.level, logs));
  let stopped: Promise<void> | null = null;
  const gateway: TestGateway = {
    bootstrap: `${HOST}:${options.bootstrapPort}`,
    bootstrapPort: options.bootstrapPort,
    config,
    running,
    logs,
    brokerAddress: (nodeId) => `${HOST}:${running.gateway.gatewayPortFor(nodeId)}`,
    isGatewayAddress(address) {
      const at = address.lastIndexOf(':');
      if (address.slice(0, at) !== HOST) return false;
      return Object.values(running.gateway.listeningPorts()).includes(Number(address.slice(at + 1)));
    },
    stop() {
      stopped ??= running.stop();
      return stopped;
    },
  };
  return gateway;
}

interface PendingResponse {
  apiKey: number;
  version: number;
  correlationId: number;
  resolve: (body: Reader) => void;
  reject: (error: Error) => void;
}

/**
 * One client connection speaking the wire protocol by hand, for what real clients hide: several
 * requests on the very same connection (an acks=0 produce followed by a request that must still
 * be answered), a request that stays in flight (a long-polling fetch) while the gateway stops,
 * and whether the other side closed the connection.
 */
export class RawKafkaConnection {
  /** Responses that arrived when no request was waiting for one: always a bug on the other side. */
  readonly unexpected: Buffer[] = [];
  /** Resolves once the socket is fully closed, whoever closed it. */
  readonly closed: Promise<void>;
  private readonly pending: PendingResponse[] = [];
  private readonly frames = new FrameReader(0x7fffffff);
  private nextCorrelationId = 1;
  private isClosed = false;

  private constructor(
    readonly socket: net.Socket,
    private readonly clientId: string,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.frames.push(chunk)) this.onResponse(frame);
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.isClosed = true;
      for (const waiting of this.pending.splice(0)) {
        waiting.reject(
          new Error(
            `connection closed before the response to api ${waiting.apiKey} (correlation id ${waiting.correlationId})`,
          ),
        );
      }
    });
  }

  static connect(address: string, clientId = 'raw-test-client'): Promise<RawKafkaConnection> {
    const at = address.lastIndexOf(':');
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: address.slice(0, at), port: Number(address.slice(at + 1)) });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawKafkaConnection(socket, clientId));
      });
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /**
   * Sends one request. With `expectResponse` (the default) resolves with a reader positioned at
   * the response body; without it (acks=0 produce) resolves with null once the bytes are written.
   */
  request(
    apiKey: number,
    version: number,
    writeBody: (writer: Writer) => void,
    expectResponse = true,
  ): Promise<Reader | null> {
    const headerVersion = requestHeaderVersion(apiKey, version);
    if (headerVersion === undefined) throw new Error(`api ${apiKey} v${version} is unknown`);
    const correlationId = this.nextCorrelationId++;
    const writer = new Writer();
    const sizeAt = writer.reserveInt32();
    encodeRequestHeaderData(
      writer,
      {
        ...createRequestHeaderData(),
        requestApiKey: apiKey,
        requestApiVersion: version,
        correlationId,
        clientId: this.clientId,
      },
      headerVersion,
    );
    writeBody(writer);
    writer.setInt32(sizeAt, writer.offset - 4);
    const frame = Buffer.from(writer.result());
    if (!expectResponse) {
      return new Promise((resolve, reject) =>
        this.socket.write(frame, (error) => (error ? reject(error) : resolve(null))),
      );
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ apiKey, version, correlationId, resolve, reject });
      this.socket.write(frame);
    });
  }

  /** Closes our side and waits until the connection is gone. */
  async close(): Promise<void> {
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 2_000);
    await this.closed;
    clearTimeout(timer);
  }

  private onResponse(frame: Buffer): void {
    const waiting = this.pending.shift();
    if (waiting === undefined) {
      this.unexpected.push(frame);
      return;
    }
    try {
      const reader = new Reader(frame);
      const header = decodeResponseHeaderData(
        reader,
        responseHeaderVersion(waiting.apiKey, waiting.version)!,
      );
      if (header.correlationId !== waiting.correlationId) {
        throw new Error(
          `response correlation id ${header.correlationId}, expected ${waiting.correlationId} (api ${waiting.apiKey})`,
        );
      }
      waiting.resolve(reader);
    } catch (error) {
      waiting.reject(error as Error);
    }
  }
}

/** Resolves true if `socket` closes within `timeoutMs`, false if it is still open then. */
export function closesWithin(socket: net.Socket, timeoutMs: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
