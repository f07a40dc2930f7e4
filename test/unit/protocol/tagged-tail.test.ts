import fc from 'fast-check';
import { encodeResponseHeader } from '../../../src/protocol/headers';
import { ApiKey } from '../../../src/protocol/messages';
import { ProtocolError, Writer } from '../../../src/protocol/primitives';
import {
  FETCH_RESPONSE_LAYOUT_VERSIONS,
  fetchResponseLayout,
  PRODUCE_RESPONSE_LAYOUT_VERSIONS,
  produceResponseLayout,
} from '../../../src/protocol/response-layouts';
import { TaggedTailScanner, type Layout } from '../../../src/protocol/tagged-tail';
import { codecOf, messageArbitrary, SCHEMAS, type Message } from './messages/support/schemas';

const cases = [
  {
    name: 'ProduceResponse',
    apiKey: ApiKey.Produce,
    versions: PRODUCE_RESPONSE_LAYOUT_VERSIONS,
    layout: produceResponseLayout,
  },
  {
    name: 'FetchResponse',
    apiKey: ApiKey.Fetch,
    versions: FETCH_RESPONSE_LAYOUT_VERSIONS,
    layout: fetchResponseLayout,
  },
] as const;

function encodeWithHeader(name: string, apiKey: number, message: Message, version: number): Buffer {
  const schema = SCHEMAS.find((s) => s.name === name)!;
  const writer = new Writer(256);
  encodeResponseHeader(writer, { correlationId: 7 }, apiKey, version);
  codecOf(schema).encode(writer, message, version);
  return Buffer.from(writer.result());
}

/** The same message without its own tagged fields. */
function withoutTags(message: Message): Message {
  const { explicitDefaultTags: _dropped, ...rest } = message;
  return { ...rest, nodeEndpoints: [], unknownTaggedFields: [] };
}

/** Splits `bytes` at the given cut lengths (cycled) and feeds them one by one. */
function pushInPieces(scanner: TaggedTailScanner, bytes: Buffer, cuts: number[]): number {
  let before = 0;
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const end = Math.min(bytes.length, offset + cuts[i % cuts.length]);
    const piece = bytes.subarray(offset, end);
    const taken = scanner.push(piece);
    expect(taken).toBeLessThanOrEqual(piece.length);
    before += taken;
    if (taken < piece.length) expect(scanner.reachedTail).toBe(true);
    offset = end;
  }
  return before;
}

describe.each(cases)('TaggedTailScanner on $name', ({ name, apiKey, versions, layout }) => {
  const schema = SCHEMAS.find((s) => s.name === name)!;
  const all = Array.from({ length: versions.max - versions.min + 1 }, (_, i) => versions.min + i);

  it.each(all)('finds where the tagged fields start at v%i, whole and in any pieces', (version) => {
    fc.assert(
      fc.property(
        messageArbitrary(schema, version),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 8 }),
        (message, cuts) => {
          const payload = encodeWithHeader(name, apiKey, message, version);
          // The same message without its own tagged fields ends in one byte (count 0), which is
          // where the tail starts: everything before it is identical.
          const bare = encodeWithHeader(name, apiKey, withoutTags(message), version);
          const expected = bare.length - 1;
          expect(payload.subarray(0, expected)).toEqual(bare.subarray(0, expected));
          expect(TaggedTailScanner.find(payload, layout(version)!)).toBe(expected);
          expect(pushInPieces(new TaggedTailScanner(layout(version)!), payload, cuts)).toBe(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reports a response cut short before its tail', () => {
    const version = versions.max;
    fc.assert(
      fc.property(messageArbitrary(schema, version), fc.nat(), (message, cut) => {
        const payload = encodeWithHeader(name, apiKey, message, version);
        const bare = encodeWithHeader(name, apiKey, withoutTags(message), version);
        const truncated = payload.subarray(0, cut % (bare.length - 1));
        expect(() => TaggedTailScanner.find(truncated, layout(version)!)).toThrow(ProtocolError);
      }),
      { numRuns: 60 },
    );
  });

  it('has no layout outside the versions it describes', () => {
    expect(layout(versions.min - 1)).toBeUndefined();
    expect(layout(versions.max + 1)).toBeUndefined();
  });
});

describe('TaggedTailScanner', () => {
  const layout: Layout = [2, 'string', [4, 'tags']];

  it('reads varints split across pieces', () => {
    // header (correlation id, no tags), 2 fixed bytes, a 200-byte string (length 201 = 0xc9 0x01), empty array
    const payload = Buffer.concat([
      Buffer.from([0, 0, 0, 1, 0]),
      Buffer.from([9, 9]),
      Buffer.from([0xc9, 0x01]),
      Buffer.alloc(200, 7),
      Buffer.from([1]),
      Buffer.from([0]),
    ]);
    for (let cut = 1; cut < payload.length; cut++) {
      const scanner = new TaggedTailScanner(layout);
      const before = scanner.push(payload.subarray(0, cut)) + scanner.push(payload.subarray(cut));
      expect(before).toBe(payload.length - 1);
    }
  });

  it('refuses a varint longer than five bytes', () => {
    const payload = Buffer.from([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(() => TaggedTailScanner.find(payload, layout)).toThrow(/varint is longer than 5 bytes/);
  });
});
