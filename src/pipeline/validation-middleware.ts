import type { SpecStore } from '../asyncapi/spec-store';
import { validateRecord } from '../asyncapi/record-validator';
import type { Middleware, ProduceContext, ProducedRecord, RecordVerdict } from './middleware';

export const VALIDATION_ERROR_HEADER = '_asyncapi_eg_validation_error';

export type ValidationOutcome = 'valid' | 'invalid_tagged' | 'invalid_rejected' | 'unvalidated';

export interface ValidationSettings {
  /** Default for channels that do not say (x-eg-fail-when-invalid): reject instead of tagging. */
  failWhenInvalid: boolean;
  /** What happens to records of topics no spec describes. */
  topicsWithoutSpec: 'pass' | 'reject';
}

/**
 * Told about every record the middleware looked at (metrics and logs hang off this). Records of
 * topics it did not want are counted by the pipeline as 'unvalidated' without being decoded.
 */
export type ValidationObserver = (
  outcome: ValidationOutcome,
  record: ProducedRecord,
  context: ProduceContext,
  errors: readonly string[] | null,
) => void;

/**
 * Checks each record against the AsyncAPI contract of its topic. Invalid records are tagged with
 * a header describing why (the default) or rejected, per channel.
 */
export function validationMiddleware(
  store: SpecStore,
  settings: ValidationSettings,
  observe?: ValidationObserver,
): Middleware {
  return {
    name: 'validation',
    wants(topic) {
      return settings.topicsWithoutSpec === 'reject' || store.contracts().lookup(topic) !== undefined;
    },
    onRecord(record: ProducedRecord, verdict: RecordVerdict, context: ProduceContext) {
      const contract = store.contracts().lookup(record.topic);
      if (contract === undefined) {
        if (settings.topicsWithoutSpec === 'reject') {
          const reason = `topic ${record.topic} is not described by any AsyncAPI spec`;
          verdict.reject(reason);
          verdict.classify('invalid_rejected');
          observe?.('invalid_rejected', record, context, [reason]);
        }
        return;
      }
      const errors = validateRecord(contract, record);
      if (errors === null) {
        verdict.classify('valid');
        observe?.('valid', record, context, null);
        return;
      }
      if (contract.failWhenInvalid ?? settings.failWhenInvalid) {
        verdict.reject(errors.join('; '));
        verdict.classify('invalid_rejected');
        observe?.('invalid_rejected', record, context, errors);
      } else {
        verdict.addHeader(VALIDATION_ERROR_HEADER, JSON.stringify({ ts: new Date().toISOString(), errors }));
        verdict.classify('invalid_tagged');
        observe?.('invalid_tagged', record, context, errors);
      }
    },
  };
}
