import { PRODUCE_VERSIONS } from './produce-wire';
import {
  BATCH_LENGTH_OFFSET,
  HEADER_SIZE_UP_TO_MAGIC,
  LEGACY_MIN_MESSAGE_SIZE,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  RECORD_BATCH_MAGIC,
  RECORD_BATCH_OVERHEAD,
  RECORDS_COUNT_OFFSET,
} from './records/record-batch';
import { StreamWalker } from './stream-walker';

/** From after the magic byte to the record count of a v2 batch header. */
const MAGIC_TO_RECORDS_COUNT = RECORDS_COUNT_OFFSET - HEADER_SIZE_UP_TO_MAGIC;
/** From after the magic byte to the end of a v2 batch header, record count included. */
const MAGIC_TO_RECORDS = RECORD_BATCH_OVERHEAD - HEADER_SIZE_UP_TO_MAGIC;

/**
 * Counts the records of a Produce request (v3+) while it streams past, from batch headers alone:
 * a v2 batch counts its record count, a legacy message counts one. It counts as the pipeline does
 * for topics no middleware reads: the records of a partition whose data cannot be read count
 * nothing. Nothing is copied and no record is decoded. It walks the grammar written down in
 * produce-wire.ts.
 */
export class ProduceRecordCounter extends StreamWalker {
  private counted = 0;
  private partitionCount = 0;

  constructor(private readonly version: number) {
    super();
  }

  /** Walks the next bytes of the request payload (no size prefix). */
  push(bytes: Buffer): void {
    this.walkBytes(bytes);
  }

  /** Records counted so far; final once `complete`. */
  get records(): number {
    return this.counted;
  }

  /** True once every partition's data has been walked. */
  get complete(): boolean {
    return this.finished;
  }

  protected *walkMessage(): Generator<void, void, void> {
    const flexible = this.version >= PRODUCE_VERSIONS.firstFlexible;
    // Request header: api key, api version, correlation id, client id (int16 length, always),
    // then tagged fields in the flexible header.
    yield* this.skip(8);
    yield* this.string(false);
    if (flexible) yield* this.tags();
    yield* this.string(flexible); // transactional id
    yield* this.skip(6); // acks, timeout
    const topics = yield* this.arrayLength(flexible);
    for (let t = 0; t < topics; t++) {
      if (this.version >= PRODUCE_VERSIONS.firstWithTopicIds) yield* this.skip(16);
      else yield* this.string(flexible);
      const partitions = yield* this.arrayLength(flexible);
      for (let p = 0; p < partitions; p++) {
        yield* this.skip(4); // partition index
        const length = flexible ? (yield* this.varint()) - 1 : yield* this.int(4);
        if (length > 0) {
          this.partitionCount = 0;
          const readable = yield* this.batches(length);
          if (readable) this.counted += this.partitionCount;
        }
        if (flexible) yield* this.tags();
      }
      if (flexible) yield* this.tags();
    }
  }

  /** Walks `length` bytes of record data; false when they are not a whole number of readable batches. */
  private *batches(length: number): Generator<void, boolean, void> {
    let left = length;
    while (left > 0) {
      if (left < HEADER_SIZE_UP_TO_MAGIC) break;
      yield* this.skip(BATCH_LENGTH_OFFSET);
      const batchLength = yield* this.int(4);
      // The partition leader epoch, or a legacy message's CRC: the magic says which.
      yield* this.skip(MAGIC_OFFSET - PARTITION_LEADER_EPOCH_OFFSET);
      const magic = yield* this.int(1);
      left -= HEADER_SIZE_UP_TO_MAGIC;
      const rest = batchLength - (HEADER_SIZE_UP_TO_MAGIC - LOG_OVERHEAD);
      if (batchLength < LEGACY_MIN_MESSAGE_SIZE || magic < 0 || magic > RECORD_BATCH_MAGIC || rest > left)
        break;
      if (magic === RECORD_BATCH_MAGIC) {
        if (batchLength < RECORD_BATCH_OVERHEAD - LOG_OVERHEAD) break;
        yield* this.skip(MAGIC_TO_RECORDS_COUNT);
        const records = yield* this.int(4);
        if (records < 0) {
          left -= MAGIC_TO_RECORDS;
          break;
        }
        this.partitionCount += records;
        yield* this.skip(rest - MAGIC_TO_RECORDS);
      } else {
        this.partitionCount += 1;
        yield* this.skip(rest);
      }
      left -= rest;
    }
    if (left === 0) return true;
    yield* this.skip(left);
    return false;
  }

  /** A string or nullable string: int16 length, or (flexible) unsigned varint length + 1. */
  private *string(flexible: boolean): Generator<void, void, void> {
    const length = flexible ? (yield* this.varint()) - 1 : yield* this.int(2);
    if (length > 0) yield* this.skip(length);
  }

  private *arrayLength(flexible: boolean): Generator<void, number, void> {
    return flexible ? (yield* this.varint()) - 1 : yield* this.int(4);
  }

  private *tags(): Generator<void, void, void> {
    const count = yield* this.varint();
    for (let i = 0; i < count; i++) {
      yield* this.varint();
      yield* this.skip(yield* this.varint());
    }
  }
}
