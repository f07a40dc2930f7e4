import type http from 'node:http';
import { SpecError } from '../asyncapi/spec-error';
import { SPEC_ID_PATTERN, type SpecStore } from '../asyncapi/spec-store';
import type { Logger } from '../observability/logger';
import type { AccessControl, Principal, Role } from './access';
import { nestingProblem, SPEC_NESTING_LIMIT } from './body-limits';
import { sendJson, type HttpServer } from './http-server';
import { readBody } from './read-body';

export interface SpecRoutesOptions {
  store: SpecStore;
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

/** PUT/GET/DELETE /specs/{id} and GET /specs: AsyncAPI documents, changed at run time without a restart. */
export function registerSpecRoutes(server: HttpServer, options: SpecRoutesOptions): void {
  const { store } = options;
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
      try {
        const { created, summary } = await store.put(id, text, 'api', by.name);
        options.logger.info({ spec: id, by: by.name, created }, 'spec stored');
        sendJson(res, created ? 201 : 200, summary);
      } catch (error) {
        if (!(error instanceof SpecError)) throw error;
        sendJson(res, 400, { error: error.message, diagnostics: error.diagnostics });
      }
    }),
    true,
  );

  server.route(
    'GET',
    '/specs/',
    guard('read', (_req, res, id) => {
      const document = id.endsWith('/document');
      const spec = store.get(document ? id.slice(0, -'/document'.length) : id);
      if (spec === undefined) return sendJson(res, 404, { error: `no spec with id '${id}'` });
      if (!document) return sendJson(res, 200, spec.summary);
      const json = spec.text.trimStart().startsWith('{');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/yaml' });
      res.end(spec.text);
    }),
    true,
  );

  server.route(
    'DELETE',
    '/specs/',
    guard('admin', (_req, res, id, by) => {
      if (!store.delete(id)) return sendJson(res, 404, { error: `no spec with id '${id}'` });
      options.logger.info({ spec: id, by: by.name }, 'spec deleted');
      res.writeHead(204).end();
    }),
    true,
  );
}
