/**
 * The public API of the gateway package: the contract a middleware module is written against
 * (docs/pipeline.md). Types only; nothing of the gateway's own workings is exported, so it can
 * change without breaking middlewares.
 */
export type {
  DropOptions,
  JsonReading,
  JsonSchema,
  Middleware,
  MiddlewareFactory,
  MiddlewareTools,
  ProduceContext,
  ProducedRecord,
  RecordHeader,
  RecordOutcome,
  RecordVerdict,
} from './pipeline/middleware';
