import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { createLogger } from '../../../src/observability/logger';
import {
  createSchemaRegistryClient,
  type SchemaRegistryClientOptions,
} from '../../../src/registry/schema-registry-client';
import type { SchemaRegistryClient } from '../../../src/registry/schema-lookup';

/** A registry stand-in whose answers each test scripts; every request it receives is recorded. */
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const AVRO = '{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}';
const PROTO = 'syntax = "proto3";\nmessage M { int32 x = 1; }\n';

let server: Server;
let base: string;
let handler: Handler;
let requests: string[];
let clock: number;
let clients: SchemaRegistryClient[];

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Confluent-style answers from a table of id → body. */
function confluent(schemas: Record<number, unknown>): Handler {
  return (req, res) => {
    const match = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '');
    const body = match === null ? undefined : schemas[Number(match[1])];
    if (body === undefined) json(res, 404, { error_code: 40403, message: 'Schema not found' });
    else json(res, 200, body);
  };
}

function client(overrides: Partial<SchemaRegistryClientOptions> = {}): SchemaRegistryClient {
  const created = createSchemaRegistryClient({
    url: base,
    vendor: 'confluent',
    timeoutMs: 2000,
    cacheSize: 100,
    refreshMs: 60_000,
    unknownTtlMs: 5_000,
    unavailableTtlMs: 1_000,
    logger: createLogger('silent'),
    now: () => clock,
    ...overrides,
  });
  clients.push(created);
  return created;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  requests = [];
  clock = 1_000_000;
  clients = [];
  handler = confluent({});
});

afterEach(() => {
  for (const c of clients) c.close();
});

