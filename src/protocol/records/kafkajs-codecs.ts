/**
 * kafkajs ships gzip only: a consumer that fetches a snappy, lz4 or zstd batch fails with "not
 * implemented" and stops for good. Every kafkajs client the gateway (or a test) creates gets the
 * gateway's own codecs instead, so it reads whatever the proxy itself can decode, framed the way
 * the proxy frames it.
 */
import type { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { compressionCodecByName, DEFAULT_MAX_DECOMPRESSED_BYTES, type CompressionName } from './compression';

/** The part of the kafkajs module that holds codecs (a test may load a second, isolated copy). */
export interface KafkaJsCodecTable {
  CompressionCodecs: typeof CompressionCodecs;
  CompressionTypes: typeof CompressionTypes;
}

interface KafkaJsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

function adapt(name: CompressionName, maxDecompressedBytes: number): () => KafkaJsCodec {
  const codec = compressionCodecByName(name);
  const kafkaJsCodec: KafkaJsCodec = {
    compress: async (encoder) => codec.compress(encoder.buffer),
    decompress: async (buffer) => codec.decompress(buffer, maxDecompressedBytes),
  };
  return () => kafkaJsCodec;
}

/**
 * Idempotent. Without an argument it registers on the kafkajs module `require` resolves, which is
 * the one every client the caller creates uses; the codecs are process-wide in kafkajs.
 */
export function registerKafkaJsCodecs(
  // Required here, not imported: the proxy loads kafkajs only when the tap needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  kafkajs: KafkaJsCodecTable = require('kafkajs') as KafkaJsCodecTable,
  maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
): void {
  const { CompressionCodecs: codecs, CompressionTypes: types } = kafkajs;
  codecs[types.Snappy] = adapt('snappy', maxDecompressedBytes);
  codecs[types.LZ4] = adapt('lz4', maxDecompressedBytes);
  codecs[types.ZSTD] = adapt('zstd', maxDecompressedBytes);
}
