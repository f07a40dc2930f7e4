import { compileContracts } from '../../../src/asyncapi/compile-contracts';
import { validateRecord } from '../../../src/asyncapi/record-validator';
import { SpecError } from '../../../src/asyncapi/spec-error';
import type { JsonSchema, SpecOutline } from '../../../src/asyncapi/spec-outline';
import { SpecStore } from '../../../src/asyncapi/spec-store';
import { growth, LINEAR_BOUND } from '../support/growth';

function outline(
  payload: JsonSchema,
  extra: Partial<SpecOutline['channels'][number]['messages'][number]> = {},
) {
  return {
    asyncapi: '3.0.0',
    title: 't',
    version: '1',
    warnings: [],
    channels: [
      {
        id: 'texts',
        topic: 'texts',
        failWhenInvalid: undefined,
        messages: [
          {
            name: 'text',
            schemaFormat: 'application/vnd.aai.asyncapi+json;version=3.0.0',
            payload,
            headers: null,
            key: null,
            ...extra,
          },
        ],
      },
    ],
  } satisfies SpecOutline;
}

function refusal(action: () => unknown): SpecError {
  try {
    action();
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  throw new Error('expected the document to be refused');
}

const record = (value: unknown) => ({ key: null, headers: [], value: Buffer.from(JSON.stringify(value)) });

describe('schema patterns', () => {
  it('validates pattern and patternProperties in time linear in the value', () => {
    const [contract] = compileContracts(
      's',
      outline({
        type: 'object',
        properties: { s: { type: 'string', pattern: 'a+$' } },
        patternProperties: { 'x+$': { type: 'integer' } },
      }),
    );
    expect(validateRecord(contract, record({ s: 'baa' }))).toBeNull();
    expect(validateRecord(contract, record({ s: 'ab' }))).toEqual([expect.stringMatching(/^s: /)]);
    expect(validateRecord(contract, record({ xxx: 'no' }))).toEqual([expect.stringMatching(/^xxx: /)]);
    const ratio = growth((n) => validateRecord(contract, record({ s: `${'a'.repeat(n)}b` })), 2_000);
    expect(ratio).toBeLessThan(LINEAR_BOUND());
    const nested = growth((n) => validateRecord(contract, record({ [`${'x'.repeat(n)}!`]: 1 })), 2_000);
    expect(nested).toBeLessThan(LINEAR_BOUND());
  });

  it('refuses a pattern the linear-time engine cannot run, naming where it is', () => {
    const error = refusal(() =>
      compileContracts(
        's',
        outline({
          type: 'object',
          properties: {
            s: { type: 'string', pattern: '^(a)\\1$' },
            list: { type: 'array', items: [{ pattern: 'ok' }, { not: { pattern: '(?=a)' } }] },
            pattern: { type: 'string' },
          },
          patternProperties: { '(?<!x)y': {} },
          examples: [{ pattern: '(a)\\1' }],
        }),
      ),
    );
    expect(error.diagnostics).toEqual([
      {
        path: 'channels.texts.messages.text.payload.patternProperties.(?<!x)y',
        message: expect.stringMatching(/lookbehind/),
        code: 'unsupported-pattern',
      },
      {
        path: 'channels.texts.messages.text.payload.properties.s.pattern',
        message: expect.stringMatching(/backreference/),
        code: 'unsupported-pattern',
      },
      {
        path: 'channels.texts.messages.text.payload.properties.list.items.1.not.pattern',
        message: expect.stringMatching(/lookahead/),
        code: 'unsupported-pattern',
      },
    ]);
  });

  it('checks key and header schemas, and schemas that refer to themselves', () => {
    const tree: JsonSchema = { type: 'object', properties: { name: { pattern: '(?!x)' } } };
    (tree.properties as Record<string, JsonSchema>).children = { type: 'array', items: tree };
    const error = refusal(() =>
      compileContracts('s', outline(tree, { key: { type: 'string', pattern: '\\k<n>(?<n>a)' } })),
    );
    expect(error.diagnostics.map((d) => d.path)).toEqual([
      'channels.texts.messages.text.payload.properties.name.pattern',
      'channels.texts.messages.text.key.pattern',
    ]);
  });

  it('refuses an uploaded document with such a pattern, naming the schema path', async () => {
    const store = new SpecStore();
    const document = JSON.stringify({
      asyncapi: '3.0.0',
      info: { title: 't', version: '1' },
      channels: {
        texts: {
          address: 'texts',
          messages: {
            text: {
              payload: { type: 'object', properties: { s: { type: 'string', pattern: '(a)\\1' } } },
            },
          },
        },
      },
    });
    await expect(store.put('texts', document, 'api')).rejects.toThrow(
      /channels\.texts\.messages\.text\.payload\.properties\.s\.pattern: .*backreference/,
    );
    expect(store.size()).toBe(0);
  });
});
