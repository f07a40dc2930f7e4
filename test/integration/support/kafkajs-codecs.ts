/**
 * kafkajs ships gzip only. The other codecs are plugged in from the gateway's own record codecs,
 * so a test's client and the gateway agree on framing, and tests name codecs the way
 * src/protocol/records does.
 */
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import {
  compressionCodecByName,
  CompressionType,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  type CompressionName,
} from '../../../src/protocol/records';

let codecsRegistered = false;

/** Idempotent: every test file that needs the codecs calls it at load time. */
export function registerKafkaJsCodecs(): void {
  if (codecsRegistered) return;
  codecsRegistered = true;
  const adapt = (name: CompressionName) => () => {
    const codec = compressionCodecByName(name);
    return {
      compress: async (encoder: { buffer: Buffer }) => codec.compress(encoder.buffer),
      decompress: async (buffer: Buffer) => codec.decompress(buffer, DEFAULT_MAX_DECOMPRESSED_BYTES),
    };
  };
  CompressionCodecs[CompressionTypes.Snappy] = adapt('snappy');
  CompressionCodecs[CompressionTypes.LZ4] = adapt('lz4');
  CompressionCodecs[CompressionTypes.ZSTD] = adapt('zstd');
}

export const KAFKAJS_COMPRESSION: Record<CompressionName, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** The compression bits of a v2 batch's attributes, by codec name. */
export const COMPRESSION_TYPE: Record<CompressionName, CompressionType> = {
  none: CompressionType.None,
  gzip: CompressionType.Gzip,
  snappy: CompressionType.Snappy,
  lz4: CompressionType.Lz4,
  zstd: CompressionType.Zstd,
};
