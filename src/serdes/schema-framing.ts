import type { SchemaIdKind } from '../registry/schema-lookup';
import type { RecordHeader } from '../protocol/records';

export type { RecordHeader };
import { ByteCursor } from './byte-cursor';

/**
 * How a record carries the id of the schema it was written with, from the Kafka message binding
 * (`schemaIdLocation`, `schemaIdPayloadEncoding`):
 * - none: the bytes are the encoded value alone;
 * - payload: a magic byte 0 then the id, big-endian, in `idBytes` bytes (Confluent: 4, the
 *   registry's own id; Apicurio 3 `apicurio-new`: 4, a contentId; Apicurio 2 `apicurio-legacy`:
 *   8, a globalId), then, for Protobuf in Confluent's format, the message indexes;
 * - header: the id in a record header, as Apicurio's serdes write it (an 8-byte big-endian long
 *   under `apicurio.value.globalId` or `apicurio.value.contentId`, `key` for keys).
 */
export interface Framing {
  location: 'none' | 'payload' | 'header';
  idBytes: number;
  idKind: SchemaIdKind;
  /** Protobuf in Confluent's framing: message indexes follow the id. */
  messageIndexes: boolean;
  /** Words for docs and errors: `confluent`, `apicurio-new`, `apicurio-legacy`, or a byte count. */
  encoding: string;
}

export const UNFRAMED: Framing = {
  location: 'none',
  idBytes: 0,
  idKind: 'confluent',
  messageIndexes: false,
  encoding: 'none',
};

/** The header names Apicurio's serdes put the ids in, by part and id kind. */
export const APICURIO_ID_HEADERS = {
  value: { globalId: 'apicurio.value.globalId', contentId: 'apicurio.value.contentId' },
  key: { globalId: 'apicurio.key.globalId', contentId: 'apicurio.key.contentId' },
} as const;

/** Reads the framing fields of a message binding; returns the reason when they make no sense. */
export function framingOf(
  binding: { schemaIdLocation?: unknown; schemaIdPayloadEncoding?: unknown } | undefined,
  format: 'avro' | 'protobuf',
): Framing | string {
  if (binding === undefined) return UNFRAMED;
  const { schemaIdLocation: location, schemaIdPayloadEncoding: encoding } = binding;
  if (location !== undefined && location !== 'payload' && location !== 'header')
    return `schemaIdLocation must be 'payload' or 'header', not ${JSON.stringify(location)}`;
  if (location === 'header') {
    if (encoding !== undefined)
      return 'schemaIdPayloadEncoding applies only when schemaIdLocation is payload';
    return { location: 'header', idBytes: 8, idKind: 'globalId', messageIndexes: false, encoding: 'header' };
  }
  if (location === undefined && encoding === undefined) return UNFRAMED;
  const word = encoding ?? 'confluent';
  if (word === 'confluent')
    return {
      location: 'payload',
      idBytes: 4,
      idKind: 'confluent',
      messageIndexes: format === 'protobuf',
      encoding: 'confluent',
    };
  if (word === 'apicurio-new' || word === 'apicurio-legacy') {
    if (format === 'protobuf')
      return `schemaIdPayloadEncoding ${word} is supported for Avro only (Protobuf: confluent)`;
    const legacy = word === 'apicurio-legacy';
    return {
      location: 'payload',
      idBytes: legacy ? 8 : 4,
      idKind: legacy ? 'globalId' : 'contentId',
      messageIndexes: false,
      encoding: word,
    };
  }
  const bytes = typeof word === 'string' && /^\d+$/.test(word) ? Number(word) : word;
  if (typeof bytes === 'number' && Number.isInteger(bytes) && bytes >= 1 && bytes <= 8)
    return {
      location: 'payload',
      idBytes: bytes,
      idKind: 'confluent',
      messageIndexes: false,
      encoding: String(bytes),
    };
  return `schemaIdPayloadEncoding must be confluent, apicurio-new, apicurio-legacy or a byte count from 1 to 8, not ${JSON.stringify(word)}`;
}

/** Where the encoded value starts and which schema id came with it. Reused: one per check. */
export class Frame {
  /** -1 when the record carries none (unframed). */
  id = -1;
  start = 0;
  /** Protobuf message indexes (Confluent): [0] for the first message of the schema; empty when unframed. */
  readonly indexes: number[] = [];
  private readonly cursor = new ByteCursor();

  /** Reads the frame of `bytes`; null when it is sound, else why not. */
  read(
    framing: Framing,
    bytes: Buffer,
    headers: readonly RecordHeader[],
    part: 'value' | 'key',
  ): string | null {
    this.id = -1;
    this.start = 0;
    this.indexes.length = 0;
    if (framing.location === 'none') return null;
    if (framing.location === 'header') return this.fromHeaders(headers, part);
    if (bytes.length === 0 || bytes[0] !== 0) return 'missing magic byte (the schema id frame starts with 0)';
    if (bytes.length < 1 + framing.idBytes) return 'truncated payload (the schema id frame is cut short)';
    this.id = readId(bytes, 1, framing.idBytes);
    if (this.id > Number.MAX_SAFE_INTEGER) return OUT_OF_RANGE;
    this.start = 1 + framing.idBytes;
    if (framing.messageIndexes) return this.readIndexes(bytes);
    return null;
  }

  private readIndexes(bytes: Buffer): string | null {
    const c = this.cursor;
    c.reset(bytes, this.start, bytes.length);
    if (!c.zigzag(5)) return `${c.reason} in the message indexes`;
    const count = c.value;
    // A count of 0 is Confluent's short form for [0], the first message of the schema.
    if (count < 0 || count > 32 || count > bytes.length - c.pos)
      return `invalid message index count ${count}`;
    if (count === 0) this.indexes.push(0);
    for (let i = 0; i < count; i++) {
      if (!c.zigzag(5)) return `${c.reason} in the message indexes`;
      if (c.value < 0) return `invalid message index ${c.value}`;
      this.indexes.push(c.value);
    }
    this.start = c.pos;
    return null;
  }

  private fromHeaders(headers: readonly RecordHeader[], part: 'value' | 'key'): string | null {
    const names = APICURIO_ID_HEADERS[part];
    for (const header of headers) {
      const isGlobal = header.key === names.globalId;
      if (!isGlobal && header.key !== names.contentId) continue;
      const value = header.value;
      if (value === null || value.length !== 8) return `schema id header ${header.key} is not an 8-byte id`;
      this.id = readId(value, 0, 8);
      this.idKind = isGlobal ? 'globalId' : 'contentId';
      return this.id > Number.MAX_SAFE_INTEGER ? OUT_OF_RANGE : null;
    }
    return `missing schema id header ${names.globalId} (or ${names.contentId})`;
  }

  /** For header framing: which numbering the header used. */
  idKind: SchemaIdKind = 'globalId';
}

/**
 * An 8-byte id past 2^53 cannot be held exactly, so two such ids could be taken for one another;
 * no registry hands them out.
 */
const OUT_OF_RANGE = 'schema id out of range (above 2^53)';

/** A big-endian unsigned id of 1 to 8 bytes (exact to 2^53, beyond any registry's ids). */
function readId(bytes: Buffer, at: number, size: number): number {
  let id = 0;
  for (let i = 0; i < size; i++) id = id * 256 + bytes[at + i];
  return id;
}
