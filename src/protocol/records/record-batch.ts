import { isUtf8 } from 'node:buffer';
import { crc32c } from '@node-rs/crc32';
import { ProtocolError } from '../primitives/protocol-error';
import { Reader } from '../primitives/reader';
import { uvarintSize, Writer } from '../primitives/writer';
import { compressionCodec, DEFAULT_MAX_DECOMPRESSED_BYTES } from './compression';

/**
 * Kafka record batches (magic v2), as found in the `records` field of Produce requests and Fetch
 * responses. Reading a batch decodes its 61-byte header only and keeps the batch's bytes as they
 * arrived, so the common case (every record valid) forwards the client's bytes untouched; records
 * are decoded on demand, as views into the batch (or into its decompressed records), never copies.
 *
 * Layout (DefaultRecordBatch in Kafka):
 *   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 |
 *   crc uint32 (CRC-32C of everything from attributes on) | attributes int16 | lastOffsetDelta int32 |
 *   baseTimestamp int64 | maxTimestamp int64 | producerId int64 | producerEpoch int16 |
 *   baseSequence int32 | recordsCount int32 | records (one compressed block when compressed)
 */

export const RECORD_BATCH_MAGIC = 2;
/** baseOffset and batchLength: the part of every entry, of any magic, outside its length. */
export const LOG_OVERHEAD = 12;
export const RECORD_BATCH_OVERHEAD = 61;

// Offsets from the start of the batch, per the layout above. Exported for the readers that walk
// batches as they stream past (produce-record-counter.ts), so the layout is written down once.
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
const CRC_OFFSET = 17;
const ATTRIBUTES_OFFSET = 21;
const LAST_OFFSET_DELTA_OFFSET = 23;
const BASE_TIMESTAMP_OFFSET = 27;
const MAX_TIMESTAMP_OFFSET = 35;
const PRODUCER_ID_OFFSET = 43;
const PRODUCER_EPOCH_OFFSET = 51;
const BASE_SEQUENCE_OFFSET = 53;
export const RECORDS_COUNT_OFFSET = 57;
/** Everything up to and including the magic byte, which tells how to read the rest. */
export const HEADER_SIZE_UP_TO_MAGIC = MAGIC_OFFSET + 1;
/** The smallest legacy (magic 0) message after its length field: crc, magic, attributes, key and value lengths. */
export const LEGACY_MIN_MESSAGE_SIZE = 14;
/** A record needs at least a byte for each of its seven varint/int8 fields. */
const MIN_RECORD_SIZE = 7;

export const BatchAttributes = {
  CompressionMask: 0x07,
  /** Set: timestamps are LogAppendTime, assigned by the broker; clear: CreateTime. */
  LogAppendTime: 0x08,
  Transactional: 0x10,
  Control: 0x20,
  /** Set: baseTimestamp holds the delete horizon of a compacted batch. */
  DeleteHorizon: 0x40,
} as const;

/** The header fields a batch is re-encoded from; batchLength, crc and recordsCount are derived. */
export interface RecordBatchHeader {
  baseOffset: bigint;
  partitionLeaderEpoch: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
}

/** A magic v2 batch: its decoded header and its untouched bytes. */
export interface RecordBatch extends Readonly<RecordBatchHeader> {
  readonly magic: 2;
  readonly batchLength: number;
  readonly crc: number;
  readonly recordsCount: number;
  /** Attribute bits 0-2; values 5-7 are invalid and make decodeRecords throw. */
  readonly compression: number;
  /** The whole batch, from baseOffset to its last byte, as a view into the source buffer. */
  readonly bytes: Buffer;
}

/**
 * One magic 0 or 1 message (possibly a compressed wrapper around several), recognised only so that
 * callers can decide what to do with it: it is not decoded.
 */
export interface LegacyMessage {
  readonly magic: 0 | 1;
  readonly baseOffset: bigint;
  readonly batchLength: number;
  readonly bytes: Buffer;
}

