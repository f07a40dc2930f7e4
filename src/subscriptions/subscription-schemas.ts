import { SUBSCRIPTION_ID_PATTERN } from './subscription';

/** JSON Schemas of the subscription routes: Ajv checks requests with them, the OpenAPI document shows them. */

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const text = (maxLength: number, description?: string) =>
  ({ type: 'string', minLength: 1, maxLength, ...(description !== undefined && { description }) }) as const;

const events = {
  type: 'object',
  required: ['topics'],
  additionalProperties: false,
  properties: {
    topics: {
      type: 'array',
      minItems: 1,
      maxItems: 64,
      items: text(512),
      description: 'Topic names or /regex/ entries; a sync subscription names exactly one topic.',
    },
    type: text(512, 'Only CloudEvents of this type.'),
    pattern: {
      type: 'object',
      description: 'An event pattern over value, key and headers (docs/pipeline.md).',
    },
  },
} as const;

/**
 * One of apiKey, basic or oauth2, as an object with exactly one of them: a oneOf would answer a
 * mistake in one branch with every other branch's complaints as well.
 */
const authIn = {
  type: 'object',
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: false,
  description:
    'How the gateway authorises itself at the target: one of apiKey, basic, oauth2 (client credentials).',
  properties: {
    apiKey: {
      type: 'object',
      required: ['header', 'value'],
      additionalProperties: false,
      properties: { header: text(256), value: text(4096) },
    },
    basic: {
      type: 'object',
      required: ['username', 'password'],
      additionalProperties: false,
      properties: { username: text(256), password: text(4096) },
    },
    oauth2: {
      type: 'object',
      required: ['tokenUrl', 'clientId', 'clientSecret'],
      additionalProperties: false,
      properties: {
        tokenUrl: text(2048),
        clientId: text(1024),
        clientSecret: text(4096),
        scope: text(1024),
        audience: text(1024),
      },
    },
  },
} as const;

/** The auth as GET shows it: what it is and for whom, never the secret. */
const authOut = {
  type: 'object',
  properties: {
    apiKey: { type: 'object', properties: { header: { type: 'string' } } },
    basic: { type: 'object', properties: { username: { type: 'string' } } },
    oauth2: {
      type: 'object',
      properties: {
        tokenUrl: { type: 'string' },
        clientId: { type: 'string' },
        scope: { type: 'string' },
        audience: { type: 'string' },
      },
    },
    sealed: { type: 'boolean', description: 'The secrets are stored encrypted and cannot be opened here.' },
  },
} as const;

const target = (auth: object) =>
  ({
    type: 'object',
    required: ['url'],
    additionalProperties: false,
    properties: {
      url: text(2048, 'http or https URL of the target.'),
      method: { enum: METHODS, default: 'POST' },
      headers: {
        type: 'object',
        maxProperties: 64,
        additionalProperties: { type: 'string', maxLength: 4096 },
        description: 'Sent with every request. Secrets belong in auth, which GET never shows.',
      },
      timeoutMs: { type: 'integer', minimum: 100, maximum: 300_000, default: 10_000 },
      auth,
    },
  }) as const;

const settingsProperties = (auth: object) =>
  ({
    type: { enum: ['async', 'sync'] },
    events,
    target: target(auth),
    format: { enum: ['binary', 'structured', 'raw'], default: 'binary' },
    retry: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxAttempts: { type: 'integer', minimum: 1, maximum: 1000, default: 10 },
        maxAgeSeconds: { type: 'integer', minimum: 1, maximum: 604_800, default: 3600 },
        initialBackoffMs: { type: 'integer', minimum: 1, maximum: 3_600_000, default: 1000 },
        maxBackoffMs: { type: 'integer', minimum: 1, maximum: 3_600_000, default: 60_000 },
      },
    },
    rateLimit: {
      type: 'object',
      required: ['requestsPerSecond'],
      additionalProperties: false,
      properties: { requestsPerSecond: { type: 'number', exclusiveMinimum: 0, maximum: 100_000 } },
    },
    concurrency: {
      type: 'integer',
      minimum: 1,
      maximum: 1024,
      description: 'Async: requests in flight to the target at once, per instance (default 8).',
    },
    deadLetterTopic: text(249, 'Where records that cannot be delivered go (async; required).'),
    sync: {
      type: 'object',
      required: ['path'],
      additionalProperties: false,
      properties: {
        path: text(1024, 'The path callers use, under subscriptions.syncPathPrefix.'),
        method: { enum: METHODS, default: 'POST' },
        cors: {
          type: 'object',
          required: ['origins'],
          additionalProperties: false,
          properties: { origins: { type: 'array', maxItems: 64, items: text(512) } },
        },
      },
    },
    description: { type: 'string', maxLength: 1024 },
  }) as const;

export const putBody = {
  type: 'object',
  required: ['type', 'events', 'target'],
  additionalProperties: false,
  properties: settingsProperties(authIn),
} as const;

const replayView = {
  type: 'object',
  required: ['id', 'from', 'requestedAt', 'endOffsets'],
  properties: {
    id: { type: 'string' },
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    requestedAt: { type: 'string', format: 'date-time' },
    endOffsets: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

export const subscriptionView = {
  type: 'object',
  required: ['id', 'type', 'events', 'target', 'revision', 'updatedAt', 'paused'],
  properties: {
    id: { type: 'string' },
    ...settingsProperties(authOut),
    paused: { type: 'boolean' },
    replays: { type: 'array', items: replayView },
    revision: { type: 'string', description: 'The stored revision (its ETag).' },
    updatedAt: { type: 'string', format: 'date-time' },
    updatedBy: { type: 'string' },
  },
} as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: SUBSCRIPTION_ID_PATTERN.source } },
} as const;

export const replayBody = {
  type: 'object',
  required: ['from'],
  additionalProperties: false,
  properties: {
    from: { type: 'string', format: 'date-time', description: 'Redeliver records timestamped from then on.' },
    to: {
      type: 'string',
      format: 'date-time',
      description: 'Up to then (default: what the topics hold now).',
    },
  },
} as const;

export { replayView };

const lagEntry = {
  type: 'object',
  required: ['topic', 'partition', 'end', 'lag'],
  properties: {
    topic: { type: 'string' },
    partition: { type: 'integer' },
    committed: { type: ['string', 'null'] },
    end: { type: 'string' },
    lag: { type: 'integer' },
  },
} as const;

export const statusView = {
  type: 'object',
  required: ['id', 'type', 'state', 'instance', 'lag', 'replays'],
  properties: {
    id: { type: 'string' },
    type: { enum: ['async', 'sync'] },
    state: { enum: ['active', 'paused', 'failing'] },
    group: { type: 'string', description: "The consumer group of an async subscription's live delivery." },
    detail: { type: 'string' },
    instance: {
      type: 'object',
      description: 'What the instance that answered did since it started (each instance counts its own).',
      required: ['delivered', 'retried', 'deadLettered'],
      properties: {
        delivered: { type: 'integer' },
        retried: { type: 'integer' },
        deadLettered: { type: 'integer' },
        lastError: {
          type: 'object',
          properties: { at: { type: 'string', format: 'date-time' }, message: { type: 'string' } },
        },
      },
    },
    lag: {
      type: 'array',
      items: lagEntry,
      description: "The consumer group's lag per partition, from Kafka.",
    },
    totalLag: { type: 'integer' },
    replays: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'lag'],
        properties: { id: { type: 'string' }, lag: { type: 'array', items: lagEntry } },
      },
    },
  },
} as const;
