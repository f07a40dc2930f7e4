import { compressSync, uncompressSync } from 'lz4-napi';
import { Xxh32, xxh32 as xxh32Native } from '@node-rs/xxhash';
import { ProtocolError } from '../primitives/protocol-error';

/**
 * LZ4 as Kafka puts it in record batches: the LZ4 frame format
 * (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md) restricted as Kafka's Java
 * client restricts it (version 1, independent blocks, no dictionary). The frame is parsed here and
 * only the blocks go to the native codec: its frame decoder has no output limit, accepts a frame
 * without its end mark, and is several times slower than its block decoder.
 */

const MAGIC = 0x184d2204;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const UNCOMPRESSED_BIT = 0x80000000;
const FLG_VERSION_1 = 0x40;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICTIONARY_ID = 0x01;
/** An LZ4 sequence never turns a byte of input into more than 255 bytes of output. */
const MAX_RATIO = 255;
/** What the Java producer writes: 64 KiB blocks, nothing optional. */
const BLOCK_SIZE = 64 * 1024;
const JAVA_FRAME_HEADER = Buffer.from([
  0x04,
  0x22,
  0x4d,
  0x18,
  FLG_VERSION_1 | FLG_BLOCK_INDEPENDENCE,
  0x40,
  0x82,
]);
const END_MARK = Buffer.alloc(4);

/** xxHash32 of a range, for the frame's header, block and content checksums. */
export function xxh32(data: Buffer, start = 0, end = data.length): number {
  return xxh32Native(start === 0 && end === data.length ? data : data.subarray(start, end)) >>> 0;
}

// ---- decoding ----

interface Block {
  start: number;
  size: number;
  compressed: boolean;
  /** Upper bound on the block's output. */
  bound: number;
}

interface Frame {
  blocks: Block[];
  contentSize: number | null;
  contentChecksum: number | null;
  at: number;
}

/** Reads every frame's structure and verifies header and block checksums, decompressing nothing. */
function scanFrames(data: Buffer, at: number): Frame[] {
  const frames: Frame[] = [];
  let offset = 0;
  const need = (n: number, what: string): void => {
    if (data.length - offset < n) throw new ProtocolError(`truncated lz4 ${what}`, at + offset);
  };
  while (offset < data.length) {
    need(4, 'frame magic');
    const magic = data.readUInt32LE(offset);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(8, 'skippable frame');
      const size = data.readUInt32LE(offset + 4);
      offset += 8;
      need(size, 'skippable frame');
      offset += size;
      continue;
    }
    if (magic !== MAGIC) throw new ProtocolError(`bad lz4 frame magic 0x${magic.toString(16)}`, at + offset);
    const frameAt = offset;
    offset += 4;
    need(3, 'frame descriptor');
    const descriptorStart = offset;
    const flg = data[offset];
    const bd = data[offset + 1];
    if ((flg & 0xc0) !== FLG_VERSION_1) {
      throw new ProtocolError(`unsupported lz4 frame version ${flg >> 6}`, at + offset);
    }
    if ((flg & (FLG_RESERVED | FLG_DICTIONARY_ID)) !== 0 || (bd & 0x8f) !== 0) {
      throw new ProtocolError('lz4 frame descriptor has reserved or dictionary bits set', at + offset);
    }
    // Kafka's Java client refuses linked blocks too; each block here is decoded on its own.
    if ((flg & FLG_BLOCK_INDEPENDENCE) === 0) {
      throw new ProtocolError('lz4 frame with dependent blocks', at + offset);
    }
    const blockSizeCode = (bd >> 4) & 0x07;
    if (blockSizeCode < 4) {
      throw new ProtocolError(`invalid lz4 block size code ${blockSizeCode}`, at + offset + 1);
    }
    const maxBlockSize = 1 << (2 * blockSizeCode + 8);
    const hasBlockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0;
    const hasContentSize = (flg & FLG_CONTENT_SIZE) !== 0;
    const descriptorLength = 2 + (hasContentSize ? 8 : 0);
    need(descriptorLength + 1, 'frame descriptor');
    let contentSize: number | null = null;
    if (hasContentSize) {
      const size = data.readBigUInt64LE(offset + 2);
      contentSize = size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size);
    }
    offset += descriptorLength;
    if (data[offset] !== ((xxh32(data, descriptorStart, offset) >>> 8) & 0xff)) {
      throw new ProtocolError('lz4 frame descriptor checksum mismatch', at + offset);
    }
    offset += 1;

    const blocks: Block[] = [];
    for (;;) {
      need(4, 'block size');
      const word = data.readUInt32LE(offset);
      offset += 4;
      if (word === 0) break;
      const size = (word & ~UNCOMPRESSED_BIT) >>> 0;
      const compressed = (word & UNCOMPRESSED_BIT) === 0;
      if (size > maxBlockSize) {
        throw new ProtocolError(
          `lz4 block of ${size} bytes exceeds the frame's ${maxBlockSize}`,
          at + offset - 4,
        );
      }
      need(size + (hasBlockChecksum ? 4 : 0), 'block');
      if (hasBlockChecksum && data.readUInt32LE(offset + size) !== xxh32(data, offset, offset + size)) {
        throw new ProtocolError('lz4 block checksum mismatch', at + offset + size);
      }
      blocks.push({
        start: offset,
        size,
        compressed,
        bound: compressed ? Math.min(maxBlockSize, size * MAX_RATIO) : size,
      });
      offset += size + (hasBlockChecksum ? 4 : 0);
    }
    let contentChecksum: number | null = null;
    if ((flg & FLG_CONTENT_CHECKSUM) !== 0) {
      need(4, 'content checksum');
      contentChecksum = data.readUInt32LE(offset);
      offset += 4;
    }
    frames.push({ blocks, contentSize, contentChecksum, at: frameAt });
  }
  if (frames.length === 0) throw new ProtocolError('lz4 data holds no frame', at);
  return frames;
}

