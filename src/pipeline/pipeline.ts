import { ErrorCode } from '../protocol/error-codes';
import type { ProduceRequest } from '../protocol/messages/generated/produce';
import { ProtocolError } from '../protocol/primitives';
import {
  BatchAttributes,
  checkCrc,
  CompressionType,
  decodeRecords,
  encodeRecordBatch,
  HeaderAppendedBatch,
  isControlBatch,
  isTransactional,
  readRecordBatches,
  RebuiltRecords,
  type DecodedRecord,
  type RecordBatch,
  type RecordHeader,
} from '../protocol/records';
import type { DropOptions, Middleware, ProduceContext, ProducedRecord, RecordVerdict } from './middleware';
import { decodeBinaryValue, hasBinaryValues } from '../asyncapi/binary-view';
import type { ChannelContract } from '../asyncapi/channel-contract';
import { readJson, type JsonReading } from '../patterns/record-json';

/** A record the pipeline refused, by its index in the partition's data. */
export interface RecordRejection {
  index: number;
  message: string;
}

export interface PartitionRejection {
  topicIndex: number;
  partitionIndex: number;
  errorCode: number;
  records: RecordRejection[];
}

export interface PipelineOutcome {
  /** Non-empty: the request must be refused, nothing of it forwarded. */
  rejections: PartitionRejection[];
  /**
   * Partitions whose records were re-encoded (headers added, records dropped): their new
   * `records`, written when the request is (never empty: a partition left without records is in
   * `emptied`).
   */
  replacements: { topicIndex: number; partitionIndex: number; records: RebuiltRecords }[];
  /**
   * Partitions every record of which was dropped. Kafka refuses a partition without records (and
   * a batch without records) as INVALID_RECORD, so these must not be forwarded: the gateway
   * answers them itself. Absent: none.
   */
  emptied?: { topicIndex: number; partitionIndex: number }[];
  /** What became of the request's records, counted by topic and outcome (see RecordVerdict.classify). */
  tally: RecordTally[];
}

/** A record that did not come in a produce request (the HTTP door), judged by the same middlewares. */
export interface IncomingRecord {
  topic: string;
  /** The partition asked for; absent when the producer will choose (middlewares see -1). */
  partition?: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: readonly RecordHeader[];
}

/** What the middlewares decided about one IncomingRecord. */
export interface RecordJudgement {
  /** The reason it was refused, or null. */
  rejected: string | null;
  /** The Kafka error code of the refusal (INVALID_RECORD unless a middleware chose another). */
  errorCode: number;
  dropped: boolean;
  /** Headers middlewares added (the validation error header when tagged), to write after the record's own. */
  added: readonly RecordHeader[] | null;
  /**
   * For the records metric: invalid_rejected, refused, dropped, or the middleware's label
   * (unvalidated when none). An invalid_observed record is to be written as it came.
   */
  outcome: string;
}

export interface RecordTally {
  topic: string;
  outcome: string;
  count: number;
}

/** Counts by topic and outcome, flattened once per request. */
class Tally {
  private readonly counts = new Map<string, Map<string, number>>();

  add(topic: string, outcome: string, count = 1): void {
    let byOutcome = this.counts.get(topic);
    if (byOutcome === undefined) this.counts.set(topic, (byOutcome = new Map()));
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + count);
  }

  entries(): RecordTally[] {
    const entries: RecordTally[] = [];
    for (const [topic, byOutcome] of this.counts) {
      for (const [outcome, count] of byOutcome) entries.push({ topic, outcome, count });
    }
    return entries;
  }
}

/** The verdict of one record: what middlewares decided about it. */
class RecordState implements RecordVerdict {
  rejected = false;
  dropped = false;
  reason = '';
  errorCode: number = ErrorCode.InvalidRecord;
  added: RecordHeader[] | null = null;
  label: string | undefined;

  constructor(private readonly droppable: boolean) {}

  drop(reason: string, options: DropOptions = {}): void {
    if (this.rejected || this.dropped) return;
    if (this.droppable) {
      this.dropped = true;
      return;
    }
    if ((options.fallback ?? 'reject') === 'reject') {
      this.reject(
        `${reason}; it cannot be dropped from an idempotent or transactional batch without breaking the producer's sequence numbers, so the request is refused`,
        options.errorCode,
      );
    }
  }

