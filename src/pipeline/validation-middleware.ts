import type { ChannelContract } from '../asyncapi/channel-contract';
import type { SpecStore } from '../asyncapi/spec-store';
import { VALIDATION_ERROR_HEADER, validateRecord } from '../asyncapi/record-validator';
import type { SchemaRegistries } from '../serdes/schema-registries';
import type { Middleware, ProduceContext, ProducedRecord, RecordVerdict } from './middleware';

export interface ValidationSettings {
  /** Default for channels that do not say (x-eg-fail-when-invalid): reject instead of tagging. */
  failWhenInvalid: boolean;
  /**
   * Default for channels that do not say (x-eg-observe): invalid records are counted and logged
   * but written as sent, neither tagged nor rejected. Absent: false.
   */
  observe?: boolean;
  /** What happens to records of topics no spec describes. */
  topicsWithoutSpec: 'pass' | 'reject';
  /** The schema registries Avro and Protobuf records' schema ids are resolved against; absent: ids are not resolved. */
  registries?: SchemaRegistries;
  /** What a record whose schema id could not be resolved (registry down) gets: 'reject' or 'tag' ('pass' never gets here). */
  registryUnavailable?: 'reject' | 'tag' | 'pass';
}

/** Told about each record that was forwarded with the validation error header (for the logs). */
export type TaggedObserver = (
  record: ProducedRecord,
  context: ProduceContext,
  errors: readonly string[],
) => void;

/** Told about each invalid record of a channel in observe mode, written as sent (for the logs). */
export type ObservedObserver = TaggedObserver;

/**
 * Whether a channel's invalid records are only observed. The channel's own word wins over the
 * configured default, both ways, so a channel can opt out of a global observe mode as well as in.
 * Observe mode outranks fail-when-invalid: a contract being rolled out must not refuse anything,
 * whatever it will do once enforced.
 */
export function observes(contract: ChannelContract, settings: Pick<ValidationSettings, 'observe'>): boolean {
  return contract.observe ?? settings.observe ?? false;
}

let isoAt = 0;
let iso = '';
/** The time as ISO 8601, formatted once per millisecond however many records it stamps. */
function now(): string {
  const at = Date.now();
  if (at !== isoAt) {
    isoAt = at;
    iso = new Date(at).toISOString();
  }
  return iso;
}

/**
 * Checks each record against the AsyncAPI contract of its topic. Invalid records are tagged with
 * a header describing why (the default) or rejected, per channel; on a channel in observe mode
 * they are only counted (invalid_observed) and reported, and their batch stays the producer's bytes.
 */
export function validationMiddleware(
  store: SpecStore,
  settings: ValidationSettings,
  onTagged?: TaggedObserver,
  onObserved?: ObservedObserver,
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
        }
        return;
      }
      const ids = settings.registries?.judgeFor(contract);
      if (ids === undefined) {
        judged(contract, validateRecord(contract, record), false, record, verdict, context);
        return;
      }
      ids.begin();
      const errors = validateRecord(contract, record, ids);
      const waiting = ids.pending();
      if (waiting.length === 0) {
        judged(contract, errors, ids.unavailableSeen, record, verdict, context);
        return;
      }
      // An id not seen yet: the record waits for the registry's answer, then is checked again.
      return Promise.all(waiting).then(() => {
        ids.begin(true);
        const again = validateRecord(contract, record, ids);
        judged(contract, again, ids.unavailableSeen, record, verdict, context);
      });
    },
    close() {
      settings.registries?.close();
    },
  };

  function judged(
    contract: ChannelContract,
    errors: string[] | null,
    registryUnavailable: boolean,
    record: ProducedRecord,
    verdict: RecordVerdict,
    context: ProduceContext,
  ): void {
    if (errors === null) {
      verdict.classify('valid');
      return;
    }
    const policy = registryUnavailable ? settings.registryUnavailable : undefined;
    if (observes(contract, settings)) {
      verdict.classify('invalid_observed');
      onObserved?.(record, context, errors);
    } else if (
      policy === 'reject' ||
      (policy !== 'tag' && (contract.failWhenInvalid ?? settings.failWhenInvalid))
    ) {
      verdict.reject(errors.join('; '));
      verdict.classify('invalid_rejected');
    } else {
      verdict.addHeader(VALIDATION_ERROR_HEADER, `{"ts":"${now()}","errors":${JSON.stringify(errors)}}`);
      verdict.classify('invalid_tagged');
      onTagged?.(record, context, errors);
    }
  }
}
