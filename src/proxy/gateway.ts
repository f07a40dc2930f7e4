import { readFileSync } from 'node:fs';
import net, { type Server, type Socket } from 'node:net';
import tls from 'node:tls';
import type { GatewayConfig } from '../config/gateway-config';
import type { Logger } from '../observability/logger';
import { RateLimitedLog } from '../observability/rate-limited-log';
import type { ApiHandlers } from './api-handler';
import { BrokerDirectory, type BrokerEndpoint } from './broker-directory';
import { AuthenticationRequiredError } from './cluster-metadata';
import type { AddressBook } from './handlers/address-book';
import type { ConnectionObserver } from '../observability/connection-observer';
import { ProxyConnection, type FrameTap } from './proxy-connection';
import { adoptForRecycledReads, type AcceptedClient } from './accepted-socket';
import { RecycledReads } from './recycled-reads';
import { createClientServer } from './sockets';
import { UpstreamConnector } from './upstream-connector';

/** Asks the cluster which brokers it has (and which topic ids it knows), through one of `candidates`. */
export type ClusterMetadataFetcher = (
  candidates: readonly BrokerEndpoint[],
  connector: UpstreamConnector,
) => Promise<{ brokers: BrokerEndpoint[]; topics: { id: string; name: string }[] }>;

export interface GatewayParts {
  config: GatewayConfig;
  logger: Logger;
  fetchMetadata: ClusterMetadataFetcher;
  /** Builds the per-API handlers; they need the gateway to register brokers they discover. */
  handlers: (gateway: Gateway) => ApiHandlers;
  frameTap?: FrameTap;
  connectionObserver?: ConnectionObserver;
  /** Per-address connection limits; every client connection must pass it before anything else. */
  connectionGate?: ConnectionGate;
}

/** Admits client connections by address (it reports refusals itself) and is told when admitted ones close. */
export interface ConnectionGate {
  open(address: string): boolean;
  closed(address: string): void;
}

const BOOTSTRAP = 'bootstrap';

/**
 * The listening side of the proxy: a bootstrap listener plus one listener per broker, each client
 * connection paired with its own broker connection. Broker listeners open as brokers appear in
 * metadata, before any response naming them reaches a client.
 */
export class Gateway implements AddressBook {
  readonly directory: BrokerDirectory;
  readonly advertisedHost: string;
  private readonly config: GatewayConfig;
  private readonly logger: Logger;
  private readonly connector: UpstreamConnector;
  private readonly handlers: ApiHandlers;
  private readonly servers = new Map<string, Server>();
  private readonly opening = new Map<number, Promise<void>>();
  private readonly connections = new Set<ProxyConnection>();
  private readonly bootstrapServers: BrokerEndpoint[];
  private readonly serverTls: tls.TlsOptions | null;
  private nextConnectionId = 1;
  private bootstrapCursor = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  private probing = false;
  /** When a broker last answered the gateway's own metadata request (ms since the epoch; 0: never). */
  brokerAnsweredAt = 0;
  private readonly warnings: RateLimitedLog;
  private stopping = false;

  constructor(private readonly parts: GatewayParts) {
    this.config = parts.config;
    this.logger = parts.logger;
    this.directory = new BrokerDirectory(parts.config.listeners);
    this.advertisedHost = parts.config.listeners.advertisedHost ?? parts.config.listeners.bindHost;
    this.connector = new UpstreamConnector(parts.config.kafka);
    this.warnings = new RateLimitedLog(parts.logger);
    this.bootstrapServers = parts.config.kafka.bootstrapServers.map((server, index) => {
      const at = server.lastIndexOf(':');
      return { nodeId: -1 - index, host: server.slice(0, at), port: Number(server.slice(at + 1)) };
    });
    const t = parts.config.listeners.tls;
    this.serverTls = t.enabled
      ? {
          cert: readFileSync(t.cert!),
          key: readFileSync(t.key!),
          ca: t.ca ? readFileSync(t.ca) : undefined,
          requestCert: t.requestClientCert,
          rejectUnauthorized: t.requestClientCert,
        }
      : null;
    this.handlers = parts.handlers(this);
  }

