import fc from 'fast-check';
import { decodeRequestHeader, decodeResponseHeader } from '../../../../src/protocol/headers';
import { ProtocolError, Reader, Writer } from '../../../../src/protocol/primitives';
import { codecOf, forEachVersion, messageArbitrary, SCHEMAS, type MessageSchema } from './support/schemas';

/**
 * Hostile bytes for every decoder at every version: whatever arrives, the only thing allowed to
 * escape is a ProtocolError (anything else would take the proxy's connection handling down with
 * it). Runs are few per version because there are about six hundred of them.
 */
const RUNS = 8;

// Thousands of rejections per second: their stack traces, formatted through jest's source-map
// support, would cost far more than the decoding under test.
let stackTraceLimit: number;
beforeAll(() => {
  stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
});
afterAll(() => {
  Error.stackTraceLimit = stackTraceLimit;
});

function decodeOutcome(decode: (reader: Reader) => unknown, bytes: Uint8Array): 'ok' | 'rejected' {
  try {
    decode(new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
    return 'ok';
  } catch (error) {
    if (error instanceof ProtocolError) return 'rejected';
    throw error;
  }
}

function validEncoding(schema: MessageSchema, version: number): fc.Arbitrary<Buffer> {
  const { encode } = codecOf(schema);
  return messageArbitrary(schema, version).map((message) => {
    const writer = new Writer(64);
    encode(writer, message, version);
    return Buffer.from(writer.result());
  });
}

/** Random garbage, with the odd run of 0xff and 0x80 that drives varints and lengths to extremes. */
const garbage = fc.array(
  fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x7f, 0x80, 0xff)),
  { maxLength: 96 },
);

it.each(SCHEMAS.map((schema) => [schema.name, schema] as const))(
  '%s: only ProtocolError escapes, at every version',
  (_name, schema) => {
    const { decode, encode } = codecOf(schema);
    forEachVersion(schema, (version) => {
      const run = (reader: Reader): unknown => decode(reader, version);

      fc.assert(
        fc.property(garbage, (bytes) => {
          decodeOutcome(run, Uint8Array.from(bytes));
        }),
        { numRuns: RUNS },
      );

      // Every strict prefix of a valid encoding lacks bytes the decoder will ask for (a sample of
      // cut points, always including the last byte, keeps this linear); corrupted encodings reach
      // much deeper into the decoders than garbage does.
      fc.assert(
        fc.property(
          validEncoding(schema, version),
          fc.array(fc.nat(), { maxLength: 12 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
          (bytes, cuts, edits) => {
            if (bytes.length === 0) return;
            for (const cut of [bytes.length - 1, ...cuts.map((c) => c % bytes.length)]) {
              if (decodeOutcome(run, bytes.subarray(0, cut)) !== 'rejected') {
                throw new Error(`prefix of ${cut}/${bytes.length} bytes decoded`);
              }
            }
            const mutated = Buffer.from(bytes);
            for (const [at, value] of edits) mutated[at % mutated.length] = value;
            // Whatever a decoder accepts, its encoder must be able to write back.
            let decoded: Record<string, unknown> | undefined;
            decodeOutcome((reader) => (decoded = decode(reader, version)), mutated);
            if (decoded !== undefined) encode(new Writer(), decoded, version);
          },
        ),
        { numRuns: RUNS * 2 },
      );
    });
  },
);

describe('header decoders', () => {
  it('only ProtocolError escapes decodeRequestHeader', () => {
    fc.assert(
      fc.property(garbage, (bytes) => {
        decodeOutcome(decodeRequestHeader, Uint8Array.from(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('only ProtocolError escapes decodeResponseHeader, whatever the api key and version', () => {
    fc.assert(
      fc.property(
        garbage,
        fc.integer({ min: -1, max: 200 }),
        fc.integer({ min: -1, max: 40 }),
        (bytes, key, version) => {
          decodeOutcome((reader) => decodeResponseHeader(reader, key, version), Uint8Array.from(bytes));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('rejects versions a decoder does not define', () => {
    for (const schema of SCHEMAS) {
      const { decode } = codecOf(schema);
      const [min, max] = schema.validVersions;
      for (const version of [min - 1, max + 1]) {
        expect(() => decode(new Reader(Buffer.alloc(64)), version)).toThrow(ProtocolError);
      }
    }
  });
});
