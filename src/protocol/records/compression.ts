import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import * as zstd from 'zstd-napi/binding';
import { ProtocolError } from '../primitives/protocol-error';
import { compressLz4Frame, decompressLz4Frames } from './lz4-frame';
import { compressXerialSnappy, decompressSnappy } from './snappy-xerial';

/**
 * The record-batch compression codecs (attribute bits 0-2). Every decompressor is bounded: a
 * batch of a few kilobytes can announce or expand to gigabytes, and the proxy must refuse it with
 * a ProtocolError long before allocating that much.
 */

export const CompressionType = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const;
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType];
export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** Default cap on one batch's decompressed records: far above any sane batch, far below harm. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

export interface CompressionCodec {
  readonly type: CompressionType;
  readonly name: CompressionName;
  /** `level` is codec specific; left out, each codec uses the Java producer's default. */
  compress(data: Buffer, level?: number): Buffer;
  /**
   * Throws ProtocolError for corrupt data and for output beyond `maxBytes`. `at` is where `data`
   * sits in the buffer being decoded, so that errors point at the right byte.
   */
  decompress(data: Buffer, maxBytes: number, at?: number): Buffer;
}

function tooLarge(name: string, maxBytes: number, at: number): ProtocolError {
  return new ProtocolError(`${name} data decompresses beyond the ${maxBytes}-byte limit`, at);
}

function corrupt(name: string, error: unknown, at: number): ProtocolError {
  return new ProtocolError(`corrupt ${name} data: ${(error as Error).message}`, at);
}

const none: CompressionCodec = {
  type: CompressionType.None,
  name: 'none',
  compress: (data) => data,
  decompress: (data) => data,
};

const gzip: CompressionCodec = {
  type: CompressionType.Gzip,
  name: 'gzip',
  compress: (data, level = zlibConstants.Z_DEFAULT_COMPRESSION) => gzipSync(data, { level }),
  decompress(data, maxBytes, at = 0) {
    try {
      // zlib stops inflating as soon as the output passes maxOutputLength.
      return gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw tooLarge('gzip', maxBytes, at);
      }
      throw corrupt('gzip', error, at);
    }
  },
};

const snappy: CompressionCodec = {
  type: CompressionType.Snappy,
  name: 'snappy',
  compress: compressXerialSnappy,
  decompress: decompressSnappy,
};

const lz4: CompressionCodec = {
  type: CompressionType.Lz4,
  name: 'lz4',
  compress: compressLz4Frame,
  decompress: decompressLz4Frames,
};

// ---- zstd ----

/** Level 3 is zstd's and the Java producer's default. */
const ZSTD_DEFAULT_LEVEL = 3;
/**
 * The smallest window the decoder always accepts (8 MiB, what levels up to 19 use), and the
 * largest (128 MiB, zstd's own default limit): between the two, the window may not exceed the
 * output limit, since a larger window can only serve output the limit refuses anyway.
 */
const ZSTD_MIN_WINDOW_LOG = 23;
const ZSTD_MAX_WINDOW_LOG = 27;
const ZSTD_OUT_CHUNK = 128 * 1024;

let zstdCompressor: zstd.CCtx | undefined;
let zstdDecompressor: zstd.DCtx | undefined;
let zstdWindowLog = -1;

function zstdContext(maxBytes: number): zstd.DCtx {
  zstdDecompressor ??= new zstd.DCtx();
  const windowLog = Math.min(
    ZSTD_MAX_WINDOW_LOG,
    Math.max(ZSTD_MIN_WINDOW_LOG, Math.ceil(Math.log2(Math.max(1, maxBytes)))),
  );
  // A previous call may have thrown half way through a frame; a session reset clears that state.
  zstdDecompressor.reset(zstd.ResetDirective.sessionOnly);
  if (windowLog !== zstdWindowLog) {
    zstdDecompressor.setParameter(zstd.DParameter.windowLogMax, windowLog);
    zstdWindowLog = windowLog;
  }
  return zstdDecompressor;
}

function zstdDecompress(data: Buffer, maxBytes: number, at: number): Buffer {
  const dctx = zstdContext(maxBytes);
  // Fast path: one frame that announces a size within the limit decompresses into an exact buffer.
  let announced: number | null = null;
  try {
    if (data.length > 0 && zstd.findFrameCompressedSize(data) === data.length) {
      announced = zstd.getFrameContentSize(data);
    }
  } catch {
    announced = null;
  }
  if (announced !== null) {
    if (announced > maxBytes) throw tooLarge('zstd', maxBytes, at);
    const out = Buffer.allocUnsafe(announced);
    let written: number;
    try {
      written = dctx.decompress(out, data);
    } catch (error) {
      throw corrupt('zstd', error, at);
    }
    if (written !== announced) {
      throw new ProtocolError(`zstd frame announced ${announced} bytes but held ${written}`, at);
    }
    return out;
  }

  // Otherwise stream into chunks, stopping the moment the output passes the limit.
  const parts: Buffer[] = [];
  let total = 0;
  let src = data;
  if (src.length === 0) throw new ProtocolError('empty zstd data', at);
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.min(ZSTD_OUT_CHUNK, maxBytes - total + 1));
    let hint: number, produced: number, consumed: number;
    try {
      [hint, produced, consumed] = dctx.decompressStream(chunk, src);
    } catch (error) {
      throw corrupt('zstd', error, at + (data.length - src.length));
    }
    total += produced;
    if (total > maxBytes) throw tooLarge('zstd', maxBytes, at);
    if (produced > 0) parts.push(chunk.subarray(0, produced));
    src = src.subarray(consumed);
    if (hint === 0 && src.length === 0) break;
    if (src.length === 0 && produced < chunk.length) {
      throw new ProtocolError('truncated zstd frame', at + data.length);
    }
    if (produced === 0 && consumed === 0) {
      throw new ProtocolError('zstd decoder made no progress', at + (data.length - src.length));
    }
  }
  if (parts.length === 1) return parts[0];
  return Buffer.concat(parts, total);
}

const zstdCodec: CompressionCodec = {
  type: CompressionType.Zstd,
  name: 'zstd',
  compress(data, level = ZSTD_DEFAULT_LEVEL) {
    zstdCompressor ??= new zstd.CCtx();
    const out = Buffer.allocUnsafe(zstd.compressBound(data.length));
    return out.subarray(0, zstdCompressor.compress(out, data, level));
  },
  decompress: (data, maxBytes, at = 0) => zstdDecompress(data, maxBytes, at),
};

const CODECS: readonly CompressionCodec[] = [none, gzip, snappy, lz4, zstdCodec];

/** The codec for attribute bits 0-2; types 5-7 are not defined by Kafka and are refused. */
export function compressionCodec(type: number, at = 0): CompressionCodec {
  const codec = CODECS[type];
  if (codec === undefined) throw new ProtocolError(`unknown compression type ${type}`, at);
  return codec;
}

export function compressionCodecByName(name: CompressionName): CompressionCodec {
  const codec = CODECS.find((candidate) => candidate.name === name);
  if (codec === undefined) throw new RangeError(`unknown compression codec ${String(name)}`);
  return codec;
}