describe('Confluent API', () => {
  it('finds an Avro schema (no schemaType in the answer) and a Protobuf one with references', async () => {
    handler = confluent({
      1: { schema: AVRO },
      2: {
        schema: PROTO,
        schemaType: 'PROTOBUF',
        references: [{ name: 'a.proto', subject: 'a', version: 3 }],
      },
    });
    const c = client();
    expect(await c.lookup(1)).toEqual({
      kind: 'found',
      schema: { id: 1, idKind: 'confluent', schemaType: 'AVRO', schema: AVRO, references: [] },
    });
    expect(await c.lookup(2)).toEqual({
      kind: 'found',
      schema: {
        id: 2,
        idKind: 'confluent',
        schemaType: 'PROTOBUF',
        schema: PROTO,
        references: [{ name: 'a.proto', subject: 'a', version: 3 }],
      },
    });
    expect(requests).toEqual(['/schemas/ids/1', '/schemas/ids/2']);
  });

  it('serves found schemas from the cache, synchronously too', async () => {
    handler = confluent({ 7: { schema: AVRO } });
    const c = client();
    expect(c.cached(7)).toBeUndefined();
    await c.lookup(7);
    expect(c.cached(7)).toMatchObject({ kind: 'found', schema: { id: 7 } });
    expect(await c.lookup(7)).toMatchObject({ kind: 'found' });
    expect(requests).toHaveLength(1);
  });

  it('answers unknown for 40403 and remembers it for unknownTtlMs only', async () => {
    const c = client();
    expect(await c.lookup(9)).toEqual({ kind: 'unknown', id: 9 });
    expect(c.cached(9)).toEqual({ kind: 'unknown', id: 9 });
    clock += 4_999;
    expect(await c.lookup(9)).toEqual({ kind: 'unknown', id: 9 });
    expect(requests).toHaveLength(1);
    clock += 1;
    expect(c.cached(9)).toBeUndefined();
    handler = confluent({ 9: { schema: AVRO } });
    expect(await c.lookup(9)).toMatchObject({ kind: 'found' });
    expect(requests).toHaveLength(2);
  });

  it('does not take a 404 without error code 40403 for an unknown id', async () => {
    handler = (_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not Found</h1>');
    };
    const result = await client().lookup(1);
    expect(result).toEqual({
      kind: 'unavailable',
      reason: expect.stringMatching(/404 without error code 40403/),
    });
  });

  it('answers unavailable for a 5xx and does not ask again within unavailableTtlMs', async () => {
    handler = (_req, res) => json(res, 503, { error_code: 50003, message: 'down' });
    const c = client();
    expect(await c.lookup(1)).toEqual({ kind: 'unavailable', reason: 'the registry answered HTTP 503' });
    expect(c.cached(1)).toMatchObject({ kind: 'unavailable' });
    expect(await c.lookup(1)).toMatchObject({ kind: 'unavailable' });
    expect(requests).toHaveLength(1);
    clock += 1_000;
    handler = confluent({ 1: { schema: AVRO } });
    expect(await c.lookup(1)).toMatchObject({ kind: 'found' });
    expect(requests).toHaveLength(2);
  });

  it('answers unavailable when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await client({ url: `http://127.0.0.1:${port}` }).lookup(1);
    expect(result).toEqual({
      kind: 'unavailable',
      reason: expect.stringMatching(/could not be reached: ECONNREFUSED/),
    });
  });

  it('keeps a found schema while the registry is down, and refreshes it in the background', async () => {
    handler = confluent({ 1: { schema: AVRO } });
    const logger = createLogger('silent');
    const warn = jest.spyOn(logger, 'warn');
    const c = client({ refreshMs: 10_000, logger });
    await c.lookup(1);
    // A slow failure: the client must have taken it in before the clock moves on below, or the
    // retry would be timed from the later clock. Its warning says it has.
    handler = (_req, res) => setTimeout(() => json(res, 500, {}), 50);
    clock += 10_000;
    // Stale: still served, and a refresh is started.
    expect(c.cached(1)).toMatchObject({ kind: 'found' });
    expect(await c.lookup(1)).toMatchObject({ kind: 'found' });
    await waitFor(() => warn.mock.calls.length === 1);
    expect(requests).toHaveLength(2);
    expect(await c.lookup(1)).toMatchObject({ kind: 'found' });
    // The registry now says the schema is gone: the refresh after the retry interval sees it.
    handler = confluent({});
    clock += 1_000;
    expect(c.cached(1)).toMatchObject({ kind: 'found' });
    await waitFor(() => c.cached(1)?.kind === 'unknown');
    expect(requests).toHaveLength(3);
  });

  it('sends one request for concurrent lookups of one id', async () => {
    const held: ServerResponse[] = [];
    handler = (_req, res) => held.push(res);
    const c = client();
    const lookups = Array.from({ length: 5 }, () => c.lookup(4));
    await waitFor(() => held.length === 1);
    json(held[0], 200, { schema: AVRO });
    const results = await Promise.all(lookups);
    expect(results.every((r) => r.kind === 'found')).toBe(true);
    expect(requests).toEqual(['/schemas/ids/4']);
  });

  it('keeps at most cacheSize ids', async () => {
    handler = confluent({ 1: { schema: AVRO }, 2: { schema: AVRO }, 3: { schema: AVRO } });
    const c = client({ cacheSize: 2 });
    await c.lookup(1);
    await c.lookup(2);
    await c.lookup(3);
    expect(c.cached(1)).toBeUndefined();
    expect(c.cached(2)).toMatchObject({ kind: 'found' });
    expect(c.cached(3)).toMatchObject({ kind: 'found' });
  });

  it('answers ids no record can name as unknown without asking', async () => {
    const c = client();
    for (const id of [-1, 1.5, Number.NaN, 2 ** 53])
      expect(await c.lookup(id)).toEqual({ kind: 'unknown', id });
    expect(requests).toEqual([]);
  });

  it('counts lookups by result', async () => {
    const registry = new Registry();
    const lookups = new Counter({ name: 'l', help: 'l', labelNames: ['result'], registers: [registry] });
    handler = confluent({ 1: { schema: AVRO } });
    const c = client({ lookups });
    await c.lookup(1);
    await c.lookup(1);
    c.cached(1);
    await c.lookup(2);
    const values = (await lookups.get()).values.map((v) => [v.labels.result, v.value]);
    expect(Object.fromEntries(values)).toEqual({ found: 1, cached: 2, unknown: 1 });
  });

  it('answers unavailable once closed, and aborts a request in flight', async () => {
    handler = () => undefined;
    const c = client();
    const pending = c.lookup(1);
    await waitFor(() => requests.length === 1);
    c.close();
    expect(await pending).toEqual({ kind: 'unavailable', reason: 'the registry client is closed' });
    expect(await c.lookup(1)).toEqual({ kind: 'unavailable', reason: 'the registry client is closed' });
    expect(c.cached(1)).toEqual({ kind: 'unavailable', reason: 'the registry client is closed' });
  });
});