export type RecordBatchView = RecordBatch | LegacyMessage;

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  attributes: number;
  /** A number whenever exact (|delta| < 2^53), a bigint beyond that. */
  timestampDelta: number | bigint;
  offsetDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface ReadRecordBatchesOptions {
  /**
   * Fetch responses may end with a batch cut short by the broker's size limit, which consumers
   * skip; it is dropped from the result. Produce requests never legitimately do, so by default a
   * partial batch is a ProtocolError.
   */
  allowPartialTrailingBatch?: boolean;
}

export interface DecodeRecordsOptions {
  /** Cap on one batch's decompressed records; beyond it decoding fails instead of allocating. */
  maxDecompressedBytes?: number;
  /**
   * Checks the batch CRC first (default true). Whoever re-encodes a batch computes a fresh CRC,
   * which would launder corruption the broker would otherwise have caught.
   */
  verifyCrc?: boolean;
}

export interface EncodeRecordBatchOptions {
  /** Codec-specific level; left out, the codec's (the Java producer's) default. */
  compressionLevel?: number;
}

export function isTransactional(batch: RecordBatchHeader): boolean {
  return (batch.attributes & BatchAttributes.Transactional) !== 0;
}

export function isControlBatch(batch: RecordBatchHeader): boolean {
  return (batch.attributes & BatchAttributes.Control) !== 0;
}

/**
 * Splits a `records` field into its batches. Only the headers are decoded; each view keeps the
 * batch's bytes as a view into `data`. Magic 0/1 entries are returned as LegacyMessage, undecoded.
 */
export function readRecordBatches(data: Buffer, options?: ReadRecordBatchesOptions): RecordBatchView[] {
  const allowPartial = options?.allowPartialTrailingBatch === true;
  const batches: RecordBatchView[] = [];
  let at = 0;
  while (at < data.length) {
    const left = data.length - at;
    if (left < HEADER_SIZE_UP_TO_MAGIC) {
      if (allowPartial) break;
      throw new ProtocolError(`partial record batch: ${left} trailing bytes`, at);
    }
    const batchLength = data.readInt32BE(at + BATCH_LENGTH_OFFSET);
    if (batchLength < LEGACY_MIN_MESSAGE_SIZE) {
      throw new ProtocolError(`invalid record batch length ${batchLength}`, at + BATCH_LENGTH_OFFSET);
    }
    const magic = data[at + MAGIC_OFFSET];
    if (magic > RECORD_BATCH_MAGIC) {
      throw new ProtocolError(`unknown record batch magic ${magic}`, at + MAGIC_OFFSET);
    }
    if (magic === RECORD_BATCH_MAGIC && batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) {
      throw new ProtocolError(
        `record batch length ${batchLength} is shorter than its header`,
        at + BATCH_LENGTH_OFFSET,
      );
    }
    if (batchLength > left - LOG_OVERHEAD) {
      if (allowPartial) break;
      throw new ProtocolError(
        `partial record batch: ${batchLength} bytes announced, ${left - LOG_OVERHEAD} present`,
        at,
      );
    }
    const end = at + LOG_OVERHEAD + batchLength;
    const bytes = data.subarray(at, end);
    if (magic === RECORD_BATCH_MAGIC) {
      batches.push(readHeader(bytes, batchLength, at));
    } else {
      batches.push({ magic: magic as 0 | 1, baseOffset: bytes.readBigInt64BE(0), batchLength, bytes });
    }
    at = end;
  }
  return batches;
}

function readHeader(bytes: Buffer, batchLength: number, at: number): RecordBatch {
  const attributes = bytes.readInt16BE(ATTRIBUTES_OFFSET);
  const recordsCount = bytes.readInt32BE(RECORDS_COUNT_OFFSET);
  if (recordsCount < 0) {
    throw new ProtocolError(`invalid record count ${recordsCount}`, at + RECORDS_COUNT_OFFSET);
  }
  return {
    magic: RECORD_BATCH_MAGIC,
    baseOffset: bytes.readBigInt64BE(0),
    batchLength,
    partitionLeaderEpoch: bytes.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET),
    crc: bytes.readUInt32BE(CRC_OFFSET),
    attributes,
    lastOffsetDelta: bytes.readInt32BE(LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: bytes.readBigInt64BE(BASE_TIMESTAMP_OFFSET),
    maxTimestamp: bytes.readBigInt64BE(MAX_TIMESTAMP_OFFSET),
    producerId: bytes.readBigInt64BE(PRODUCER_ID_OFFSET),
    producerEpoch: bytes.readInt16BE(PRODUCER_EPOCH_OFFSET),
    baseSequence: bytes.readInt32BE(BASE_SEQUENCE_OFFSET),
    recordsCount,
    compression: attributes & BatchAttributes.CompressionMask,
    bytes,
  };
}

