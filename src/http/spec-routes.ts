import type http from 'node:http';
import { SpecError } from '../asyncapi/spec-error';
import { SPEC_ID_PATTERN, type SpecStore } from '../asyncapi/spec-store';
import type { Logger } from '../observability/logger';
import type { StateStore } from '../state/state-store';
import type { AccessControl, Principal, Role } from './access';
import { nestingProblem, SPEC_NESTING_LIMIT } from './body-limits';
import { sendJson, type HttpServer } from './http-server';
import { readBody } from './read-body';
import { answerStateError, etag, preconditions } from './revision-headers';

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

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * PUT/GET/DELETE /specs/{id} and GET /specs: AsyncAPI documents, changed at run time without a
 * restart. An upload is checked here, then stored in the state topic; it is in force once this
 * instance has applied it (every other instance applies it as it reads the topic).
 */
export function registerSpecRoutes(server: HttpServer, options: SpecRoutesOptions): void {
  const { store, state } = options;
  const fileSpec = (id: string) => store.get(id)?.summary.source === 'file';
  const guard =
    (
      role: Role,
      handler: (
        request: http.IncomingMessage,
        response: http.ServerResponse,
        id: string,
        by: Principal,
      ) => Promise<void> | void,
    ) =>
    async (request: http.IncomingMessage, response: http.ServerResponse) => {
      const by = options.access.require(request, response, role);
      if (by === null) return;
      let id: string;
      try {
        id = decodeURIComponent((request.url ?? '').split('?')[0].slice('/specs/'.length));
      } catch {
        return sendJson(response, 400, { error: 'the spec id is not valid percent-encoding' });
      }
      try {
        await handler(request, response, id, by);
      } catch (error) {
        if (error instanceof HttpError) return sendJson(response, error.status, { error: error.message });
        throw error;
      }
    };

  server.route(
    'GET',
    '/specs',
    guard('read', (_req, res) => sendJson(res, 200, { specs: store.list() })),
  );

  server.route(
    'PUT',
    '/specs/',
    guard('admin', async (req, res, id, by) => {
      if (!SPEC_ID_PATTERN.test(id))
        throw new HttpError(400, `spec id '${id}' must match ${SPEC_ID_PATTERN.source}`);
      const text = await readBody(req, options.maxSpecBytes);
      if (text === null)
        throw new HttpError(413, `the document is larger than the ${options.maxSpecBytes}-byte limit`);
      if (text.trim() === '') throw new HttpError(400, 'the request body must be an AsyncAPI document');
      const tooDeep = nestingProblem(text, 'yaml', SPEC_NESTING_LIMIT);
      if (tooDeep !== null) throw new HttpError(400, `the document is ${tooDeep}`);
      if (fileSpec(id))
        throw new HttpError(409, `spec '${id}' is loaded from a file and cannot be replaced over HTTP`);
      const conditions = preconditions(req);
      if ('error' in conditions) throw new HttpError(400, conditions.error);
      try {
        await store.check(id, text);
      } catch (error) {
        if (!(error instanceof SpecError)) throw error;
        return sendJson(res, 400, { error: error.message, diagnostics: error.diagnostics });
      }
      const existed = state.get(SPEC_KIND, id) !== undefined;
      let revision: string;
      try {
        revision = (await state.put<StoredSpec>(SPEC_KIND, id, { text }, { ...conditions, by: by.name }))
          .revision;
      } catch (error) {
        if (answerStateError(res, error)) return;
        throw error;
      }
      const spec = store.get(id);
      if (spec === undefined) throw new Error(`spec '${id}' was stored but could not be applied`);
      options.logger.info({ spec: id, by: by.name, revision, created: !existed }, 'spec stored');
      res.setHeader('etag', etag(revision));
      sendJson(res, existed ? 200 : 201, spec.summary);
    }),
    true,
  );

  server.route(
    'GET',
    '/specs/',
    guard('read', (_req, res, id) => {
      const revisions = /^([^/]+)\/revisions(?:\/([^/]+)\/document)?$/.exec(id);
      if (revisions !== null) {
        const [, specId, revision] = revisions;
        if (revision === undefined) {
          const list = state.revisions(SPEC_KIND, specId);
          if (list.length === 0 && store.get(specId) === undefined)
            return sendJson(res, 404, { error: `no spec with id '${specId}'` });
          return sendJson(res, 200, { id: specId, revisions: list });
        }
        const past = state.revision<StoredSpec>(SPEC_KIND, specId, revision);
        if (past === undefined)
          return sendJson(res, 404, { error: `no revision '${revision}' of spec '${specId}' is kept` });
        return sendDocument(res, past.document.text, revision);
      }
      const document = id.endsWith('/document');
      const specId = document ? id.slice(0, -'/document'.length) : id;
      const spec = store.get(specId);
      if (spec === undefined) return sendJson(res, 404, { error: `no spec with id '${specId}'` });
      // The revision of what is in force here: the stored one may be ahead while it is applied.
      const revision = spec.summary.revision;
      if (document) return sendDocument(res, spec.text, revision);
      if (revision !== undefined) res.setHeader('etag', etag(revision));
      sendJson(res, 200, spec.summary);
    }),
    true,
  );

  server.route(
    'DELETE',
    '/specs/',
    guard('admin', async (req, res, id, by) => {
      if (fileSpec(id))
        throw new HttpError(409, `spec '${id}' is loaded from a file and cannot be deleted over HTTP`);
      const conditions = preconditions(req);
      if ('error' in conditions) throw new HttpError(400, conditions.error);
      let deleted: boolean;
      try {
        deleted = await state.delete(SPEC_KIND, id, { ...conditions, by: by.name });
      } catch (error) {
        if (answerStateError(res, error)) return;
        throw error;
      }
      if (!deleted) return sendJson(res, 404, { error: `no spec with id '${id}'` });
      options.logger.info({ spec: id, by: by.name }, 'spec deleted');
      res.writeHead(204).end();
    }),
    true,
  );
}

function sendDocument(res: http.ServerResponse, text: string, revision: string | undefined): void {
  const json = text.trimStart().startsWith('{');
  res.writeHead(200, {
    'content-type': json ? 'application/json' : 'application/yaml',
    ...(revision !== undefined && { etag: etag(revision) }),
  });
  res.end(text);
}
