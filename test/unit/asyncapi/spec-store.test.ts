import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { validateRecord, type ValidatedRecord } from '../../../src/asyncapi/record-validator';
import { SpecError } from '../../../src/asyncapi/spec-error';
import { SpecStore } from '../../../src/asyncapi/spec-store';

const asyncapiDir = path.join(__dirname, '../../../asyncapi');
const sharedExamples = path.join(__dirname, '../../../../shared/asyncapi-examples');
const read = (file: string) => readFileSync(file, 'utf8');

function record(value: unknown, extra: Partial<ValidatedRecord> = {}): ValidatedRecord {
  return {
    key: null,
    value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    headers: [],
    ...extra,
  };
}

function errorsFor(store: SpecStore, topic: string, r: ValidatedRecord): string[] | null {
  const contract = store.contracts().lookup(topic);
  if (contract === undefined) throw new Error(`no contract for ${topic}`);
  return validateRecord(contract, r);
}

async function refusal(action: Promise<unknown>): Promise<SpecError> {
  try {
    await action;
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  throw new Error('expected the spec to be refused');
}

describe('spec store and record validation', () => {
  jest.setTimeout(30_000);

  it.each(['demo.yaml', 'demo-2.6.yaml'])('enforces the demo contract from %s', async (file) => {
    const store = new SpecStore();
    await store.put('demo', read(path.join(asyncapiDir, file)), 'file');
    expect(errorsFor(store, 'event-gateway-demo', record({ lumens: 100 }))).toBeNull();
    expect(
      errorsFor(store, 'event-gateway-demo', record({ lumens: 5, sentAt: '2021-12-20T11:33:26.583Z' })),
    ).toBeNull();
    expect(errorsFor(store, 'event-gateway-demo', record({ lumens: true }))).toEqual([
      'lumens: Invalid type. Expected: integer, given: boolean',
    ]);
    expect(errorsFor(store, 'event-gateway-demo', record({ lumens: -1 }))).toEqual([
      'lumens: Must be greater than or equal to 0',
    ]);
    expect(errorsFor(store, 'event-gateway-demo', record({ sentAt: 'yesterday' }))).toEqual([
      "sentAt: Does not match format 'date-time'",
    ]);
    expect(errorsFor(store, 'event-gateway-demo', record('{"lumens": 1'))?.[0]).toMatch(
      /^\(root\): value is not valid JSON/,
    );
    expect(errorsFor(store, 'event-gateway-demo', record(null))).toEqual([
      '(root): Invalid type. Expected: object, given: null',
    ]);
    expect(store.contracts().lookup('other-topic')).toBeUndefined();
  });

  it("reads only a record's own properties: a property named like Object's (toString, constructor) is absent when absent", async () => {
    const store = new SpecStore();
    const spec = [
      'asyncapi: 3.0.0',
      'info: {title: own, version: 1.0.0}',
      'channels:',
      '  own: {address: own-properties, messages: {m: {payload: {type: object, properties: {toString: {type: "null"}, constructor: {type: string}, valueOf: {type: integer}}}}}}',
      'operations:',
      "  send: {action: send, channel: {$ref: '#/channels/own'}}",
    ].join('\n');
    await store.put('own', spec, 'api');
    expect(errorsFor(store, 'own-properties', record({}))).toBeNull();
    expect(
      errorsFor(store, 'own-properties', record({ toString: null, constructor: 'c', valueOf: 1 })),
    ).toBeNull();
    expect(errorsFor(store, 'own-properties', record({ toString: 1 }))).toEqual([
      'toString: Invalid type. Expected: null, given: integer',
    ]);
  });

  it('reads parameterised addresses, topic bindings, keys, headers and several messages', async () => {
    const store = new SpecStore();
    await store.put('accounts', read(path.join(asyncapiDir, 'accounts.yaml')), 'file');
    const signup = { email: 'a@example.com', signedUpAt: '2026-01-01T00:00:00Z' };
    const source = (value: string) => [{ key: 'source', value: Buffer.from(value) }];
    expect(errorsFor(store, 'user.42.signedup', record(signup, { headers: source('web') }))).toBeNull();
    expect(store.contracts().lookup('user..signedup')).toBeUndefined();
    expect(errorsFor(store, 'user.42.signedup', record(signup))).toEqual(['headers: source is required']);
    expect(
      errorsFor(
        store,
        'user.7.signedup',
        record(signup, { headers: [...source('web'), { key: 'attempt', value: Buffer.from('0') }] }),
      ),
    ).toEqual(['headers.attempt: Must be greater than or equal to 1']);
    expect(
      errorsFor(
        store,
        'user.7.signedup',
        record(signup, { headers: [...source('web'), { key: 'attempt', value: Buffer.from('two') }] }),
      ),
    ).toEqual(['headers.attempt: Invalid type. Expected: integer, given: string']);

    const lifecycle = store.contracts().lookup('accounts.lifecycle');
    expect(lifecycle?.failWhenInvalid).toBe(true);
    const opened = { type: 'opened', accountId: 'a1', currency: 'EUR' };
    expect(errorsFor(store, 'accounts.lifecycle', record(opened, { key: Buffer.from('acc-1') }))).toBeNull();
    expect(
      errorsFor(
        store,
        'accounts.lifecycle',
        record({ type: 'closed', accountId: 'a1', reason: 'fraud' }, { key: Buffer.from('acc-2') }),
      ),
    ).toBeNull();
    expect(errorsFor(store, 'accounts.lifecycle', record(opened, { key: Buffer.from('bad') }))).toEqual([
      "accountOpened: key: Does not match pattern '^acc-[0-9]+$'",
      'accountClosed: (root): reason is required',
      'accountClosed: type: Must be "closed"',
      "accountClosed: key: Does not match pattern '^acc-[0-9]+$'",
    ]);
  });

  it('refuses invalid documents with diagnostics and keeps the previous contracts', async () => {
    const store = new SpecStore();
    await store.put('demo', read(path.join(asyncapiDir, 'demo.yaml')), 'file');
    const invalid = await refusal(store.put('demo', 'asyncapi: 3.0.0\ninfo: {title: x}\n', 'api'));
    expect(invalid.diagnostics.some((d) => d.message.includes('version'))).toBe(true);
    const notYaml = await refusal(store.put('demo', '{ "asyncapi": ', 'api'));
    expect(notYaml.message).toMatch(/neither YAML nor JSON/);
    const old = await refusal(store.put('demo', 'asyncapi: 1.2.0\ninfo: {title: x, version: "1"}\n', 'api'));
    expect(old.diagnostics[0].message).toMatch(/not supported/);
    expect(errorsFor(store, 'event-gateway-demo', record({ lumens: -1 }))).not.toBeNull();
    expect(store.list()).toHaveLength(1);
  });

  it('refuses references outside the document', async () => {
    const spec = read(path.join(asyncapiDir, 'demo.yaml')).replace(
      "$ref: '#/components/schemas/lightMeasuredPayload'",
      "$ref: 'https://example.com/schema.json'",
    );
    const error = await refusal(new SpecStore().put('remote', spec, 'api'));
    expect(error.diagnostics[0]).toMatchObject({ code: 'external-ref' });
  });

  it('refuses payloads in a schema format it cannot check (RAML)', async () => {
    const spec = `asyncapi: 2.6.0
info: {title: raml, version: '1'}
channels:
  t:
    publish:
      message:
        schemaFormat: application/raml+yaml;version=1.0
        payload: {type: object}
`;
    const error = await refusal(new SpecStore().put('raml', spec, 'api'));
    expect(JSON.stringify(error)).toMatch(/schema (format|parser)|raml/i);
  });

  it('accepts Avro payloads through the worker parser and checks records by decoding them', async () => {
    const spec = `asyncapi: 2.6.0
info: {title: avro, version: '1'}
channels:
  t:
    publish:
      message:
        schemaFormat: application/vnd.apache.avro;version=1.9.0
        payload: {type: record, name: R, fields: [{name: a, type: int}]}
`;
    const store = new SpecStore();
    await store.put('avro', spec, 'api');
    const contract = store.contracts().lookup('t')!;
    expect(validateRecord(contract, { key: null, value: Buffer.from([0x02]), headers: [] })).toBeNull();
    expect(validateRecord(contract, { key: null, value: Buffer.from([0x80]), headers: [] })).toEqual([
      '(root): at a: truncated payload',
    ]);
  });

  it('lets the newest spec win a topic both describe, and forgets a deleted one', async () => {
    const store = new SpecStore();
    await store.put('a', read(path.join(asyncapiDir, 'demo.yaml')), 'file');
    await store.put('b', read(path.join(asyncapiDir, 'demo-2.6.yaml')), 'api');
    expect(store.contracts().lookup('event-gateway-demo')?.specId).toBe('b');
    expect(store.delete('b')).toBe(true);
    expect(store.contracts().lookup('event-gateway-demo')?.specId).toBe('a');
    expect(store.delete('a')).toBe(true);
    expect(store.contracts().empty).toBe(true);
    expect(store.delete('a')).toBe(false);
  });

  const streetlights = ['streetlights-kafka-2.6.yml', 'streetlights-kafka-3.1.yml'];
  const haveExamples = streetlights.every((f) => existsSync(path.join(sharedExamples, f)));
  (haveExamples ? it : it.skip)(
    'enforces the official Streetlights example identically in 2.6 and 3.1',
    async () => {
      const verdicts: (string[] | null)[][] = [];
      for (const file of streetlights) {
        const store = new SpecStore();
        await store.put('streetlights', read(path.join(sharedExamples, file)), 'file');
        const topic = 'smartylighting.streetlights.1.0.event.lamp-7.lighting.measured';
        const header = (v: string) => [{ key: 'my-app-header', value: Buffer.from(v) }];
        verdicts.push([
          errorsFor(
            store,
            topic,
            record({ lumens: 3, sentAt: '2026-11-23T10:00:00Z' }, { headers: header('42') }),
          ),
          errorsFor(store, topic, record({ lumens: 'bright' }, { headers: header('42') })),
          errorsFor(store, topic, record({ lumens: 3 }, { headers: header('101') })),
          errorsFor(store, 'smartylighting.streetlights.1.0.action.lamp-7.dim', record({ percentage: 120 })),
        ]);
      }
      expect(verdicts[0]).toEqual(verdicts[1]);
      expect(verdicts[0]).toEqual([
        null,
        ['lumens: Invalid type. Expected: integer, given: string'],
        ['headers.my-app-header: Must be less than or equal to 100'],
        ['percentage: Must be less than or equal to 100'],
      ]);
    },
  );
  if (!haveExamples) console.warn(`skipped: Streetlights examples not found in ${sharedExamples}`);
});
