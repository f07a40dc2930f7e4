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

/** A produce quota: a rate (bytes, records or both per second) per client id, topic or client address. */
export interface ThrottleQuota {
  /** Unique; the `quota` label of the throttle metrics. */
  name: string;
  kind: 'clientId' | 'topic' | 'clientAddress';
  /** Entities it covers: names or /regex/ (client ids, topics), IPs or CIDR blocks (addresses). Unset: all. */
  match?: string[];
  /** One bucket for every entity it covers, instead of one each. */
  shared: boolean;
  bytesPerSecond?: number;
  /** Bytes a producer may send at once after being idle; defaults to one second's worth. */
  burstBytes?: number;
  recordsPerSecond?: number;
  burstRecords?: number;
  /** Refuse with THROTTLING_QUOTA_EXCEEDED while over the quota, instead of throttling. */
  hardLimit: boolean;
}

export interface ThrottleConfig {
  /** Within a kind the first quota that matches applies; quotas of different kinds all apply. */
  quotas: ThrottleQuota[];
  /** Open connections allowed per client IP address; unset: no limit. */
  maxConnectionsPerAddress?: number;
  /** Longest throttle time given at once (a producer further over its quota is throttled again). */
  maxThrottleMs: number;
  /** Buckets kept per quota; the least recently used go first. */
  maxBuckets: number;
}

/** One rule of the built-in filter: records of its topics matching its pattern are refused or dropped. */
export interface FilterRule {
  /** Unique within the filter; named in refusals. */
  name: string;
  /** Topic names or /regex/; unset: every topic. */
  topics?: string[];
  /** An EventBridge-style event pattern over the record's value, key and headers. */
  pattern: Record<string, unknown>;
  action: 'reject' | 'drop';
}

