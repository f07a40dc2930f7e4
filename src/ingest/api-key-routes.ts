import type { FastifyInstance } from 'fastify';
import { bearerSecurity, type AccessControl } from '../http/access';
import { ApiError, errorResponses } from '../http/api-error';
import { BODY_NESTING_LIMIT } from '../http/body-limits';
import {
  etag,
  etagHeader,
  ifMatchHeaders,
  preconditions,
  putHeaders,
  stateWriteError,
} from '../http/revision-headers';
import type { Logger } from '../observability/logger';
import type { StateEntry } from '../state/state-ledger';
import type { StateStore } from '../state/state-store';
import {
  API_KEY_KIND,
  API_KEY_NAME_PATTERN,
  apiKeyProblems,
  hashSecret,
  newSecret,
  type ApiKeys,
  type ApiKeySettings,
  type StoredApiKey,
} from './api-keys';

export interface ApiKeyRoutesOptions {
  /** Not read by the routes; taking it makes sure the keys follow the state before routes change it. */
  keys: ApiKeys;
  state: StateStore;
  /** Reading keys needs a read token, changing them an admin token (when tokens are configured). */
  access: AccessControl;
  logger: Logger;
}

/** A few settings; anything this large is a mistake. */
const MAX_BODY_BYTES = 64 * 1024;
const MAX_LIST = 256;
const MAX_ENTRY = 512;

const entryList = (description: string) =>
  ({
    type: 'array',
    maxItems: MAX_LIST,
    items: { type: 'string', minLength: 1, maxLength: MAX_ENTRY },
    description,
  }) as const;

const rateSchema = {
  type: 'object',
  description: 'Limits of this key on each instance (rates are counted per instance).',
  properties: {
    eventsPerSecond: { type: 'number', exclusiveMinimum: 0 },
    bytesPerSecond: { type: 'number', exclusiveMinimum: 0 },
  },
  additionalProperties: false,
} as const;

const settingsProperties = {
  grants: {
    type: 'object',
    required: ['topics'],
    properties: {
      topics: {
        ...entryList('Topics the key may publish to: names, or /regex/ entries.'),
        minItems: 1,
      },
      sources: entryList(
        'CloudEvents sources allowed: exact, or a prefix ending in *. Absent: any; empty: none.',
      ),
      types: entryList(
        'CloudEvents types allowed: exact, or a prefix ending in *. Absent: any; empty: none.',
      ),
    },
    additionalProperties: false,
  },
  rate: rateSchema,
  allowFrom: {
    ...entryList('Client addresses the key may be used from: IPs or CIDR blocks. Absent: any.'),
    items: { type: 'string', minLength: 1, maxLength: 64 },
  },
  description: { type: 'string', maxLength: 1024 },
} as const;

const putBody = {
  type: 'object',
  required: ['grants'],
  properties: {
    ...settingsProperties,
    rotate: {
      type: 'boolean',
      description: 'Replace the secret of an existing key; the new one is in the answer.',
    },
  },
  additionalProperties: false,
} as const;

/** A key as the API shows it: never its secret, nor the secret's hash. */
const keyView = {
  type: 'object',
  required: ['name', 'grants', 'revision', 'updatedAt'],
  properties: {
    name: { type: 'string' },
    ...settingsProperties,
    revision: { type: 'string', description: 'The stored revision (its ETag).' },
    updatedAt: { type: 'string', format: 'date-time' },
    updatedBy: { type: 'string', description: 'The name of the token that last changed it.' },
  },
} as const;

const withSecret = (description: string) => ({
  ...keyView,
  properties: {
    ...keyView.properties,
    secret: { type: 'string', description },
  },
});

const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', pattern: API_KEY_NAME_PATTERN.source } },
} as const;

interface PutBody extends ApiKeySettings {
  rotate?: boolean;
}

function view(entry: StateEntry<StoredApiKey>) {
  const { grants, rate, allowFrom, description } = entry.document;
  return {
    name: entry.id,
    grants,
    ...(rate !== undefined && { rate }),
    ...(allowFrom !== undefined && { allowFrom }),
    ...(description !== undefined && { description }),
    revision: entry.revision,
    updatedAt: entry.updatedAt,
    ...(entry.by !== undefined && { updatedBy: entry.by }),
  };
}

/**
 * PUT/GET/DELETE /api-keys/{name} and GET /api-keys: the keys publishers send events with, kept in
 * the state topic. A key's secret is shown once, when it is created or rotated; only its hash is
 * stored.
 */