  reject(reason: string, errorCode: number = ErrorCode.InvalidRecord): void {
    if (this.rejected) return;
    this.rejected = true;
    this.reason = reason;
    this.errorCode = errorCode;
  }

  addHeader(key: string, value: Buffer | string): void {
    (this.added ??= []).push({ key, value: typeof value === 'string' ? Buffer.from(value) : value });
  }

  classify(outcome: string): void {
    this.label = outcome;
  }
}

/** A record as middlewares see it; its value is parsed as JSON at most once, for all of them. */
class PipelineRecord implements ProducedRecord {
  private reading: JsonReading | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly index: number,
    readonly key: Buffer | null,
    readonly value: Buffer | null,
    readonly headers: readonly RecordHeader[],
    readonly droppable: boolean,
    /** The topic's contract when its values are Avro or Protobuf: `json()` decodes them with it. */
    private readonly binary: ChannelContract | undefined,
  ) {}

  json(): JsonReading {
    return (this.reading ??=
      this.binary === undefined
        ? readJson(this.value, 'value')
        : decodeBinaryValue(this.binary, this.value, this.headers)!.reading);
  }
}

/**
 * Removing records from a batch of a producer without an id cannot upset any sequence, but Kafka
 * checks what is left: offset deltas must run 0..n-1 with lastOffsetDelta n-1, and an empty batch
 * is refused, so none is returned (null) when every record went. The max timestamp is recomputed
 * from the records left unless the broker assigns timestamps (LogAppendTime).
 */
function withoutDropped(piece: DecodedBatch): Buffer | null {
  const kept: DecodedRecord[] = [];
  let maxDelta: number | bigint = 0;
  for (let r = 0; r < piece.records.length; r++) {
    if (piece.states[r].dropped) continue;
    const record = piece.records[r];
    if (kept.length === 0 || record.timestampDelta > maxDelta) maxDelta = record.timestampDelta;
    kept.push(record.offsetDelta === kept.length ? record : { ...record, offsetDelta: kept.length });
  }
  if (kept.length === 0) return null;
  const batch = piece.batch;
  const logAppendTime = (batch.attributes & BatchAttributes.LogAppendTime) !== 0;
  return encodeRecordBatch(
    {
      ...batch,
      lastOffsetDelta: kept.length - 1,
      maxTimestamp: logAppendTime ? batch.maxTimestamp : batch.baseTimestamp + BigInt(maxDelta),
    },
    kept,
  );
}

function addedHeaders(state: RecordState): RecordHeader[] | null {
  return state.added;
}

/** Whether the gateway does anything to the record but pass it: its batch is then the gateway's to vouch for. */
function actedOn(state: RecordState): boolean {
  return state.rejected || state.dropped || state.added !== null;
}

/** The CORRUPT_MESSAGE refusal of a partition whose records could not be read from `index` on. */
function unreadable(
  topicIndex: number,
  partitionIndex: number,
  index: number,
  error: ProtocolError,
): PartitionRejection {
  return {
    topicIndex,
    partitionIndex,
    errorCode: ErrorCode.CorruptMessage,
    records: [{ index, message: `records could not be read: ${error.message}` }],
  };
}

function judgementOf(state: RecordState): RecordJudgement {
  return {
    rejected: state.rejected ? state.reason : null,
    errorCode: state.errorCode,
    dropped: state.dropped,
    added: state.added,
    outcome: state.rejected
      ? state.label === 'invalid_rejected'
        ? 'invalid_rejected'
        : 'refused'
      : state.dropped
        ? 'dropped'
        : (state.label ?? 'unvalidated'),
  };
}

/** One batch that was decoded, with what happened to its records. */
interface DecodedBatch {
  topicIndex: number;
  partitionIndex: number;
  batch: RecordBatch;
  records: DecodedRecord[];
  states: RecordState[];
}

/** A partition's records, as they will be forwarded: untouched slices and decoded batches, in order. */
interface PartitionPlan {
  topic: string;
  topicIndex: number;
  partitionIndex: number;
  pieces: (Buffer | DecodedBatch)[];
}

