import { compressSync, uncompressSync } from 'snappy';
import { ProtocolError } from '../primitives/protocol-error';

/**
 * Snappy as Kafka clients put it in record batches. The Java client wraps raw snappy in
 * snappy-java's stream format ("xerial": an 8-byte magic, two int32 versions, then blocks of
 * int32 length + raw snappy); librdkafka and other clients may send one raw snappy block instead.
 * snappy-java itself tells the two apart by the magic, and so do we.
 */

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
const XERIAL_VERSION = 1;
const XERIAL_MIN_COMPATIBLE_VERSION = 1;
/** snappy-java's default block size, which the Java producer keeps unless configured otherwise. */
const XERIAL_BLOCK_SIZE = 32 * 1024;

function startsWithMagic(data: Buffer, at: number): boolean {
  if (data.length - at < XERIAL_MAGIC.length) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[at + i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

export function isXerialSnappy(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_SIZE && startsWithMagic(data, 0);
}

/**
 * The uncompressed length a raw snappy block announces in its preamble (an unsigned varint of at
 * most 32 bits). The native decoder allocates that much before looking at the data, so it has to
 * be checked against the budget first.
 */
function announcedLength(block: Buffer, at: number): number {
  let result = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= block.length) throw new ProtocolError('truncated snappy length preamble', at);
    const byte = block[i];
    result += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (result > 0xffffffff) break;
      return result;
    }
  }
  throw new ProtocolError('snappy length preamble longer than 32 bits', at);
}

function uncompressRaw(block: Buffer, budget: number, maxBytes: number, at: number): Buffer {
  const length = announcedLength(block, at);
  if (length > budget) {
    throw new ProtocolError(`snappy data decompresses beyond the ${maxBytes}-byte limit`, at);
  }
  let out: Buffer;
  try {
    out = uncompressSync(block, { asBuffer: true }) as Buffer;
  } catch (error) {
    throw new ProtocolError(`corrupt snappy data: ${(error as Error).message}`, at);
  }
  if (out.length !== length) {
    throw new ProtocolError(`snappy block announced ${length} bytes but held ${out.length}`, at);
  }
  return out;
}

/**
 * Decompresses either form, never producing (or letting the native decoder allocate) more than
 * `maxBytes`. `at` is where `data` starts in the buffer being decoded, for error offsets.
 */
export function decompressSnappy(data: Buffer, maxBytes: number, at = 0): Buffer {
  if (!isXerialSnappy(data)) return uncompressRaw(data, maxBytes, maxBytes, at);

  const blocks: Buffer[] = [];
  let total = 0;
  let offset = 0;
  while (offset < data.length) {
    // snappy-java accepts concatenated streams, each with its own header.
    if (startsWithMagic(data, offset)) {
      if (data.length - offset < XERIAL_HEADER_SIZE) {
        throw new ProtocolError('truncated xerial snappy header', at + offset);
      }
      const version = data.readInt32BE(offset + 8);
      if (version < XERIAL_MIN_COMPATIBLE_VERSION) {
        throw new ProtocolError(`unsupported xerial snappy version ${version}`, at + offset + 8);
      }
      offset += XERIAL_HEADER_SIZE;
      continue;
    }
    if (data.length - offset < 4) {
      throw new ProtocolError('truncated xerial snappy block length', at + offset);
    }
    const length = data.readInt32BE(offset);
    if (length < 0 || length > data.length - offset - 4) {
      throw new ProtocolError(
        `xerial snappy block of ${length} bytes exceeds the ${data.length - offset - 4} left`,
        at + offset,
      );
    }
    offset += 4;
    const block = uncompressRaw(
      data.subarray(offset, offset + length),
      maxBytes - total,
      maxBytes,
      at + offset,
    );
    offset += length;
    total += block.length;
    blocks.push(block);
  }
  if (blocks.length === 1) return blocks[0];
  return Buffer.concat(blocks, total);
}

/** Compresses in the xerial form the Java producer writes, so any Kafka consumer can read it. */
export function compressXerialSnappy(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.allocUnsafe(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_MIN_COMPATIBLE_VERSION, 12);
  parts.push(header);
  let total = XERIAL_HEADER_SIZE;
  for (let offset = 0; offset < data.length; offset += XERIAL_BLOCK_SIZE) {
    const block = compressSync(data.subarray(offset, Math.min(offset + XERIAL_BLOCK_SIZE, data.length)));
    const length = Buffer.allocUnsafe(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
    total += 4 + block.length;
  }
  return Buffer.concat(parts, total);
}