/** Whether the batch's CRC-32C (over attributes to the end) matches its bytes. */
export function verifyCrc(batch: RecordBatch): boolean {
  return crc32c(batch.bytes.subarray(ATTRIBUTES_OFFSET)) === batch.crc;
}

/** Throws the ProtocolError that says the batch's CRC does not match its bytes. */
export function checkCrc(batch: RecordBatch): void {
  if (!verifyCrc(batch))
    throw new ProtocolError(`record batch CRC mismatch: header says ${batch.crc}`, CRC_OFFSET);
}

/** The batch's records section exactly as sent: compressed when the batch is. */
export function recordsSection(batch: RecordBatch): Buffer {
  return batch.bytes.subarray(RECORD_BATCH_OVERHEAD);
}

/**
 * Decodes every record of a batch, decompressing first when needed. Keys, values and header values
 * are views into the batch bytes (uncompressed) or the decompressed buffer. Error offsets are
 * within the batch, or within the decompressed records for compressed batches.
 */
export function decodeRecords(batch: RecordBatch, options?: DecodeRecordsOptions): DecodedRecord[] {
  const bytes = batch.bytes;
  if (options?.verifyCrc !== false) checkCrc(batch);
  const codec = compressionCodec(batch.compression, ATTRIBUTES_OFFSET);
  let reader: Reader;
  if (codec.type === 0) {
    reader = new Reader(bytes, RECORD_BATCH_OVERHEAD);
  } else {
    const maxBytes = options?.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
    reader = new Reader(codec.decompress(recordsSection(batch), maxBytes, RECORD_BATCH_OVERHEAD));
  }
  const count = batch.recordsCount;
  if (count > reader.remaining() / MIN_RECORD_SIZE) {
    throw new ProtocolError(
      `${count} records cannot fit in ${reader.remaining()} bytes`,
      RECORDS_COUNT_OFFSET,
    );
  }
  const records: DecodedRecord[] = [];
  for (let i = 0; i < count; i++) records.push(readRecord(reader));
  if (reader.remaining() !== 0) {
    throw new ProtocolError(
      `${reader.remaining()} bytes left after the batch's ${count} records`,
      reader.offset,
    );
  }
  return records;
}

function readRecord(reader: Reader): DecodedRecord {
  const at = reader.offset;
  const length = reader.varint();
  if (length < MIN_RECORD_SIZE - 1 || length > reader.remaining()) {
    throw new ProtocolError(`invalid record length ${length} with ${reader.remaining()} bytes left`, at);
  }
  const end = reader.offset + length;
  const attributes = reader.int8();
  const timestampDelta = reader.varlongNumber();
  const offsetDelta = reader.varint();
  const key = varBytes(reader, 'key');
  const value = varBytes(reader, 'value');
  const headersAt = reader.offset;
  const headerCount = reader.varint();
  // Each header takes at least two bytes (key and value lengths).
  if (headerCount < 0 || headerCount > (end - reader.offset) / 2) {
    throw new ProtocolError(`invalid record header count ${headerCount}`, headersAt);
  }
  const headers: RecordHeader[] = [];
  for (let i = 0; i < headerCount; i++) {
    const keyAt = reader.offset;
    const keyLength = reader.varint();
    if (keyLength < 0) throw new ProtocolError(`invalid record header key length ${keyLength}`, keyAt);
    const keyStart = reader.skip(keyLength);
    headers.push({
      key: headerKey(reader.buffer, keyStart, reader.offset),
      value: varBytes(reader, 'header value'),
    });
  }
  // The record's own length must agree with what its fields took, as Kafka requires.
  if (reader.offset !== end) {
    throw new ProtocolError(
      `record length ${length} disagrees with its fields' ${reader.offset - end + length} bytes`,
      at,
    );
  }
  return { attributes, timestampDelta, offsetDelta, key, value, headers };
}