function isThenable(value: unknown): value is Promise<void> {
  return typeof (value as Promise<void> | undefined)?.then === 'function';
}

export interface PipelineOptions {
  /**
   * The contract in force for a topic: records of channels whose values are Avro or Protobuf are
   * read by `json()` decoded with the contract's schema, not as JSON text.
   */
  contractFor?: (topic: string) => ChannelContract | undefined;
  /** Cap on the decompressed size of one batch; larger batches are refused as corrupt. */
  maxDecompressedBytes?: number;
  /**
   * Count what becomes of every record (PipelineOutcome.tally). Records of topics no middleware
   * wants are counted from batch headers, without decoding them.
   */
  tallyRecords?: boolean;
}

/** A middleware without `wants` sees every topic. */
function wantsTopic(middleware: Middleware, topic: string): boolean {
  return middleware.wants === undefined || middleware.wants(topic);
}

/**
 * Runs the configured middlewares over the records of a produce request. Decodes only the topics
 * some middleware wants and re-encodes only batches whose records gained headers or lost records;
 * everything else stays the producer's original bytes.
 */
export class Pipeline {
  constructor(
    readonly middlewares: readonly Middleware[],
    private readonly options: PipelineOptions = {},
  ) {}

  get empty(): boolean {
    return this.middlewares.length === 0;
  }

  /** Whether some middleware wants the records of `topic`. */
  wants(topic: string): boolean {
    for (const middleware of this.middlewares) if (wantsTopic(middleware, topic)) return true;
    return false;
  }

  /** Whether what becomes of every record is counted (PipelineOptions.tallyRecords). */
  get countsRecords(): boolean {
    return this.options.tallyRecords === true;
  }

  private binaryContract(topic: string): ChannelContract | undefined {
    const contract = this.options.contractFor?.(topic);
    return hasBinaryValues(contract) ? contract : undefined;
  }

  private interested(topic: string): Middleware[] {
    const wanted: Middleware[] = [];
    for (const middleware of this.middlewares) {
      if (wantsTopic(middleware, topic)) wanted.push(middleware);
    }
    return wanted;
  }

  run(
    request: ProduceRequest,
    topicNames: readonly string[],
    context: ProduceContext,
  ): PipelineOutcome | Promise<PipelineOutcome> {
    const rejections: PartitionRejection[] = [];
    const plans: PartitionPlan[] = [];
    // Records of topics no middleware wants, counted from batch headers: topic -> count.
    const unchecked = this.options.tallyRecords ? new Map<string, number>() : null;
    let pending: Promise<void>[] | null = null;

    for (let t = 0; t < request.topicData.length; t++) {
      const topicData = request.topicData[t];
      const topic = topicNames[t];
      const middlewares = this.interested(topic);
      if (middlewares.length === 0) {
        if (unchecked !== null) this.countRecords(unchecked, topic, topicData.partitionData);
        continue;
      }
      const binary = this.binaryContract(topic);
      for (let p = 0; p < topicData.partitionData.length; p++) {
        const partition = topicData.partitionData[p];
        if (partition.records === null || partition.records.length === 0) continue;
        const plan: PartitionPlan = { topic, topicIndex: t, partitionIndex: p, pieces: [] };
        let index = 0;
        try {
          for (const view of readRecordBatches(partition.records)) {
            if (view.magic !== 2) {
              rejections.push({
                topicIndex: t,
                partitionIndex: p,
                errorCode: ErrorCode.UnsupportedForMessageFormat,
                records: [
                  {
                    index,
                    message: `message format v${view.magic} carries no headers and cannot be checked; topic ${topic} accepts record batches (v2) only`,
                  },
                ],
              });
              plan.pieces.push(view.bytes);
              continue;
            }
            if (isControlBatch(view)) {
              plan.pieces.push(view.bytes);
              continue;
            }
            // The CRC is checked in conclude, and only for batches the gateway acts on: one it
            // forwards as it came is the broker's to check, as it would be without the gateway.
            const records = decodeRecords(view, {
              maxDecompressedBytes: this.options.maxDecompressedBytes,
              verifyCrc: false,
            });
            const decoded: DecodedBatch = {
              topicIndex: t,
              partitionIndex: p,
              batch: view,
              records,
              states: new Array(records.length),
            };
            // Sequence numbers of idempotent producers count records: none may go missing.
            const droppable = view.producerId < 0n && !isTransactional(view);
            for (let r = 0; r < records.length; r++) {
              const state = new RecordState(droppable);
              decoded.states[r] = state;
              const record = new PipelineRecord(
                topic,
                partition.index,
                index++,
                records[r].key,
                records[r].value,
                records[r].headers,
                droppable,
                binary,
              );
              const waiting = this.apply(middlewares, 0, record, state, context);
              if (waiting !== undefined) (pending ??= []).push(waiting);
            }
            plan.pieces.push(decoded);
          }
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          rejections.push(unreadable(t, p, index, error));
          continue;
        }
        plans.push(plan);
      }
    }
    if (pending === null) return this.conclude(plans, rejections, unchecked);
    return Promise.all(pending).then(() => this.conclude(plans, rejections, unchecked));
  }

