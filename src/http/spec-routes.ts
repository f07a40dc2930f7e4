import type { FastifyInstance, FastifyReply } from 'fastify';
import { SpecError } from '../asyncapi/spec-error';
import { SPEC_ID_PATTERN, type SpecStore } from '../asyncapi/spec-store';
import type { Logger } from '../observability/logger';
import type { StateStore } from '../state/state-store';
import { bearerSecurity, type AccessControl } from './access';
import { ApiError, errorResponses } from './api-error';
import { SPEC_NESTING_LIMIT } from './body-limits';
import {
  etag,
  etagHeader,
  ifMatchHeaders,
  preconditions,
  putHeaders,
  stateWriteError,
} from './revision-headers';

/** The state kind specs are stored under; the document is `{text}`, the AsyncAPI text as uploaded. */
export const SPEC_KIND = 'spec';

export interface StoredSpec {
  text: string;
}

export interface SpecRoutesOptions {
  store: SpecStore;
  /** Where uploads are kept; every instance applies them to its own SpecStore. */
  state: StateStore;
  maxSpecBytes: number;
  /** Reading specs needs a read token, changing them an admin token (when tokens are configured). */
  access: AccessControl;
  logger: Logger;
}

const diagnostic = {
  type: 'object',
  required: ['message', 'path'],
  properties: { message: { type: 'string' }, path: { type: 'string' }, code: { type: 'string' } },
} as const;

const specSummary = {
  type: 'object',
  required: ['id', 'asyncapi', 'title', 'version', 'source', 'loadedAt', 'channels', 'warnings'],
  properties: {
    id: { type: 'string' },
    asyncapi: { type: 'string', description: 'The AsyncAPI version the document declares.' },
    title: { type: 'string' },
    version: { type: 'string' },
    source: { type: 'string', enum: ['file', 'api'] },
    loadedAt: { type: 'string', format: 'date-time' },
    loadedBy: { type: 'string', description: 'The name of the token that uploaded it.' },
    revision: { type: 'string', description: 'The stored revision in force here (its ETag).' },
    channels: {
      type: 'array',
      items: {
        type: 'object',
        required: ['channel', 'topic', 'messages'],
        properties: {
          channel: { type: 'string' },
          topic: { type: 'string' },
          messages: { type: 'array', items: { type: 'string' } },
          failWhenInvalid: { type: 'boolean' },
          observe: { type: 'boolean' },
        },
      },
    },
    warnings: { type: 'array', items: diagnostic },
  },
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: SPEC_ID_PATTERN.source } },
} as const;

const revisionParams = {
  type: 'object',
  required: ['id', 'revision'],
  properties: { id: idParams.properties.id, revision: { type: 'string', pattern: '^[0-9]{1,19}$' } },
} as const;

const documentResponse = {
  description: 'The AsyncAPI document as uploaded (YAML or JSON)',
  content: {
    'application/yaml': { schema: { type: 'string' } },
    'application/json': { schema: { type: 'object', additionalProperties: true } },
  },
} as const;

/**
 * PUT/GET/DELETE /specs/{id} and GET /specs: AsyncAPI documents, changed at run time without a
 * restart. An upload is checked here, then stored in the state topic; it is in force once this
 * instance has applied it (every other instance applies it as it reads the topic).
 */
