/** The validated configuration, with every default applied. */
export interface TlsClientOptions {
  enabled: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  rejectUnauthorized: boolean;
}

export interface TlsServerOptions {
  enabled: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  requestClientCert: boolean;
}

export interface GatewayConfig {
  kafka: {
    bootstrapServers: string[];
    connectTimeoutMs: number;
    metadataRefreshMs: number;
    tls: TlsClientOptions;
  };
  listeners: {
    bindHost: string;
    /** Host name handed to clients; defaults to bindHost. */
    advertisedHost?: string;
    bootstrapPort: number;
    /** Port of broker N is brokerPortBase + N unless brokerPorts names it. */
    brokerPortBase: number;
    brokerPorts: Record<string, number>;
    maxFrameBytes: number;
    tls: TlsServerOptions;
  };
  http: { host: string; port: number; adminToken?: string };
  asyncapi: {
    /** Files loaded at start: a path (the id is its base name) or an explicit id and file. */
    specs: (string | { id?: string; file: string })[];
    failWhenInvalid: boolean;
    topicsWithoutSpec: 'pass' | 'reject';
    maxSpecBytes: number;
  };
  pipeline: {
    /** In order; 'validation' is the built-in AsyncAPI check, modules are loaded from their path. */
    middlewares: ('validation' | { module: string; options: Record<string, unknown> })[];
    maxDecompressedBytes: number;
  };
  tap: {
    /** Topics mirrored to WebSocket clients: names, or /regex/ patterns. Empty: no tap. */
    topics: string[];
    token?: string;
    maxBufferedBytes: number;
    maxDroppedBeforeClose: number;
    groupIdPrefix: string;
    topicRefreshMs: number;
  };
  tracing: {
    /** A span per produce request; W3C trace context read from (and optionally written to) records. */
    enabled: boolean;
    /** OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces; unset: the global provider. */
    otlpEndpoint?: string;
    injectTraceparent: boolean;
    serviceName: string;
  };
  logging: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  shutdown: { drainTimeoutMs: number };
}