  /**
   * Judges records one by one, each on its own: one refused record refuses nothing else (the HTTP
   * door answers per record). The records are not encoded; the caller writes what passed.
   */
  judge(
    records: readonly IncomingRecord[],
    context: ProduceContext,
  ): RecordJudgement[] | Promise<RecordJudgement[]> {
    const states: RecordState[] = new Array(records.length);
    let pending: Promise<void>[] | null = null;
    for (let i = 0; i < records.length; i++) {
      const incoming = records[i];
      const state = new RecordState(true);
      states[i] = state;
      const middlewares = this.interested(incoming.topic);
      if (middlewares.length === 0) continue;
      const record = new PipelineRecord(
        incoming.topic,
        incoming.partition ?? -1,
        0,
        incoming.key,
        incoming.value,
        incoming.headers,
        true,
        this.binaryContract(incoming.topic),
      );
      const waiting = this.apply(middlewares, 0, record, state, context);
      if (waiting !== undefined) (pending ??= []).push(waiting);
    }
    if (pending === null) return states.map(judgementOf);
    return Promise.all(pending).then(() => states.map(judgementOf));
  }

  private countRecords(
    unchecked: Map<string, number>,
    topic: string,
    partitions: ProduceRequest['topicData'][number]['partitionData'],
  ): void {
    let count = 0;
    for (const partition of partitions) {
      if (partition.records === null) continue;
      try {
        for (const view of readRecordBatches(partition.records))
          count += view.magic === 2 ? view.recordsCount : 1;
      } catch {
        // Unreadable records of a topic nobody checks are the broker's to refuse.
      }
    }
    if (count > 0) unchecked.set(topic, (unchecked.get(topic) ?? 0) + count);
  }

  /** The fate of each decoded record once the request's fate is known. */
  private tallyOf(
    plans: PartitionPlan[],
    unchecked: Map<string, number> | null,
    refused: boolean,
  ): RecordTally[] {
    if (unchecked === null) return [];
    const tally = new Tally();
    for (const [topic, count] of unchecked) tally.add(topic, refused ? 'refused' : 'unvalidated', count);
    for (const plan of plans) {
      // Counted per batch first, so the per-topic maps are touched once per outcome, not per record.
      const counts: Record<string, number> = {};
      for (const piece of plan.pieces) {
        if (Buffer.isBuffer(piece)) continue;
        for (const state of piece.states) {
          let outcome: string;
          if (refused) outcome = state.label === 'invalid_rejected' ? 'invalid_rejected' : 'refused';
          else if (state.dropped) outcome = 'dropped';
          else outcome = state.label ?? 'unvalidated';
          counts[outcome] = (counts[outcome] ?? 0) + 1;
        }
      }
      for (const outcome in counts) tally.add(plan.topic, outcome, counts[outcome]);
    }
    return tally.entries();
  }

  /** Runs middlewares from `from` on one record; returns a promise only if one of them is asynchronous. */
  private apply(
    middlewares: Middleware[],
    from: number,
    record: ProducedRecord,
    state: RecordState,
    context: ProduceContext,
  ): Promise<void> | undefined {
    for (let m = from; m < middlewares.length; m++) {
      // A dropped record is gone: judging it further could only refuse a request for nothing.
      if (state.dropped) return undefined;
      const result = middlewares[m].onRecord(record, state, context);
      if (isThenable(result)) {
        return result.then(() => this.apply(middlewares, m + 1, record, state, context));
      }
    }
    return undefined;
  }