export interface FilterSettings {
  /** Tried in order; the first rule whose pattern matches decides. */
  rules: FilterRule[];
  /** What `drop` does to records of idempotent or transactional batches, which cannot lose records. */
  dropFallback: 'reject' | 'pass';
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
  http: {
    host: string;
    port: number;
    /** An admin token named "admin"; kept beside `tokens` for the one-token setups. */
    adminToken?: string;
    /** Named tokens: the name is what logs and stored state record, never the token. */
    tokens: { name: string; token: string; role: 'admin' | 'read' }[];
    /** Serve the API off loopback with no admin token; logged as a warning at every start. */
    allowUnauthenticated: boolean;
  };
  /** What users change at run time (specs, quotas), kept in a compacted topic every instance follows. */
  state: {
    /** false: kept in memory only, neither durable nor shared (for clusters the gateway cannot write to). */
    enabled: boolean;
    topic: string;
    /** A change answers 503 when Kafka has not acknowledged it (acks=all) and it is not applied within this. */
    writeTimeoutMs: number;
    groupIdPrefix: string;
    /** Past revisions of each spec kept for GET /specs/{id}/revisions. */
    keepRevisions: number;
  };
  readiness: {
    /** /readyz fails when no broker answered a metadata request for this long. */
    brokerAnswerWithinMs: number;
  };
  asyncapi: {
    /** Files loaded at start: a path (the id is its base name) or an explicit id and file. */
    specs: (string | { id?: string; file: string })[];
    failWhenInvalid: boolean;
    /** Default for channels that do not say (x-eg-observe): invalid records counted and logged, written as sent. */
    observe: boolean;
    topicsWithoutSpec: 'pass' | 'reject';
    maxSpecBytes: number;
  };
  pipeline: {
    /**
     * In order; 'validation' is the built-in AsyncAPI check, `filter` the built-in pattern filter
     * (its settings are checked when it is built), modules are loaded from their path.
     */
    middlewares: (
      'validation' | { module: string; options: Record<string, unknown> } | { filter: FilterSettings }
    )[];
    maxDecompressedBytes: number;
  };
  /** The HTTP door: REST and CloudEvents publishers writing to Kafka through the pipeline. */
  ingest: {
    enabled: boolean;
    /** Publishing needs an API key (stored state, /api-keys); false is refused off loopback unless http.allowUnauthenticated. */
    requireApiKeys: boolean;
    maxBodyBytes: number;
    /** Records (or CloudEvents) in one request, streaming and batches included. */
    maxRecordsPerRequest: number;
    producer: {
      /** Requests arriving within this many ms share one produce request (kafkajs has no linger of its own). */
      lingerMs: number;
      maxBatchRecords: number;
      compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
      requestTimeoutMs: number;
      retries: number;
      /** Bytes of records waiting for Kafka's acknowledgement; beyond it publishing answers 503 at once. */
      maxUnacknowledgedBytes: number;
    };
    cloudEvents: {
      /** CloudEvents type → topic, tried before the contracts; `*` at the end matches any rest. */
      routes: { type: string; topic: string }[];
    };
    /** Browsers may publish from these origins (`*` for any); empty: no CORS headers. */
    cors: { origins: string[]; methods: string[]; headers: string[]; maxAgeSeconds: number };
  };
  /** Events delivered from Kafka to HTTP targets (stored state, /subscriptions). */
  subscriptions: {
    enabled: boolean;
    /** Targets a subscription may name: `*`, host names (`*.example.com`), IPs or CIDR blocks; link-local and metadata addresses only when listed. */
    allowedTargets: string[];
    /** Sync subscriptions answer on paths under this prefix, so they can never shadow the gateway's own routes. */
    syncPathPrefix: string;
    groupIdPrefix: string;
    /** How soon another instance takes over the deliveries of one that died. */
    sessionTimeoutMs: number;
    /** How often subscriptions look for topics that appeared (regex entries, topics created later). */
    topicRefreshMs: number;
    /** The largest answer read from a target. */
    maxResponseBytes: number;
    /** 32 bytes, base64: target secrets are stored encrypted with it (AES-256-GCM); unset: stored as sent. */
    secretsKey?: string;
    /** How long GET /subscriptions/{id}/status waits for Kafka. */
    statusTimeoutMs: number;
  };
  /** Schema discovery: samples of topics no contract describes, and drafts inferred from them. */
  /**
   * The schema registry the schema ids in Avro and Protobuf records are resolved against. Without
   * `url` (and without `fromSpecs`), ids are not resolved: records are checked by decoding them.
   */
  schemaRegistry: {
    url?: string;
    vendor: 'confluent' | 'apicurio';
    /** Use the registry a spec's Kafka server binding names (`schemaRegistryUrl`) when `url` is not set. */
    fromSpecs: boolean;
    timeoutMs: number;
    cacheSize: number;
    /** Age after which a found schema is fetched again in the background (it is served meanwhile). */
    refreshMs: number;
    /** How long "unknown id" is believed before the registry is asked again. */
    unknownTtlMs: number;
    /** Records whose id could not be resolved because the registry is down. */
    unavailable: 'reject' | 'tag' | 'pass';
    /** `readable`: a registered Avro schema the contract's can read (Avro resolution rules) is accepted too. */
    compatibility: 'identical' | 'readable';
  };
  discovery: {
    enabled: boolean;
    /** Topics sampled: names, or /regex/ patterns. Empty: every topic no contract describes. */
    topics: string[];
    /** Records kept per topic (a uniform sample of everything produced to it). */
    samplesPerTopic: number;
    /** Topics sampled at once; a new one pushes out the one least recently produced to. */
    maxTopics: number;
    /** Records larger than this (key, value and headers) are not sampled. */
    maxSampleBytes: number;
  };
  tap: {
    /** Topics mirrored to WebSocket clients: names, or /regex/ patterns. Empty: no tap. */
    topics: string[];
    token?: string;
    maxBufferedBytes: number;
    maxDroppedBeforeClose: number;
    groupIdPrefix: string;
    topicRefreshMs: number;
    /** `?from=` replays at most this many records per partition before live ones; 0: no history. */
    maxReplayRecords: number;
    /** `?from=` replays running at once; one more is refused (503) until one ends. */
    maxConcurrentReplays: number;
    /** A tap consumer that completed no fetch for this long is restarted. */
    stuckAfterMs: number;
  };
  tracing: {
    /** A span per produce request; W3C trace context read from (and optionally written to) records. */
    enabled: boolean;
    /** OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces; unset: the global provider. */
    otlpEndpoint?: string;
    injectTraceparent: boolean;
    serviceName: string;
  };
  /** Produce quotas and connection limits; replaceable at run time (PUT /throttle). */
  throttle: ThrottleConfig;
  logging: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  shutdown: { drainTimeoutMs: number };
  /**
   * Gateway processes serving the same ports (node:cluster), or 'auto' for one per core. 1 runs
   * the gateway in this process with no cluster at all.
   */
  workers: number | 'auto';
}
