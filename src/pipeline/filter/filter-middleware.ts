import Ajv, { type ErrorObject } from 'ajv';
import { filterSettingsSchema } from '../../config/config-schema';
import type { FilterRule, FilterSettings } from '../../config/gateway-config';
import { ConfigError } from '../../config/load-config';
import { ErrorCode } from '../../protocol/error-codes';
import type { Middleware, ProducedRecord, RecordVerdict } from '../middleware';
import { PatternError, type EventPattern } from '../../patterns/event-pattern';
import { nameMatcher } from '../../patterns/name-matcher';
import { compileRecordPattern, producedRecordParts, recordEvent } from '../../patterns/record-event';

const validateSettings = new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(
  filterSettingsSchema,
);

interface CompiledRule {
  name: string;
  appliesTo: (topic: string) => boolean;
  pattern: EventPattern;
  action: FilterRule['action'];
}

/** The rules that concern one topic, and the record parts their patterns read. */
interface TopicRules {
  rules: CompiledRule[];
  fields: ReadonlySet<string>;
}

/** Topic names are few in practice; a cap keeps a client inventing names from growing the cache. */
const MAX_CACHED_TOPICS = 10_000;

/**
 * The built-in `filter` middleware: rules pairing an event pattern (docs/pipeline.md) with an
 * action. The first rule whose pattern matches a record decides: `reject` refuses the produce
 * request with POLICY_VIOLATION naming the rule; `drop` removes the record, or, in idempotent and
 * transactional batches (which cannot lose records), applies `dropFallback`. Settings and patterns
 * are checked here, once, when the gateway starts: errors name the rule.
 */
export function filterMiddleware(settings: unknown, where = 'filter'): Middleware {
  const { rules, dropFallback } = checkSettings(settings, where);
  const byTopic = new Map<string, TopicRules>();

  function rulesFor(topic: string): TopicRules {
    let found = byTopic.get(topic);
    if (found === undefined) {
      const applicable = rules.filter((rule) => rule.appliesTo(topic));
      const fields = new Set<string>();
      for (const rule of applicable) for (const field of rule.pattern.fields) fields.add(field);
      found = { rules: applicable, fields };
      if (byTopic.size >= MAX_CACHED_TOPICS) byTopic.clear();
      byTopic.set(topic, found);
    }
    return found;
  }

  return {
    name: 'filter',
    wants: (topic) => rulesFor(topic).rules.length > 0,
    onRecord(record: ProducedRecord, verdict: RecordVerdict) {
      if (verdict.rejected) return;
      const { rules: applicable, fields } = rulesFor(record.topic);
      if (applicable.length === 0) return;
      const event = recordEvent(producedRecordParts(record), fields);
      for (const rule of applicable) {
        if (!rule.pattern.matches(event)) continue;
        if (rule.action === 'reject') {
          verdict.reject(`refused by filter rule "${rule.name}"`, ErrorCode.PolicyViolation);
        } else {
          verdict.drop(`matches the drop rule "${rule.name}" of the filter`, {
            fallback: dropFallback,
            errorCode: ErrorCode.PolicyViolation,
          });
        }
        return;
      }
    },
  };
}

function checkSettings(
  input: unknown,
  where: string,
): { rules: CompiledRule[]; dropFallback: FilterSettings['dropFallback'] } {
  // Defaults are filled into a copy: the configuration object stays as it was given.
  const settings = structuredClone(input ?? {});
  if (!validateSettings(settings)) {
    throw new ConfigError('filter settings', describeErrors(settings, validateSettings.errors ?? [], where));
  }
  const checked = settings as FilterSettings;
  const problems: string[] = [];
  const seen = new Set<string>();
  const rules: CompiledRule[] = [];
  checked.rules.forEach((rule, i) => {
    const at = `${where}.rules.${i} (rule "${rule.name}")`;
    if (seen.has(rule.name)) problems.push(`${at}: another rule has the same name`);
    seen.add(rule.name);
    let appliesTo: CompiledRule['appliesTo'];
    try {
      appliesTo = rule.topics === undefined ? () => true : nameMatcher(rule.topics);
    } catch (error) {
      problems.push(`${at}: topics: ${(error as Error).message}`);
      return;
    }
    try {
      rules.push({
        name: rule.name,
        appliesTo,
        pattern: compileRecordPattern(rule.pattern),
        action: rule.action,
      });
    } catch (error) {
      if (!(error instanceof PatternError)) throw error;
      const path = error.path === '' || error.path.startsWith('[') ? error.path : `.${error.path}`;
      problems.push(`${at}: pattern${path}: ${error.reason}`);
    }
  });
  if (problems.length > 0) throw new ConfigError('filter settings', problems);
  return { rules, dropFallback: checked.dropFallback };
}

/** Ajv's errors as `<where>.rules.N (rule "name"): <key>: <problem>`, like the pattern errors. */
function describeErrors(settings: unknown, errors: readonly ErrorObject[], where: string): string[] {
  return errors.map((error) => {
    const parts = error.instancePath.split('/').slice(1);
    if (error.keyword === 'additionalProperties') {
      parts.push((error.params as { additionalProperty: string }).additionalProperty);
    }
    const problem =
      error.keyword === 'additionalProperties'
        ? 'unknown key'
        : error.keyword === 'enum'
          ? `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
          : (error.message ?? error.keyword);
    if (parts[0] === 'rules' && parts.length >= 2) {
      const rule = (settings as { rules?: { name?: unknown }[] }).rules?.[Number(parts[1])];
      const named = typeof rule?.name === 'string' ? ` (rule "${rule.name}")` : '';
      const inside = parts.slice(2).join('.');
      return `${where}.rules.${parts[1]}${named}: ${inside === '' ? '' : `${inside}: `}${problem}`;
    }
    return `${[where, ...parts].join('.')}: ${problem}`;
  });
}