export function registerSpecRoutes(app: FastifyInstance, options: SpecRoutesOptions): void {
  const { store, state } = options;
  const fileSpec = (id: string) => store.get(id)?.summary.source === 'file';
  const read = options.access.hook('read');
  const admin = options.access.hook('admin');
  const tags = ['specs'];

  app.get(
    '/specs',
    {
      onRequest: read,
      schema: {
        summary: 'The specs in force',
        tags,
        security: bearerSecurity,
        response: {
          200: {
            type: 'object',
            required: ['specs'],
            properties: { specs: { type: 'array', items: specSummary } },
          },
          ...errorResponses(401, 403),
        },
      },
    },
    async () => ({ specs: store.list() }),
  );

  app.put<{ Params: { id: string }; Querystring: { dryRun?: boolean }; Body: string | undefined }>(
    '/specs/:id',
    {
      onRequest: admin,
      bodyLimit: options.maxSpecBytes,
      config: { body: { kind: 'text', syntax: 'yaml', nesting: SPEC_NESTING_LIMIT, noun: 'document' } },
      schema: {
        summary: 'Upload or replace a spec',
        description:
          'The body is the AsyncAPI document (YAML or JSON), checked completely before anything changes. ' +
          'Answers once the document is stored in Kafka and in force on this instance. ' +
          'With `dryRun=true` only the checks run: the answer is what the upload would get, and nothing is stored.',
        tags,
        security: bearerSecurity,
        params: idParams,
        querystring: {
          type: 'object',
          properties: {
            dryRun: {
              type: 'boolean',
              description: 'Check the document and the conditions; change nothing.',
            },
          },
        },
        headers: putHeaders('spec'),
        body: { type: 'string', description: 'An AsyncAPI 2.x or 3.x document.' },
        response: {
          200: { description: 'Replaced', headers: etagHeader, ...specSummary },
          201: { description: 'Created', headers: etagHeader, ...specSummary },
          ...errorResponses(400, 401, 403, 409, 412, 413, 503),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const by = request.principal;
      const text = request.body ?? '';
      if (text.trim() === '') throw new ApiError(400, 'the request body must be an AsyncAPI document');
      if (fileSpec(id))
        throw new ApiError(409, `spec '${id}' is loaded from a file and cannot be replaced over HTTP`);
      const conditions = preconditions(request.headers);
      let preview;
      try {
        preview = await store.check(id, text);
      } catch (error) {
        if (!(error instanceof SpecError)) throw error;
        throw new ApiError(400, error.message, { diagnostics: error.diagnostics });
      }
      const existed = state.get(SPEC_KIND, id) !== undefined;
      if (request.query.dryRun === true) {
        // The conditions are checked as the state store would, so a dry run tells of a 412 too.
        const current = state.get(SPEC_KIND, id)?.revision;
        const { ifMatch, ifNoneMatch } = conditions;
        if (ifNoneMatch === true && current !== undefined)
          throw new ApiError(412, `precondition failed: '${id}' exists (revision ${current})`);
        if (ifMatch !== undefined && (current === undefined || (ifMatch !== '*' && ifMatch !== current)))
          throw new ApiError(412, `precondition failed: '${id}' is at revision ${current ?? 'none'}`);
        return reply.code(existed ? 200 : 201).send({ ...preview, loadedBy: by.name });
      }
      const revision = (
        await state
          .put<StoredSpec>(SPEC_KIND, id, { text }, { ...conditions, by: by.name })
          .catch(stateWriteError)
      ).revision;
      const spec = store.get(id);
      if (spec === undefined) throw new Error(`spec '${id}' was stored but could not be applied`);
      options.logger.info({ spec: id, by: by.name, revision, created: !existed }, 'spec stored');
      return reply
        .header('etag', etag(revision))
        .code(existed ? 200 : 201)
        .send(spec.summary);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/specs/:id',
    {
      onRequest: read,
      schema: {
        summary: 'One spec: what it declares and where it came from',
        tags,
        security: bearerSecurity,
        params: idParams,
        response: { 200: { headers: etagHeader, ...specSummary }, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const spec = known(request.params.id);
      // The revision of what is in force here: the stored one may be ahead while it is applied.
      const revision = spec.summary.revision;
      if (revision !== undefined) void reply.header('etag', etag(revision));
      return spec.summary;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/specs/:id/document',
    {
      onRequest: read,
      schema: {
        summary: 'The document of a spec, as uploaded',
        tags,
        security: bearerSecurity,
        params: idParams,
        response: { 200: documentResponse, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const spec = known(request.params.id);
      return sendDocument(reply, spec.text, spec.summary.revision);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/specs/:id/revisions',
    {
      onRequest: read,
      schema: {
        summary: 'The revisions of a spec still kept, newest first',
        tags,
        security: bearerSecurity,
        params: idParams,
        response: {
          200: {
            type: 'object',
            required: ['id', 'revisions'],
            properties: {
              id: { type: 'string' },
              revisions: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['revision', 'updatedAt'],
                  properties: {
                    revision: { type: 'string' },
                    updatedAt: { type: 'string', format: 'date-time' },
                    by: { type: 'string' },
                  },
                },
              },
            },
          },
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const list = state.revisions(SPEC_KIND, id);
      if (list.length === 0 && store.get(id) === undefined)
        throw new ApiError(404, `no spec with id '${id}'`);
      return { id, revisions: list };
    },
  );

  app.get<{ Params: { id: string; revision: string } }>(
    '/specs/:id/revisions/:revision/document',
    {
      onRequest: read,
      schema: {
        summary: 'One kept revision of a spec, to roll back to by uploading it again',
        tags,
        security: bearerSecurity,
        params: revisionParams,
        response: { 200: documentResponse, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { id, revision } = request.params;
      const past = state.revision<StoredSpec>(SPEC_KIND, id, revision);
      if (past === undefined) throw new ApiError(404, `no revision '${revision}' of spec '${id}' is kept`);
      return sendDocument(reply, past.document.text, revision);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/specs/:id',
    {
      onRequest: admin,
      schema: {
        summary: 'Delete an uploaded spec',
        tags,
        security: bearerSecurity,
        params: idParams,
        headers: ifMatchHeaders,
        response: {
          204: { description: 'Deleted', type: 'null' },
          ...errorResponses(400, 401, 403, 404, 409, 412, 503),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const by = request.principal;
      if (fileSpec(id))
        throw new ApiError(409, `spec '${id}' is loaded from a file and cannot be deleted over HTTP`);
      const conditions = preconditions(request.headers);
      const deleted = await state
        .delete(SPEC_KIND, id, { ...conditions, by: by.name })
        .catch(stateWriteError);
      if (!deleted) throw new ApiError(404, `no spec with id '${id}'`);
      options.logger.info({ spec: id, by: by.name }, 'spec deleted');
      return reply.code(204).send();
    },
  );

  function known(id: string) {
    const spec = store.get(id);
    if (spec === undefined) throw new ApiError(404, `no spec with id '${id}'`);
    return spec;
  }
}

function sendDocument(reply: FastifyReply, text: string, revision: string | undefined): FastifyReply {
  const json = text.trimStart().startsWith('{');
  if (revision !== undefined) void reply.header('etag', etag(revision));
  return reply.type(json ? 'application/json' : 'application/yaml').send(text);
}