export function registerApiKeyRoutes(app: FastifyInstance, options: ApiKeyRoutesOptions): void {
  const { state, logger } = options;
  const read = options.access.hook('read');
  const admin = options.access.hook('admin');
  const tags = ['api-keys'];

  app.get(
    '/api-keys',
    {
      onRequest: read,
      schema: {
        summary: 'The API keys publishers may use',
        tags,
        security: bearerSecurity,
        response: {
          200: {
            type: 'object',
            required: ['apiKeys'],
            properties: { apiKeys: { type: 'array', items: keyView } },
          },
          ...errorResponses(401, 403),
        },
      },
    },
    async () => ({
      apiKeys: state
        .list<StoredApiKey>(API_KEY_KIND)
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map(view),
    }),
  );

  app.put<{ Params: { name: string }; Body: PutBody }>(
    '/api-keys/:name',
    {
      onRequest: admin,
      bodyLimit: MAX_BODY_BYTES,
      config: { body: { kind: 'json', nesting: BODY_NESTING_LIMIT } },
      schema: {
        summary: 'Create or replace an API key',
        description:
          'Creating a key answers 201 with its secret, the only time it is shown. Replacing one keeps ' +
          'its secret unless `rotate` is true (then the new secret is in the answer). The change is ' +
          'made against the key as it was read: one made meanwhile, anywhere, makes this a 412.',
        tags,
        security: bearerSecurity,
        params: nameParams,
        headers: putHeaders('key'),
        body: putBody,
        response: {
          200: {
            description: 'Replaced (with `secret` when rotated)',
            headers: etagHeader,
            ...withSecret('The new secret, when rotated; shown only now.'),
          },
          201: {
            description: 'Created',
            headers: etagHeader,
            ...withSecret('The secret; shown only now.'),
          },
          ...errorResponses(400, 401, 403, 412, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const by = request.principal;
      const { grants, rate, allowFrom, description, rotate = false } = request.body;
      // Named one by one: nothing else in a body may reach the stored document (its secretHash above all).
      const settings: ApiKeySettings = {
        grants,
        ...(rate !== undefined && { rate }),
        ...(allowFrom !== undefined && { allowFrom }),
        ...(description !== undefined && { description }),
      };
      const conditions = preconditions(request.headers);
      const problems = apiKeyProblems(settings);
      if (problems.length > 0) throw new ApiError(400, 'invalid API key settings', { problems });
      // Nothing may be awaited between reading the key and writing it: the answer (a new secret
      // or the kept one) follows from what was read, so the write is conditional on it.
      const existing = state.get<StoredApiKey>(API_KEY_KIND, name);
      const kept = existing?.document.secretHash;
      const secret = rotate || typeof kept !== 'string' ? newSecret() : undefined;
      const document: StoredApiKey = {
        secretHash: secret === undefined ? kept! : hashSecret(secret),
        ...settings,
      };
      const entry = await state
        .put<StoredApiKey>(API_KEY_KIND, name, document, {
          ...conditions,
          ...(existing === undefined
            ? conditions.ifMatch === undefined && { ifNoneMatch: true }
            : { ifMatch: conditions.ifMatch ?? existing.revision }),
          by: by.name,
        })
        .catch(stateWriteError);
      logger.info(
        {
          apiKey: name,
          by: by.name,
          revision: entry.revision,
          created: existing === undefined,
          rotated: rotate,
        },
        'API key stored',
      );
      return reply
        .header('etag', etag(entry.revision))
        .code(existing === undefined ? 201 : 200)
        .send({ ...view(entry), ...(secret !== undefined && { secret }) });
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api-keys/:name',
    {
      onRequest: read,
      schema: {
        summary: 'One API key: what it grants (never its secret)',
        tags,
        security: bearerSecurity,
        params: nameParams,
        response: { 200: { headers: etagHeader, ...keyView }, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const entry = state.get<StoredApiKey>(API_KEY_KIND, name);
      if (entry === undefined) throw new ApiError(404, `no API key named '${name}'`);
      return reply.header('etag', etag(entry.revision)).send(view(entry));
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api-keys/:name',
    {
      onRequest: admin,
      schema: {
        summary: 'Delete an API key; requests with it are refused from then on',
        tags,
        security: bearerSecurity,
        params: nameParams,
        headers: ifMatchHeaders,
        response: {
          204: { description: 'Deleted', type: 'null' },
          ...errorResponses(400, 401, 403, 404, 412, 503),
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const by = request.principal;
      const conditions = preconditions(request.headers);
      const deleted = await state
        .delete(API_KEY_KIND, name, { ...conditions, by: by.name })
        .catch(stateWriteError);
      if (!deleted) throw new ApiError(404, `no API key named '${name}'`);
      logger.info({ apiKey: name, by: by.name }, 'API key deleted');
      return reply.code(204).send();
    },
  );
}
