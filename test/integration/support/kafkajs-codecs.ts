/**
 * Test clients register the gateway's own kafkajs codecs (src/protocol/records/kafkajs-codecs.ts),
 * exactly as the gateway's tap does, and name codecs the way src/protocol/records does.
 */
import { CompressionTypes } from 'kafkajs';
import { CompressionType, type CompressionName } from '../../../src/protocol/records';

export { registerKafkaJsCodecs } from '../../../src/protocol/records/kafkajs-codecs';

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