  /** Learns the cluster, then opens the bootstrap listener and one listener per known broker. */
  async start(): Promise<void> {
    try {
      await this.refreshMetadata();
    } catch (error) {
      if (!(error instanceof AuthenticationRequiredError)) throw error;
      // SASL on every listener: the gateway has no credentials to ask with, but every metadata
      // response its authenticated clients get registers the brokers, so it can still serve
      // them. Its own requests still tell whether a broker answers at all.
      this.logger.warn(
        { err: error.message },
        'the cluster requires authentication: brokers are learned from the metadata clients fetch',
      );
    }
    await this.listen(BOOTSTRAP, this.config.listeners.bootstrapPort);
    this.startRefreshing();
    this.logger.info(
      {
        bootstrap: `${this.advertisedHost}:${this.config.listeners.bootstrapPort}`,
        brokers: this.directory
          .all()
          .map((b) => `${b.nodeId}=${b.host}:${b.port}->${this.directory.gatewayPortFor(b.nodeId)}`),
      },
      'gateway listening',
    );
  }

  async refreshMetadata(): Promise<void> {
    const candidates = [...this.directory.all(), ...this.bootstrapServers];
    let metadata;
    try {
      metadata = await this.parts.fetchMetadata(candidates, this.connector);
    } catch (error) {
      // Refusing an unauthenticated request is still an answer: the broker is up.
      if (error instanceof AuthenticationRequiredError) this.brokerAnsweredAt = Date.now();
      throw error;
    }
    this.brokerAnsweredAt = Date.now();
    for (const topic of metadata.topics) this.directory.rememberTopic(topic.id, topic.name);
    await this.registerBrokers(metadata.brokers);
  }

  /**
   * One metadata request whenever the last answer is older than the refresh interval, or older
   * than half the readiness limit: readiness must say whether a broker answers now, not whether
   * one was ever known.
   */
  private startRefreshing(): void {
    const within = this.config.readiness.brokerAnswerWithinMs;
    const every = Math.min(this.config.kafka.metadataRefreshMs, within / 2);
    this.refreshTimer = setInterval(() => {
      if (this.probing || Date.now() - this.brokerAnsweredAt < every) return;
      this.probing = true;
      this.refreshMetadata()
        .catch((error: Error) => {
          if (!(error instanceof AuthenticationRequiredError)) {
            this.warnings.warn(
              'broker-probe',
              { err: error.message },
              'no broker answered a metadata request',
            );
          }
        })
        .finally(() => {
          this.probing = false;
        });
    }, every / 2);
    this.refreshTimer.unref();
  }

  gatewayPortFor(nodeId: number): number {
    return this.directory.gatewayPortFor(nodeId);
  }

  rememberTopic(topicId: string, name: string): void {
    this.directory.rememberTopic(topicId, name);
  }

  topicName(topicId: string): string | undefined {
    return this.directory.topicName(topicId);
  }

  /** Records brokers seen in a response and resolves once each has a listening port. */
  registerBrokers(endpoints: BrokerEndpoint[]): Promise<void> | undefined {
    const added = this.directory.update(endpoints);
    if (added.length === 0) return undefined;
    return Promise.all(added.map((nodeId) => this.ensureBrokerListener(nodeId))).then(() => undefined);
  }

  private ensureBrokerListener(nodeId: number): Promise<void> {
    let opening = this.opening.get(nodeId);
    if (opening === undefined) {
      opening = this.listen(`broker-${nodeId}`, this.directory.gatewayPortFor(nodeId), nodeId);
      this.opening.set(nodeId, opening);
    }
    return opening;
  }

  /** Ports the gateway listens on, by listener name (for tests and logs). */
  listeningPorts(): Record<string, number> {
    const ports: Record<string, number> = {};
    for (const [name, server] of this.servers) ports[name] = (server.address() as net.AddressInfo).port;
    return ports;
  }