function varBytes(reader: Reader, what: string): Buffer | null {
  const at = reader.offset;
  const length = reader.varint();
  if (length === -1) return null;
  if (length < 0) throw new ProtocolError(`invalid record ${what} length ${length}`, at);
  return reader.raw(length);
}

/**
 * Producers repeat the same few header keys on every record, and turning bytes into a string is a
 * native call and an allocation per header. A small direct-mapped cache of recent keys answers
 * most of them with a byte comparison. It holds copies, never views, so it pins no request buffer.
 */
const KEY_CACHE_SLOTS = 256;
const KEY_CACHE_MAX_LENGTH = 64;
const cachedKeyBytes: (Buffer | undefined)[] = new Array<Buffer | undefined>(KEY_CACHE_SLOTS).fill(undefined);
const cachedKeyText: string[] = new Array<string>(KEY_CACHE_SLOTS).fill('');

function headerKey(buffer: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length > KEY_CACHE_MAX_LENGTH) return utf8(buffer, start, end);
  let hash = 0x811c9dc5 ^ length;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ buffer[i], 0x01000193);
  const slot = (hash ^ (hash >>> 16)) & (KEY_CACHE_SLOTS - 1);
  const cached = cachedKeyBytes[slot];
  if (cached !== undefined && cached.length === length) {
    let i = 0;
    while (i < length && cached[i] === buffer[start + i]) i++;
    if (i === length) return cachedKeyText[slot];
  }
  const text = utf8(buffer, start, end);
  cachedKeyBytes[slot] = Buffer.from(buffer.subarray(start, end));
  cachedKeyText[slot] = text;
  return text;
}

/**
 * Header keys are strings; one that is not valid UTF-8 could not be re-encoded to the same bytes,
 * so it is refused rather than silently altered. The replacement character is rare in real keys,
 * which keeps the full check off the common path.
 */
function utf8(buffer: Buffer, start: number, end: number): string {
  const text = buffer.toString('utf8', start, end);
  if (text.includes('\uFFFD') && !isUtf8(buffer.subarray(start, end))) {
    throw new ProtocolError('record header key is not valid UTF-8', start);
  }
  return text;
}

// ---- encoding ----

function varintSize(value: number): number {
  return uvarintSize(((value << 1) ^ (value >> 31)) >>> 0);
}

function varlongSize(value: number | bigint): number {
  if (typeof value === 'number') {
    if ((value | 0) === value) return varintSize(value);
    if (Math.abs(value) < 2 ** 52) {
      let raw = value >= 0 ? value * 2 : -value * 2 - 1;
      let size = 1;
      while (raw >= 0x80) {
        raw = Math.floor(raw / 0x80);
        size++;
      }
      return size;
    }
    value = BigInt(value);
  }
  let raw = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  let size = 1;
  while (raw >= 0x80n) {
    raw >>= 7n;
    size++;
  }
  return size;
}

function bytesSize(value: Buffer | null): number {
  return value === null ? 1 : varintSize(value.length) + value.length;
}

function checkInt32(value: number, what: string): void {
  if ((value | 0) !== value) throw new RangeError(`record ${what} ${value} is not an int32`);
}

/**
 * The size of a record after its length prefix. Appends the UTF-8 length of each header key to
 * `keyLengths`, so that writeRecords need not measure every key a second time.
 */
function recordBodySize(record: DecodedRecord, keyLengths: number[]): number {
  checkInt32(record.offsetDelta, 'offset delta');
  let size =
    1 +
    varlongSize(record.timestampDelta) +
    varintSize(record.offsetDelta) +
    bytesSize(record.key) +
    bytesSize(record.value);
  const headers = record.headers;
  size += varintSize(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const keyLength = Buffer.byteLength(headers[i].key, 'utf8');
    keyLengths.push(keyLength);
    size += varintSize(keyLength) + keyLength + bytesSize(headers[i].value);
  }
  return size;
}