describe('hostile registry answers', () => {
  const cases: [string, Handler, RegExp][] = [
    ['a body that is not JSON', (_q, r) => r.end('{{{ not json'), /not JSON/],
    ['a JSON array', (_q, r) => json(r, 200, [1, 2]), /without a schema string/],
    [
      'a schema that is not a string',
      (_q, r) => json(r, 200, { schema: { type: 'int' } }),
      /without a schema string/,
    ],
    [
      'an unsupported schema type',
      (_q, r) => json(r, 200, { schema: 'x', schemaType: 'XSD' }),
      /unsupported schema type/,
    ],
    [
      'references that are not a list',
      (_q, r) => json(r, 200, { schema: 'x', references: 'a' }),
      /not a list/,
    ],
    [
      'a reference without a version',
      (_q, r) => json(r, 200, { schema: 'x', references: [{ name: 'a', subject: 'b' }] }),
      /lacking name, subject or version/,
    ],
    [
      'a declared body over the limit',
      (_q, r) => {
        r.writeHead(200, { 'content-length': 10_000_000 });
        r.write('x'.repeat(1000));
      },
      /10000000 bytes, over the limit/,
    ],
    [
      'a chunked body that never ends',
      (_q, r) => {
        r.writeHead(200, { 'content-type': 'application/json' });
        const chunk = 'x'.repeat(64 * 1024);
        const pump = (): void => {
          if (!r.destroyed && r.write(chunk)) setImmediate(pump);
          else if (!r.destroyed) r.once('drain', pump);
        };
        pump();
      },
      /more than 1048576 bytes/,
    ],
    ['a request that is never answered', () => undefined, /did not answer within 200 ms/],
    [
      'headers then a body that stalls',
      (_q, r) => {
        r.writeHead(200, { 'content-length': 100 });
        r.write('{"schema":');
      },
      /did not answer within 200 ms/,
    ],
    [
      'a redirect',
      (_q, r) => r.writeHead(302, { location: 'http://127.0.0.1:1/' }).end(),
      /could not be reached/,
    ],
  ];

  it.each(cases)('answers unavailable for %s', async (_name, hostile, reason) => {
    handler = hostile;
    const result = await client({ timeoutMs: 200, maxBodyBytes: 1024 * 1024 }).lookup(1);
    expect(result).toEqual({ kind: 'unavailable', reason: expect.stringMatching(reason) });
  });
});

describe('Apicurio v3 API', () => {
  function apicurio(content: Record<number, { body: string; type: string; refs?: unknown[] }>): Handler {
    return (req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      const search = /\/apis\/registry\/v3\/search\/versions$/.test(url.pathname);
      const id = Number(
        search
          ? (url.searchParams.get('globalId') ?? url.searchParams.get('contentId'))
          : /(\d+)(?:\/references)?$/.exec(url.pathname)?.[1],
      );
      const entry = content[id];
      if (search) {
        json(res, 200, {
          count: entry ? 1 : 0,
          versions: entry ? [{ artifactType: entry.type, globalId: id }] : [],
        });
      } else if (entry === undefined) {
        json(res, 404, { status: 404, name: 'VersionNotFoundException', title: 'No version' });
      } else if (url.pathname.endsWith('/references')) {
        json(res, 200, entry.refs ?? []);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(entry.body);
      }
    };
  }

  it('looks up global and content ids from the registry root or an API root', async () => {
    handler = apicurio({
      5: {
        body: PROTO,
        type: 'PROTOBUF',
        refs: [{ groupId: 'default', artifactId: 'dep', version: '2', name: 'dep.proto' }],
      },
    });
    const c = client({ url: `${base}/apis/ccompat/v7`, vendor: 'apicurio' });
    expect(await c.lookup(5, 'globalId')).toEqual({
      kind: 'found',
      schema: {
        id: 5,
        idKind: 'globalId',
        schemaType: 'PROTOBUF',
        schema: PROTO,
        references: [{ name: 'dep.proto', subject: 'dep', version: 2 }],
      },
    });
    expect(requests.sort()).toEqual([
      '/apis/registry/v3/ids/globalIds/5',
      '/apis/registry/v3/ids/globalIds/5/references',
      '/apis/registry/v3/search/versions?globalId=5&limit=1',
    ]);
    expect(await c.lookup(5, 'contentId')).toMatchObject({ kind: 'found', schema: { idKind: 'contentId' } });
    expect(await c.lookup(6, 'contentId')).toEqual({ kind: 'unknown', id: 6 });
    // Kinds are cached apart: a content id is not the global id of the same number.
    expect(c.cached(6, 'globalId')).toBeUndefined();
  });

  it('asks the Confluent-compatible API for Confluent ids', async () => {
    handler = (req, res) =>
      req.url === '/apis/ccompat/v7/schemas/ids/3' ? json(res, 200, { schema: AVRO }) : json(res, 404, {});
    const c = client({ url: base, vendor: 'apicurio' });
    expect(await c.lookup(3)).toMatchObject({ kind: 'found', schema: { schemaType: 'AVRO' } });
  });

  it('refuses global ids against a Confluent registry', async () => {
    expect(await client().lookup(1, 'globalId')).toEqual({
      kind: 'unavailable',
      reason: 'globalId lookups need an Apicurio registry',
    });
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!condition()) throw new Error('condition never held');
}