  private listen(name: string, port: number, nodeId?: number): Promise<void> {
    // Client reads are recycled only where both sides are plain TCP: a TLS socket keeps written
    // bytes in its own buffers past the point where the memory would be used again.
    const recycle = this.serverTls === null && !this.config.kafka.tls.enabled;
    const onSocket = (socket: Socket) =>
      this.accept(recycle ? adoptForRecycledReads(socket) : { socket, reads: undefined }, name, nodeId);
    const server = createClientServer(this.serverTls, onSocket);
    server.on('error', (error) =>
      this.logger.error({ listener: name, err: error.message }, 'listener error'),
    );
    return new Promise((resolve, reject) => {
      server.once('error', (error: Error) =>
        reject(
          new Error(
            `cannot listen on ${this.config.listeners.bindHost}:${port} for ${name}: ${error.message}`,
          ),
        ),
      );
      server.listen({ host: this.config.listeners.bindHost, port }, () => {
        this.servers.set(name, server);
        resolve();
      });
    });
  }

  private accept(accepted: AcceptedClient, listener: string, nodeId: number | undefined): void {
    const client = accepted.socket;
    if (this.stopping) {
      client.destroy();
      return;
    }
    const gate = this.parts.connectionGate;
    if (gate !== undefined) {
      // Read once: a socket that is already gone reports no address, and both calls must agree.
      const address = client.remoteAddress ?? '';
      if (!gate.open(address)) {
        client.destroy();
        return;
      }
      client.once('close', () => gate.closed(address));
    }
    client.pause();
    client.on('error', () => undefined);
    const candidates = nodeId === undefined ? this.bootstrapCandidates() : [this.directory.broker(nodeId)!];
    const reads = this.config.kafka.tls.enabled ? undefined : new RecycledReads();
    this.connectUpstream(candidates, 0, reads)
      .then((upstream) => {
        if (client.destroyed || this.stopping) {
          upstream.destroy();
          client.destroy();
          return;
        }
        const connection = new ProxyConnection(client, upstream, {
          id: this.nextConnectionId++,
          listener,
          maxFrameBytes: this.config.listeners.maxFrameBytes,
          handlers: this.handlers,
          upstreamReads: reads,
          clientReads: accepted.reads,
          frameTap: this.parts.frameTap,
          observer: this.parts.connectionObserver,
          logger: this.logger,
          warnings: this.warnings,
          onClose: (closed) => this.connections.delete(closed),
        });
        this.connections.add(connection);
        client.resume();
      })
      .catch((error: Error) => {
        this.warnings.warn(
          `no-broker:${listener}`,
          { listener, client: `${client.remoteAddress}:${client.remotePort}`, err: error.message },
          'no broker reachable for client',
        );
        client.destroy();
      });
  }

  /** Known brokers first, starting at a rotating position so bootstrap clients spread out. */
  private bootstrapCandidates(): BrokerEndpoint[] {
    const known = this.directory.all();
    const list = known.length > 0 ? known : this.bootstrapServers;
    const start = this.bootstrapCursor++ % list.length;
    return [
      ...list.slice(start),
      ...list.slice(0, start),
      ...(known.length > 0 ? this.bootstrapServers : []),
    ];
  }

  private connectUpstream(
    candidates: BrokerEndpoint[],
    index: number,
    reads: RecycledReads | undefined,
  ): Promise<Socket> {
    const target = candidates[index];
    return new Promise<Socket>((resolve, reject) => {
      const socket = this.connector.connect(target.host, target.port, reads);
      const onError = (error: Error) => reject(error);
      socket.once('error', onError);
      socket.once(this.config.kafka.tls.enabled ? 'secureConnect' : 'connect', () => {
        socket.off('error', onError);
        resolve(socket);
      });
    }).catch((error: Error) => {
      if (index + 1 < candidates.length) return this.connectUpstream(candidates, index + 1, reads);
      throw new Error(`${target.host}:${target.port}: ${error.message}`);
    });
  }

  /** Stops accepting, lets in-flight requests finish (bounded by the drain timeout), then closes. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    const closed = [...this.servers.values()].map(
      (server) => new Promise<void>((resolve) => server.close(() => resolve())),
    );
    const drained = Promise.all([...this.connections].map((connection) => connection.drain()));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.config.shutdown.drainTimeoutMs);
    });
    await Promise.race([drained, timeout]);
    clearTimeout(timer);
    for (const connection of this.connections) connection.close('gateway shutting down');
    await Promise.all(closed);
  }
}