function writeBytes(writer: Writer, value: Buffer | null): void {
  if (value === null) writer.varint(-1);
  else writer.varint(value.length).raw(value);
}

function writeRecords(
  writer: Writer,
  records: readonly DecodedRecord[],
  bodySizes: number[],
  keyLengths: number[],
): void {
  let k = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    writer
      .varint(bodySizes[i])
      .int8(record.attributes)
      .varlongNumber(record.timestampDelta)
      .varint(record.offsetDelta);
    writeBytes(writer, record.key);
    writeBytes(writer, record.value);
    const headers = record.headers;
    writer.varint(headers.length);
    for (let j = 0; j < headers.length; j++) {
      const keyLength = keyLengths[k++];
      writer.varint(keyLength).utf8(headers[j].key, keyLength);
      writeBytes(writer, headers[j].value);
    }
  }
}

/**
 * `batch`, uncompressed, with headers appended to some of its records (`added[i]`; null or empty
 * for none). Records are copied as they were read, runs of untouched ones in one copy; a changed
 * one gets a new length and header count around its own bytes, then the new headers. The header
 * is the batch's own but for batchLength and a fresh CRC. Tagging a few records of a batch so
 * costs a copy of it, not an encode of every record; the bytes are those encodeRecordBatch would
 * give for the same records with the headers appended.
 */
export function appendRecordHeaders(
  batch: RecordBatch,
  added: readonly (readonly RecordHeader[] | null)[],
): Buffer {
  const appended = new HeaderAppendedBatch(batch, added);
  const writer = new Writer(appended.length);
  appended.writeTo(writer);
  return writer.result();
}

/**
 * A batch as appendRecordHeaders gives it, measured when made and written later: a request that
 * carries it is sized first and the batch is written straight into it, with no buffer of its own
 * to allocate and copy again. Making it reads the records (and throws the ProtocolError of one that
 * does not parse); writing it only copies. The batch's bytes must not change in between.
 *
 * Record layout: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
 *   key varbytes | value varbytes | headerCount varint | headers (key varstring, value varbytes)
 */
export class HeaderAppendedBatch {
  /** The batch's size once written. */
  readonly length: number;
  /**
   * Per changed record: its index, where its body and header count start and end, its new body
   * size, the header count it had, and where its key lengths start in keyLengths.
   */
  private readonly marks: number[] = [];
  private readonly keyLengths: number[] = [];

  constructor(
    private readonly batch: RecordBatch,
    private readonly added: readonly (readonly RecordHeader[] | null)[],
  ) {
    if (batch.compression !== 0) throw new Error('appendRecordHeaders: the batch is compressed');
    const { marks, keyLengths } = this;
    const count = batch.recordsCount;
    const reader = new Reader(batch.bytes, RECORD_BATCH_OVERHEAD);
    let total = RECORD_BATCH_OVERHEAD;
    for (let i = 0; i < count; i++) {
      const start = reader.offset;
      const length = reader.varint();
      if (length < MIN_RECORD_SIZE - 1 || length > reader.remaining()) {
        throw new ProtocolError(
          `invalid record length ${length} with ${reader.remaining()} bytes left`,
          start,
        );
      }
      const bodyStart = reader.offset;
      const end = bodyStart + length;
      const headers = added[i];
      if (headers === null || headers === undefined || headers.length === 0) {
        reader.skip(length);
        total += end - start;
        continue;
      }
      reader.int8();
      reader.varlongNumber();
      reader.varint();
      varBytes(reader, 'key');
      varBytes(reader, 'value');
      const countAt = reader.offset;
      const headerCount = reader.varint();
      const countEnd = reader.offset;
      if (headerCount < 0 || countEnd > end)
        throw new ProtocolError(`invalid record header count ${headerCount}`, countAt);
      const keysFrom = keyLengths.length;
      let body = length - (countEnd - countAt) + varintSize(headerCount + headers.length);
      for (let h = 0; h < headers.length; h++) {
        const keyLength = Buffer.byteLength(headers[h].key, 'utf8');
        keyLengths.push(keyLength);
        body += varintSize(keyLength) + keyLength + bytesSize(headers[h].value);
      }
      marks.push(i, start, bodyStart, countAt, countEnd, end, body, headerCount, keysFrom);
      total += varintSize(body) + body;
      reader.skip(end - reader.offset);
    }
    if (reader.remaining() !== 0) {
      throw new ProtocolError(
        `${reader.remaining()} bytes left after the batch's ${count} records`,
        reader.offset,
      );
    }
    this.length = total;
  }

