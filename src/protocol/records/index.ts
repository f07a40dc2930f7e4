export {
  BatchAttributes,
  decodeRecords,
  appendRecordHeaders,
  checkCrc,
  encodeRecordBatch,
  HeaderAppendedBatch,
  isControlBatch,
  isTransactional,
  LOG_OVERHEAD,
  readRecordBatches,
  RECORD_BATCH_MAGIC,
  RECORD_BATCH_OVERHEAD,
  recordsSection,
  verifyCrc,
} from './record-batch';
export type {
  DecodedRecord,
  DecodeRecordsOptions,
  EncodeRecordBatchOptions,
  LegacyMessage,
  ReadRecordBatchesOptions,
  RecordBatch,
  RecordBatchHeader,
  RecordBatchView,
  RecordHeader,
} from './record-batch';
export { RebuiltRecords } from './rebuilt-records';
export {
  compressionCodec,
  compressionCodecByName,
  CompressionType,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
} from './compression';
export type { CompressionCodec, CompressionName } from './compression';
