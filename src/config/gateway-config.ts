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
  http: { host: string; port: number };
  logging: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  shutdown: { drainTimeoutMs: number };
}