  private conclude(
    plans: PartitionPlan[],
    rejections: PartitionRejection[],
    unchecked: Map<string, number> | null,
  ): PipelineOutcome {
    for (const plan of plans) {
      const corrupt = this.corruptBatch(plan);
      if (corrupt !== null) {
        rejections.push(corrupt);
        continue;
      }
      const refused: RecordRejection[] = [];
      let errorCode: number = ErrorCode.InvalidRecord;
      for (const piece of plan.pieces) {
        if (Buffer.isBuffer(piece)) continue;
        for (let r = 0; r < piece.states.length; r++) {
          const state = piece.states[r];
          if (!state.rejected) continue;
          if (refused.length === 0) errorCode = state.errorCode;
          refused.push({ index: this.indexOf(plan, piece, r), message: state.reason });
        }
      }
      if (refused.length > 0) {
        rejections.push({
          topicIndex: plan.topicIndex,
          partitionIndex: plan.partitionIndex,
          errorCode,
          records: refused,
        });
      }
    }
    if (rejections.length > 0) {
      return { rejections, replacements: [], emptied: [], tally: this.tallyOf(plans, unchecked, true) };
    }

    const replacements: PipelineOutcome['replacements'] = [];
    const emptied: { topicIndex: number; partitionIndex: number }[] = [];
    for (const plan of plans) {
      let changed = false;
      const parts = new RebuiltRecords();
      for (const piece of plan.pieces) {
        if (Buffer.isBuffer(piece)) {
          parts.add(piece);
          continue;
        }
        const dropping = piece.states.some((state) => state.dropped);
        if (!dropping && !piece.states.some((state) => state.added !== null)) {
          parts.add(piece.batch.bytes);
          continue;
        }
        changed = true;
        if (!dropping && piece.batch.compression === CompressionType.None) {
          // Headers only: the records are copied as they came, the new headers appended, when
          // the request is written.
          parts.add(new HeaderAppendedBatch(piece.batch, piece.states.map(addedHeaders)));
          continue;
        }
        for (let r = 0; r < piece.records.length; r++) {
          const added = piece.states[r].added;
          if (added !== null)
            piece.records[r] = { ...piece.records[r], headers: [...piece.records[r].headers, ...added] };
        }
        if (!dropping) {
          parts.add(encodeRecordBatch(piece.batch, piece.records));
          continue;
        }
        const rest = withoutDropped(piece);
        if (rest !== null) parts.add(rest);
      }
      if (!changed) continue;
      if (parts.empty) {
        emptied.push({ topicIndex: plan.topicIndex, partitionIndex: plan.partitionIndex });
      } else {
        replacements.push({
          topicIndex: plan.topicIndex,
          partitionIndex: plan.partitionIndex,
          records: parts,
        });
      }
    }
    return { rejections: [], replacements, emptied, tally: this.tallyOf(plans, unchecked, false) };
  }

  /**
   * A CORRUPT_MESSAGE refusal of the partition when a batch the gateway would act on (refuse a
   * record of, re-encode) fails its CRC: a verdict on damaged bytes is no verdict, and a new CRC
   * would hide the damage from the broker.
   */
  private corruptBatch(plan: PartitionPlan): PartitionRejection | null {
    for (const piece of plan.pieces) {
      if (Buffer.isBuffer(piece) || !piece.states.some(actedOn)) continue;
      try {
        checkCrc(piece.batch);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        return unreadable(plan.topicIndex, plan.partitionIndex, this.indexOf(plan, piece, 0), error);
      }
    }
    return null;
  }

  /** Index of record `r` of `piece` within its partition (records of earlier batches come first). */
  private indexOf(plan: PartitionPlan, piece: DecodedBatch, r: number): number {
    let index = 0;
    for (const other of plan.pieces) {
      if (other === piece) return index + r;
      if (!Buffer.isBuffer(other)) index += other.records.length;
    }
    return index + r;
  }

  async close(): Promise<void> {
    for (const middleware of this.middlewares) await middleware.close?.();
  }
}