  /** Writes the batch at the writer's offset, its batchLength and CRC filled in. */
  writeTo(writer: Writer): void {
    const { marks, keyLengths, added } = this;
    const bytes = this.batch.bytes;
    const at = writer.offset;
    let copiedTo = 0;
    for (let m = 0; m < marks.length; m += 9) {
      const headers = added[marks[m]]!;
      const end = marks[m + 5];
      writer.raw(bytes.subarray(copiedTo, marks[m + 1]));
      writer.varint(marks[m + 6]).raw(bytes.subarray(marks[m + 2], marks[m + 3]));
      writer.varint(marks[m + 7] + headers.length).raw(bytes.subarray(marks[m + 4], end));
      const keysFrom = marks[m + 8];
      for (let h = 0; h < headers.length; h++) {
        const keyLength = keyLengths[keysFrom + h];
        writer.varint(keyLength).utf8(headers[h].key, keyLength);
        writeBytes(writer, headers[h].value);
      }
      copiedTo = end;
    }
    writer.raw(bytes.subarray(copiedTo));
    const written = writer.offset - at;
    if (written !== this.length) {
      throw new Error(`record batch encoded to ${written} bytes, expected ${this.length}`);
    }
    writer.setInt32(at + BATCH_LENGTH_OFFSET, this.length - LOG_OVERHEAD);
    writer.setUint32(at + CRC_OFFSET, crc32c(writer.result().subarray(at + ATTRIBUTES_OFFSET)));
  }
}

/**
 * Encodes a v2 batch from a header and records. Everything in the header is kept exactly
 * (producer id/epoch, base sequence, attributes and so compression, timestamps, lastOffsetDelta),
 * as are each record's attributes and deltas; batchLength, recordsCount and the CRC are computed.
 * The same inputs always give the same bytes.
 */
export function encodeRecordBatch(
  header: RecordBatchHeader,
  records: readonly DecodedRecord[],
  options?: EncodeRecordBatchOptions,
): Buffer {
  const codec = compressionCodec(header.attributes & BatchAttributes.CompressionMask);
  const bodySizes: number[] = new Array<number>(records.length);
  const keyLengths: number[] = [];
  let recordsSize = 0;
  for (let i = 0; i < records.length; i++) {
    const size = recordBodySize(records[i], keyLengths);
    bodySizes[i] = size;
    recordsSize += varintSize(size) + size;
  }

  let section: Buffer | undefined;
  if (codec.type !== 0) {
    const recordsWriter = new Writer(Math.max(recordsSize, 16));
    writeRecords(recordsWriter, records, bodySizes, keyLengths);
    section = codec.compress(recordsWriter.result(), options?.compressionLevel);
  }
  const total = RECORD_BATCH_OVERHEAD + (section === undefined ? recordsSize : section.length);
  const writer = new Writer(total);
  writer
    .int64(header.baseOffset)
    .int32(total - LOG_OVERHEAD)
    .int32(header.partitionLeaderEpoch)
    .int8(RECORD_BATCH_MAGIC);
  const crcAt = writer.reserveInt32();
  writer
    .int16(header.attributes)
    .int32(header.lastOffsetDelta)
    .int64(header.baseTimestamp)
    .int64(header.maxTimestamp)
    .int64(header.producerId)
    .int16(header.producerEpoch)
    .int32(header.baseSequence)
    .int32(records.length);
  if (section === undefined) writeRecords(writer, records, bodySizes, keyLengths);
  else writer.raw(section);
  const out = writer.result();
  if (out.length !== total) throw new Error(`record batch encoded to ${out.length} bytes, expected ${total}`);
  writer.setUint32(crcAt, crc32c(out.subarray(ATTRIBUTES_OFFSET)));
  return out;
}
