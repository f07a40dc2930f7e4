import {
  createMetadataResponse,
  createMetadataResponseTopic,
  encodeMetadataResponse,
} from '../../../../src/protocol/messages';
import {
  addUnknownTaggedField,
  endTaggedField,
  NO_TAGGED_FIELDS,
  readTag,
  readTaggedFieldCount,
  taggedFieldReader,
  withApi,
  writeUnknownTaggedFieldsBelow,
  writeUuid,
} from '../../../../src/protocol/messages/runtime';
import { ProtocolError, Reader, Writer } from '../../../../src/protocol/primitives';

describe('tagged-field runtime', () => {
  it('interleaves unknown fields around a known tag', () => {
    const unknown = [1, 5, 9].map((tag) => ({ tag, data: Buffer.from([tag]) }));
    const writer = new Writer();
    const next = writeUnknownTaggedFieldsBelow(writer, unknown, 0, 5);
    expect(next).toBe(1);
    writer.uvarint(7).uvarint(0); // the known field
    writeUnknownTaggedFieldsBelow(writer, unknown, next, Number.POSITIVE_INFINITY);
    expect(Buffer.from(writer.result())).toEqual(Buffer.from('010101' + '0700' + '050105' + '090109', 'hex'));
  });

  it('rejects counts the remaining bytes cannot hold', () => {
    expect(() => readTaggedFieldCount(new Reader(Buffer.from('03000000', 'hex')))).toThrow(ProtocolError);
    expect(readTaggedFieldCount(new Reader(Buffer.from('0200000000', 'hex')))).toBe(2);
  });

  it('rejects tags out of order or repeated', () => {
    expect(() => readTag(new Reader(Buffer.from('03', 'hex')), 3)).toThrow(/out of order/);
    expect(() => readTag(new Reader(Buffer.from('02', 'hex')), 3)).toThrow(/out of order/);
    expect(readTag(new Reader(Buffer.from('04', 'hex')), 3)).toBe(4);
  });

  it('bounds a known field to its declared size', () => {
    const reader = new Reader(Buffer.from('aabbccdd', 'hex'));
    expect(() => taggedFieldReader(reader, 5)).toThrow(ProtocolError);
    const field = taggedFieldReader(reader, 3);
    expect(reader.offset).toBe(3);
    expect(field.uint8()).toBe(0xaa);
    expect(() => endTaggedField(field, 1)).toThrow(/2 trailing bytes/);
    field.uint16();
    expect(() => field.uint8()).toThrow(ProtocolError);
    expect(() => endTaggedField(field, 1)).not.toThrow();
  });

  it('never mutates the shared empty list', () => {
    const list = addUnknownTaggedField(NO_TAGGED_FIELDS, 4, Buffer.alloc(0));
    expect(list).not.toBe(NO_TAGGED_FIELDS);
    expect(NO_TAGGED_FIELDS).toHaveLength(0);
    expect(() => NO_TAGGED_FIELDS.push({ tag: 1, data: Buffer.alloc(0) })).toThrow(TypeError);
  });

  it('names the api in body errors', () => {
    expect(withApi(new ProtocolError('x', 3), 1, 12)).toMatchObject({ apiKey: 1, apiVersion: 12, offset: 3 });
    const other = new Error('bug');
    expect(withApi(other, 1, 12)).toBe(other);
  });
});

describe('encoder guards', () => {
  it('refuses malformed uuids instead of writing short', () => {
    for (const bad of ['', 'abc', 'zz'.repeat(16), '0'.repeat(34)]) {
      expect(() => writeUuid(new Writer(), bad)).toThrow(RangeError);
    }
    const writer = new Writer();
    writeUuid(writer, '0123456789abcdef0123456789abcdef');
    expect(writer.offset).toBe(16);
  });

  it('refuses null where the version cannot express it', () => {
    const response = createMetadataResponse();
    response.topics.push({ ...createMetadataResponseTopic(), name: null });
    expect(() => encodeMetadataResponse(new Writer(), response, 12)).not.toThrow();
    expect(() => encodeMetadataResponse(new Writer(), response, 11)).toThrow(
      /name cannot be null in version 11/,
    );
  });

  it('refuses versions it does not define', () => {
    expect(() => encodeMetadataResponse(new Writer(), createMetadataResponse(), 14)).toThrow(ProtocolError);
  });
});