/**
 * The exact output size of a compressed block, from its sequences' literal and match lengths alone
 * (nothing is copied). Only needed when the cheap bound passes the limit.
 */
function exactBlockSize(data: Buffer, block: Block, at: number): number {
  const end = block.start + block.size;
  let total = 0;
  let p = block.start;
  while (p < end) {
    const token = data[p++];
    let literals = token >> 4;
    if (literals === 15) {
      let byte: number;
      do {
        if (p >= end) throw new ProtocolError('truncated lz4 literal length', at + p);
        byte = data[p++];
        literals += byte;
      } while (byte === 255);
    }
    p += literals;
    total += literals;
    if (p > end) throw new ProtocolError('lz4 literals run past their block', at + block.start);
    if (p === end) break; // the last sequence carries literals only
    p += 2; // match offset
    let match = (token & 0x0f) + 4;
    if ((token & 0x0f) === 15) {
      let byte: number;
      do {
        if (p >= end) throw new ProtocolError('truncated lz4 match length', at + p);
        byte = data[p++];
        match += byte;
      } while (byte === 255);
    }
    total += match;
  }
  if (p !== end) throw new ProtocolError('lz4 sequence runs past its block', at + block.start);
  return total;
}

function tooLarge(maxBytes: number, at: number): ProtocolError {
  return new ProtocolError(`lz4 data decompresses beyond the ${maxBytes}-byte limit`, at);
}

function decompressBlock(data: Buffer, block: Block, at: number): Buffer {
  // The native block decoder wants the output size up front; it accepts an upper bound, allocates
  // that much and returns what the block really held.
  const input = Buffer.allocUnsafe(4 + block.size);
  input.writeUInt32LE(block.bound, 0);
  data.copy(input, 4, block.start, block.start + block.size);
  let out: Buffer;
  try {
    out = uncompressSync(input);
  } catch (error) {
    throw new ProtocolError(`corrupt lz4 data: ${(error as Error).message}`, at + block.start);
  }
  if (out.length > block.bound) {
    throw new ProtocolError('lz4 block decompressed beyond its bound', at + block.start);
  }
  return out;
}

/** Decompresses one or more frames, never producing more than `maxBytes`. */
export function decompressLz4Frames(data: Buffer, maxBytes: number, at = 0): Buffer {
  const frames = scanFrames(data, at);
  let bound = 0;
  for (const frame of frames) {
    if (frame.contentSize !== null && frame.contentSize > maxBytes) throw tooLarge(maxBytes, at + frame.at);
    for (const block of frame.blocks) bound += block.bound;
  }
  if (bound > maxBytes) {
    // Large blocks of ordinary data can pass the cheap bound; measure before refusing.
    let exact = 0;
    for (const frame of frames) {
      for (const block of frame.blocks) {
        if (block.compressed) block.bound = exactBlockSize(data, block, at);
        exact += block.bound;
      }
    }
    if (exact > maxBytes) throw tooLarge(maxBytes, at);
  }

  const parts: Buffer[] = [];
  let total = 0;
  for (const frame of frames) {
    // Hashed block by block, so that checking the frame costs no copy of its content.
    const hash = frame.contentChecksum === null ? null : new Xxh32();
    let frameTotal = 0;
    for (const block of frame.blocks) {
      const out = block.compressed
        ? decompressBlock(data, block, at)
        : data.subarray(block.start, block.start + block.size);
      frameTotal += out.length;
      if (total + frameTotal > maxBytes) throw tooLarge(maxBytes, at + block.start);
      hash?.update(out);
      parts.push(out);
    }
    total += frameTotal;
    if (frame.contentSize !== null && frame.contentSize !== frameTotal) {
      throw new ProtocolError(
        `lz4 frame announced ${frame.contentSize} bytes but held ${frameTotal}`,
        at + frame.at,
      );
    }
    if (hash !== null && hash.digest() >>> 0 !== frame.contentChecksum) {
      throw new ProtocolError('lz4 content checksum mismatch', at + frame.at);
    }
  }
  if (parts.length === 1) return parts[0];
  return Buffer.concat(parts, total);
}

// ---- encoding ----

/**
 * One frame exactly as the Java producer writes it: 64 KiB independent blocks, blocks that do not
 * shrink stored uncompressed, no checksums beyond the header's, no content size.
 */
export function compressLz4Frame(data: Buffer): Buffer {
  const parts: Buffer[] = [JAVA_FRAME_HEADER];
  let total = JAVA_FRAME_HEADER.length + END_MARK.length;
  for (let offset = 0; offset < data.length; offset += BLOCK_SIZE) {
    const chunk = data.subarray(offset, Math.min(offset + BLOCK_SIZE, data.length));
    // The native output starts with a 4-byte size prefix, which becomes the block's size word.
    const block = compressSync(chunk);
    const size = block.length - 4;
    if (size < chunk.length) {
      block.writeUInt32LE(size, 0);
      parts.push(block);
      total += block.length;
    } else {
      const word = Buffer.allocUnsafe(4);
      word.writeUInt32LE((chunk.length | UNCOMPRESSED_BIT) >>> 0, 0);
      parts.push(word, chunk);
      total += 4 + chunk.length;
    }
  }
  parts.push(END_MARK);
  return Buffer.concat(parts, total);
}
