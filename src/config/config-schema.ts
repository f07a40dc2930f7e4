/**
 * JSON Schema of the gateway configuration. It is the single description of every key: the
 * loader validates against it (so an unknown key or a wrong type is reported by path) and
 * docs/configuration.md documents the same keys.
 */
const port = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const tlsFiles = {
  ca: { type: 'string', description: 'PEM file of trusted certificate authorities' },
  cert: { type: 'string', description: 'PEM certificate file' },
  key: { type: 'string', description: 'PEM private key file' },
} as const;

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kafka'],
  properties: {
    kafka: {
      type: 'object',
      additionalProperties: false,
      required: ['bootstrapServers'],
      properties: {
        bootstrapServers: {
          type: 'array',
          minItems: 1,
          items: { type: 'string', pattern: '^[^\\s:]+:[0-9]{1,5}$' },
        },
        connectTimeoutMs: { type: 'integer', minimum: 100, default: 10000 },
        metadataRefreshMs: { type: 'integer', minimum: 1000, default: 30000 },
        tls: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean', default: false },
            ...tlsFiles,
            servername: { type: 'string' },
            rejectUnauthorized: { type: 'boolean', default: true },
          },
          default: {},
        },
      },
    },
    listeners: {
      type: 'object',
      additionalProperties: false,
      properties: {
        bindHost: { type: 'string', default: '127.0.0.1' },
        advertisedHost: { type: 'string' },
        bootstrapPort: { ...port, default: 20472 },
        brokerPortBase: { ...port, default: 20473 },
        brokerPorts: {
          type: 'object',
          propertyNames: { pattern: '^[0-9]+$' },
          additionalProperties: port,
          default: {},
        },
        maxFrameBytes: { type: 'integer', minimum: 1024, maximum: 2147483647, default: 104857600 },
        tls: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean', default: false },
            ...tlsFiles,
            requestClientCert: { type: 'boolean', default: false },
          },
          default: {},
        },
      },
      default: {},
    },
    http: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { ...port, default: 5000 },
        adminToken: {
          type: 'string',
          minLength: 16,
          description: 'bearer token of the admin role, named "admin"',
        },
        tokens: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'token', 'role'],
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$' },
              token: { type: 'string', minLength: 16 },
              role: { enum: ['admin', 'read'] },
            },
          },
          default: [],
        },
        allowUnauthenticated: { type: 'boolean', default: false },
      },
      default: {},
    },
    asyncapi: {
      type: 'object',
      additionalProperties: false,
      properties: {
        specs: {
          type: 'array',
          items: {
            oneOf: [
              { type: 'string' },
              {
                type: 'object',
                additionalProperties: false,
                required: ['file'],
                properties: { id: { type: 'string' }, file: { type: 'string' } },
              },
            ],
          },
          default: [],
        },
        failWhenInvalid: { type: 'boolean', default: false },
        observe: { type: 'boolean', default: false },
        topicsWithoutSpec: { enum: ['pass', 'reject'], default: 'pass' },
        maxSpecBytes: { type: 'integer', minimum: 1024, default: 1048576 },
      },
      default: {},
    },
    pipeline: {
      type: 'object',
      additionalProperties: false,
      properties: {
        middlewares: {
          type: 'array',
          items: {
            oneOf: [
              { enum: ['validation'] },
              {
                type: 'object',
                additionalProperties: false,
                required: ['module'],
                properties: { module: { type: 'string' }, options: { type: 'object', default: {} } },
              },
              {
                type: 'object',
                additionalProperties: false,
                required: ['filter'],
                // Checked against filterSettingsSchema when the filter is built, so that an error
                // names its rule instead of "none of the allowed forms".
                properties: { filter: { type: 'object' } },
              },
            ],
          },
          default: ['validation'],
        },
        maxDecompressedBytes: { type: 'integer', minimum: 1024, default: 67108864 },
      },
      default: {},
    },
    ingest: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: true },
        requireApiKeys: { type: 'boolean', default: true },
        maxBodyBytes: { type: 'integer', minimum: 1024, default: 1048576 },
        maxRecordsPerRequest: { type: 'integer', minimum: 1, default: 1000 },
        producer: {
          type: 'object',
          additionalProperties: false,
          properties: {
            lingerMs: { type: 'integer', minimum: 0, maximum: 1000, default: 2 },
            maxBatchRecords: { type: 'integer', minimum: 1, default: 500 },
            compression: { enum: ['none', 'gzip', 'snappy', 'lz4', 'zstd'], default: 'none' },
            requestTimeoutMs: { type: 'integer', minimum: 100, default: 10000 },
            retries: { type: 'integer', minimum: 0, default: 5 },
            maxUnacknowledgedBytes: { type: 'integer', minimum: 1024, default: 67108864 },
          },
          default: {},
        },
        cloudEvents: {
          type: 'object',
          additionalProperties: false,
          properties: {
            routes: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['type', 'topic'],
                properties: {
                  type: { type: 'string', minLength: 1 },
                  topic: { type: 'string', minLength: 1, maxLength: 249 },
                },
              },
              default: [],
            },
          },
          default: {},
        },
        cors: {
          type: 'object',
          additionalProperties: false,
          properties: {
            origins: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
            methods: { type: 'array', items: { type: 'string', minLength: 1 }, default: ['POST'] },
            headers: {
              type: 'array',
              items: { type: 'string', minLength: 1 },
              default: ['content-type', 'authorization', 'x-api-key'],
            },
            maxAgeSeconds: { type: 'integer', minimum: 0, default: 600 },
          },
          default: {},
        },
      },
      default: {},
    },
    subscriptions: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: true },
        allowedTargets: { type: 'array', items: { type: 'string', minLength: 1 }, default: ['*'] },
        syncPathPrefix: { type: 'string', pattern: '^/[A-Za-z0-9._~-]+/$', default: '/sync/' },
        groupIdPrefix: { type: 'string', minLength: 1, default: 'event-gateway-sub-' },
        sessionTimeoutMs: { type: 'integer', minimum: 6000, default: 30000 },
        topicRefreshMs: { type: 'integer', minimum: 1000, default: 10000 },
        maxResponseBytes: { type: 'integer', minimum: 1024, default: 10485760 },
        secretsKey: { type: 'string', minLength: 1 },
        statusTimeoutMs: { type: 'integer', minimum: 100, default: 5000 },
      },
      default: {},
    },
    schemaRegistry: {
      type: 'object',
      additionalProperties: false,
      properties: {
        url: {
          type: 'string',
          pattern: '^https?://',
          description: "The registry's Confluent-compatible API base URL; for Apicurio its root URL will do",
        },
        vendor: { enum: ['confluent', 'apicurio'], default: 'confluent' },
        fromSpecs: { type: 'boolean', default: false },
        timeoutMs: { type: 'integer', minimum: 100, default: 2000 },
        cacheSize: { type: 'integer', minimum: 1, default: 10000 },
        refreshMs: { type: 'integer', minimum: 0, default: 30000 },
        unknownTtlMs: { type: 'integer', minimum: 0, default: 5000 },
        unavailable: { enum: ['reject', 'tag', 'pass'], default: 'reject' },
        compatibility: { enum: ['identical', 'readable'], default: 'identical' },
      },
      default: {},
    },
    discovery: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: false },
        topics: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
        samplesPerTopic: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
        maxTopics: { type: 'integer', minimum: 1, maximum: 100000, default: 100 },
        maxSampleBytes: { type: 'integer', minimum: 1, maximum: 16777216, default: 65536 },
      },
      default: {},
    },
    tap: {
      type: 'object',
      additionalProperties: false,
      properties: {
        topics: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
        token: { type: 'string', minLength: 16 },
        maxBufferedBytes: { type: 'integer', minimum: 1024, default: 1048576 },
        maxDroppedBeforeClose: { type: 'integer', minimum: 0, default: 10000 },
        groupIdPrefix: { type: 'string', minLength: 1, default: 'event-gateway-tap-' },
        topicRefreshMs: { type: 'integer', minimum: 1000, default: 10000 },
        maxReplayRecords: { type: 'integer', minimum: 0, default: 1000 },
        maxConcurrentReplays: { type: 'integer', minimum: 1, default: 4 },
        stuckAfterMs: { type: 'integer', minimum: 1000, default: 60000 },
      },
      default: {},
    },
    state: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: true },
        topic: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,249}$', default: '_event_gateway_state' },
        writeTimeoutMs: { type: 'integer', minimum: 100, default: 10000 },
        groupIdPrefix: { type: 'string', minLength: 1, default: 'event-gateway-state-' },
        keepRevisions: { type: 'integer', minimum: 1, maximum: 1000, default: 10 },
      },
      default: {},
    },
    readiness: {
      type: 'object',
      additionalProperties: false,
      properties: {
        brokerAnswerWithinMs: { type: 'integer', minimum: 1000, default: 10000 },
      },
      default: {},
    },
    tracing: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: false },
        otlpEndpoint: { type: 'string', pattern: '^https?://' },
        injectTraceparent: { type: 'boolean', default: false },
        serviceName: { type: 'string', minLength: 1, default: 'event-gateway' },
      },
      default: {},
    },
    throttle: {
      type: 'object',
      additionalProperties: false,
      properties: {
        quotas: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'kind'],
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' },
              kind: { enum: ['clientId', 'topic', 'clientAddress'] },
              match: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
              shared: { type: 'boolean', default: false },
              bytesPerSecond: { type: 'integer', minimum: 1 },
              burstBytes: { type: 'integer', minimum: 1 },
              recordsPerSecond: { type: 'integer', minimum: 1 },
              burstRecords: { type: 'integer', minimum: 1 },
              hardLimit: { type: 'boolean', default: false },
            },
          },
          default: [],
        },
        maxConnectionsPerAddress: { type: 'integer', minimum: 1 },
        maxThrottleMs: { type: 'integer', minimum: 0, default: 10000 },
        maxBuckets: { type: 'integer', minimum: 1, default: 10000 },
      },
      default: {},
    },
    logging: {
      type: 'object',
      additionalProperties: false,
      properties: {
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
      },
      default: {},
    },
    workers: {
      oneOf: [{ type: 'integer', minimum: 1, maximum: 1024 }, { const: 'auto' }],
      default: 1,
      description: "gateway processes sharing the ports; 'auto' is one per core (os.availableParallelism())",
    },
    shutdown: {
      type: 'object',
      additionalProperties: false,
      properties: {
        drainTimeoutMs: { type: 'integer', minimum: 0, default: 10000 },
      },
      default: {},
    },
  },
} as const;

/** Settings of the built-in filter middleware: `pipeline.middlewares: [{filter: {...}}]`. */
export const filterSettingsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['rules'],
  properties: {
    rules: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'pattern', 'action'],
        properties: {
          name: { type: 'string', minLength: 1 },
          topics: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          pattern: { type: 'object', description: 'an event pattern (docs/pipeline.md)' },
          action: { enum: ['reject', 'drop'] },
        },
      },
    },
    dropFallback: { enum: ['reject', 'pass'], default: 'reject' },
  },
} as const;
