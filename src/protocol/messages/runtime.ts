/**
 * Support code for the generated message codecs (src/protocol/messages/generated). It holds the
 * pieces the primitives lack: a tagged-field section walked inline by generated code (so that a
 * decode costs no closure per struct), the bookkeeping that keeps decode -> encode byte-identical,
 * and the errors the generated code raises.
 */
import { NO_TAGGED_FIELDS, ProtocolError, Reader, type RawTaggedField, type Writer } from '../primitives';

export { NO_TAGGED_FIELDS };

/** Kafka's default UUID (all zero bits), in the 32-hex-digit form decoders return. */
export const ZERO_UUID = '00000000000000000000000000000000';

/** Default for absent non-nullable bytes: zero-length, so sharing one instance is harmless. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

/** Reads the count of a tagged-field section; each field needs at least a tag and a size byte. */
export function readTaggedFieldCount(reader: Reader): number {
  const at = reader.offset;
  const count = reader.uvarint();
  if (count * 2 > reader.remaining()) {
    throw new ProtocolError(`${count} tagged fields cannot fit in the ${reader.remaining()} bytes left`, at);
  }
  return count;
}

/** Reads a tag, enforcing the strictly increasing order the protocol requires. */
export function readTag(reader: Reader, previousTag: number): number {
  const at = reader.offset;
  const tag = reader.uvarint();
  if (tag <= previousTag) throw new ProtocolError(`tagged field ${tag} out of order`, at);
  return tag;
}

/** A reader bounded to one tagged field's bytes; the outer reader moves past them. */
export function taggedFieldReader(reader: Reader, size: number): Reader {
  const start = reader.offset;
  if (size > reader.end - start) {
    throw new ProtocolError(`tagged field needs ${size} bytes but only ${reader.end - start} remain`, start);
  }
  reader.offset = start + size;
  return new Reader(reader.buffer, start, start + size);
}

/** A known tagged field must be consumed exactly, or its declared size lied. */
export function endTaggedField(field: Reader, tag: number): void {
  if (field.offset !== field.end) {
    throw new ProtocolError(
      `tagged field ${tag} has ${field.end - field.offset} trailing bytes`,
      field.offset,
    );
  }
}

export function addUnknownTaggedField(fields: RawTaggedField[], tag: number, data: Buffer): RawTaggedField[] {
  if (fields === NO_TAGGED_FIELDS) return [{ tag, data }];
  fields.push({ tag, data });
  return fields;
}

/**
 * Records that a known tagged field arrived although it held its default value. Kafka's own
 * encoders omit such fields, so without this note a re-encode would drop bytes the peer sent.
 */
export function addTag(tags: number[] | undefined, tag: number): number[] {
  if (tags === undefined) return [tag];
  tags.push(tag);
  return tags;
}

export function hasTag(tags: number[] | undefined, tag: number): boolean {
  return tags !== undefined && tags.includes(tag);
}

/**
 * Writes the unknown tagged fields (sorted by tag, as decoded) from index `from` whose tag is below
 * `belowTag`, and returns the index of the first one not written. Generated encoders interleave
 * these with the known fields so that the section stays in tag order.
 */
export function writeUnknownTaggedFieldsBelow(
  writer: Writer,
  fields: RawTaggedField[],
  from: number,
  belowTag: number,
): number {
  let index = from;
  while (index < fields.length && fields[index].tag < belowTag) {
    const field = fields[index++];
    writeTaggedField(writer, field.tag, field.data);
  }
  return index;
}

export function writeTaggedField(writer: Writer, tag: number, data: Buffer): void {
  writer.uvarint(tag).uvarint(data.length).raw(data);
}

export function writeUuid(writer: Writer, hex: string): void {
  writer.uuid(hex);
}

/** A null where the encoded version has no way to express one. */
export function notNull<T>(value: T | null, field: string, version: number): T {
  if (value === null) throw new TypeError(`${field} cannot be null in version ${version}`);
  return value;
}

export function nullInNonNullable(reader: Reader, field: string): ProtocolError {
  return new ProtocolError(`null in non-nullable ${field}`, reader.offset);
}

export function unsupportedVersion(what: string, version: number, offset: number): ProtocolError {
  return new ProtocolError(`unsupported ${what} version ${version}`, offset);
}

/** Adds the api key and version to errors raised by body decoders, which do not know them. */
export function withApi(error: unknown, apiKey: number, version: number): unknown {
  return error instanceof ProtocolError ? error.withApi(apiKey, version) : error;
}
