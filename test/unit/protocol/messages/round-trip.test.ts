import { deepStrictEqual } from 'node:assert/strict';
import fc from 'fast-check';
import { API_CODECS, API_KEYS } from '../../../../src/protocol/messages';
import { Reader, Writer } from '../../../../src/protocol/primitives';
import { codecOf, forEachVersion, messageArbitrary, SCHEMAS, type MessageSchema } from './support/schemas';

// Every generated API, every version, both directions: cheap enough to cover them all.
const RUNS = 20;

function encode(schema: MessageSchema, message: Record<string, unknown>, version: number): Buffer {
  const writer = new Writer(64);
  codecOf(schema).encode(writer, message, version);
  return Buffer.from(writer.result());
}

describe('generated codecs cover the definitions', () => {
  it('has a request and a response codec for every API with versions, plus both headers', () => {
    const live = API_KEYS.filter((api) => api.request !== null);
    expect(API_CODECS.map((c) => c.apiKey)).toEqual(live.map((api) => api.apiKey));
    expect(SCHEMAS.filter((s) => s.type === 'request')).toHaveLength(live.length);
    expect(SCHEMAS.filter((s) => s.type === 'response')).toHaveLength(live.length);
    expect(SCHEMAS.filter((s) => s.type === 'header').map((s) => s.name)).toEqual([
      'RequestHeader',
      'ResponseHeader',
    ]);
    for (const schema of SCHEMAS) expect(() => codecOf(schema)).not.toThrow();
  });
});

it.each(SCHEMAS.map((schema) => [schema.name, schema] as const))(
  '%s: encode -> decode is identity and decode -> encode is byte-identical at every version',
  (_name, schema) => {
    const { decode } = codecOf(schema);
    forEachVersion(schema, (version) => {
      fc.assert(
        fc.property(messageArbitrary(schema, version), (message) => {
          const bytes = encode(schema, message, version);
          const reader = new Reader(bytes);
          const decoded = decode(reader, version);
          // node:assert rather than expect inside the property: thousands of runs, and jest's
          // matchers cost more than the codecs under test.
          deepStrictEqual(reader.remaining(), 0);
          deepStrictEqual(decoded, message);
          deepStrictEqual(encode(schema, decoded, version), bytes);
        }),
        { numRuns: RUNS },
      );
    });
  },
);
