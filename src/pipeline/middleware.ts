import type { RecordHeader } from '../protocol/records';
import type { JsonReading } from '../patterns/record-json';

export type { RecordHeader, JsonReading };

/**
 * The middleware contract. A middleware sees every record of a produce request whose topic it
 * wants and, for each, may let it pass (do nothing), annotate it (add headers), drop it or reject
 * it. A request with any rejected record is answered by the gateway and nothing of it reaches the
 * broker; annotated records and the batches dropped records leave are forwarded re-encoded;
 * untouched batches are forwarded as the bytes the producer sent.
 */

/** One produced record, as a middleware sees it. Buffers are views: copy what you keep. */
export interface ProducedRecord {
  readonly topic: string;
  readonly partition: number;
  /** Position of the record within its partition's data: the index Kafka reports record errors by. */
  readonly index: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
  /**
   * False when the record is in an idempotent or transactional batch, whose sequence numbers
   * forbid removing records: `drop` then falls back (see RecordVerdict.drop).
   */
  readonly droppable: boolean;
  /** The value read as UTF-8 JSON, parsed on the first call and shared by every middleware. */
  json(): JsonReading;
}

/** Facts about the request the record came in. */
export interface ProduceContext {
  /** Which door the record came in: a Kafka producer, or an HTTP publisher (REST or CloudEvents). */
  readonly door: 'kafka' | 'http';
  readonly clientId: string | null;
  readonly clientAddress: string;
  readonly acks: number;
  readonly transactionalId: string | null;
  readonly apiVersion: number;
}

/** How a middleware reports its decision about the record it is looking at. */
export interface RecordVerdict {
  /** Refuses the record (and so the request). The reason reaches the producer and the logs. */
  reject(reason: string, errorCode?: number): void;
  /**
   * Removes the record from the request: the rest of its batch is forwarded without it, later
   * middlewares do not see it, and the producer is told it was written. A record that is not
   * `droppable` gets `options.fallback` instead: refused with `reason` (the default) or passed.
   */
  drop(reason: string, options?: DropOptions): void;
  /** Adds a header to the record; its batch is then re-encoded before forwarding. */
  addHeader(key: string, value: Buffer | string): void;
  /**
   * Names what a checking middleware found (`valid`, `invalid_tagged`, `invalid_rejected`,
   * `invalid_observed`) for the records metric. The pipeline reports the record's final fate: refused (the request was
   * refused for another record), dropped, or this label (`unvalidated` when none was given).
   */
  classify(outcome: RecordOutcome): void;
  /** True once an earlier middleware rejected this record. */
  readonly rejected: boolean;
  /** True once the record was dropped (its fallback did not apply). */
  readonly dropped: boolean;
}

/**
 * The labels the records metric knows a checking middleware by; a middleware of your own may name
 * others (they become values of the metric's `outcome` label).
 */
// `string & {}` keeps the known labels suggested by editors while admitting any other.
export type RecordOutcome =
  'valid' | 'invalid_tagged' | 'invalid_rejected' | 'invalid_observed' | (string & {});

export interface DropOptions {
  /** What a record of an idempotent or transactional batch gets instead: 'reject' (default) or 'pass'. */
  fallback?: 'reject' | 'pass';
  /** The error code of the fallback rejection (INVALID_RECORD by default, as for reject). */
  errorCode?: number;
}

export interface Middleware {
  readonly name: string;
  /**
   * Whether records of `topic` concern this middleware. Asked per topic per request; when no
   * middleware wants a topic its records are not even decoded.
   */
  wants?(topic: string): boolean;
  /** Called once per record, in order. Return a promise only when the decision really is asynchronous. */
  onRecord(record: ProducedRecord, verdict: RecordVerdict, context: ProduceContext): void | Promise<void>;
  /** Called when the gateway stops or the pipeline is replaced. */
  close?(): void | Promise<void>;
}

/** A JSON Schema (draft-07, as Ajv reads it). */
export type JsonSchema = boolean | { readonly [keyword: string]: unknown };

/**
 * What a middleware module exports (as `module.exports`, `default` or `create`): a factory given
 * its configured options.
 */
export interface MiddlewareFactory {
  (options: Record<string, unknown>, tools: MiddlewareTools): Middleware | Promise<Middleware>;
  /**
   * The schema of `options`. When present the gateway checks the configured options against it
   * before calling the factory, fills in the schema's defaults, and refuses to start on a
   * violation, naming `pipeline.middlewares.N.options...`.
   */
  optionsSchema?: JsonSchema;
}

/** What the gateway lends a middleware module. */
export interface MiddlewareTools {
  logger: {
    info(obj: object, msg?: string): void;
    warn(obj: object, msg?: string): void;
    error(obj: object, msg?: string): void;
  };
}
