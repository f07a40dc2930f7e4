import type http from 'node:http';
import { SpecError } from '../asyncapi/spec-error';
import { SPEC_ID_PATTERN, type SpecStore } from '../asyncapi/spec-store';
import { sendJson, type HttpServer } from './http-server';

export interface SpecRoutesOptions {
  store: SpecStore;
  maxSpecBytes: number;
  /** When set, every spec route requires `Authorization: Bearer <token>`. */
  adminToken?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(request: http.IncomingMessage, limit: number): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit)
    return Promise.reject(new HttpError(413, `the document is larger than the ${limit}-byte limit`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, `the document is larger than the ${limit}-byte limit`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function authorized(request: http.IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = request.headers.authorization ?? '';
  return header === `Bearer ${token}`;
}

/** PUT/GET/DELETE /specs/{id} and GET /specs: AsyncAPI documents, changed at run time without a restart. */
export function registerSpecRoutes(server: HttpServer, options: SpecRoutesOptions): void {
  const { store } = options;
  const guard =
    (
      handler: (
        request: http.IncomingMessage,
        response: http.ServerResponse,
        id: string,
      ) => Promise<void> | void,
    ) =>
    async (request: http.IncomingMessage, response: http.ServerResponse) => {
      if (!authorized(request, options.adminToken)) {
        response.setHeader('www-authenticate', 'Bearer');
        return sendJson(response, 401, { error: 'a valid bearer token is required' });
      }
      const id = decodeURIComponent((request.url ?? '').split('?')[0].slice('/specs/'.length));
      try {
        await handler(request, response, id);
      } catch (error) {
        if (error instanceof HttpError) return sendJson(response, error.status, { error: error.message });
        throw error;
      }
    };

  server.route(
    'GET',
    '/specs',
    guard((_req, res) => sendJson(res, 200, { specs: store.list() })),
  );

  server.route(
    'PUT',
    '/specs/',
    guard(async (req, res, id) => {
      if (!SPEC_ID_PATTERN.test(id))
        throw new HttpError(400, `spec id '${id}' must match ${SPEC_ID_PATTERN.source}`);
      const text = await readBody(req, options.maxSpecBytes);
      if (text.trim() === '') throw new HttpError(400, 'the request body must be an AsyncAPI document');
      try {
        const { created, summary } = await store.put(id, text, 'api');
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
    guard((_req, res, id) => {
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
    guard((_req, res, id) => {
      if (!store.delete(id)) return sendJson(res, 404, { error: `no spec with id '${id}'` });
      res.writeHead(204).end();
    }),
    true,
  );
}
