import { readJson, readUtf8 } from '../patterns/record-json';
import { SchemaSketch, type SketchLimits } from './schema-sketch';
import type { Sample, TopicSampling } from './topic-samples';

/** What the samples of a topic say about its records' parts. */
export interface InferredParts {
  /** The value's schema; null when some sampled value is not JSON (the draft then leaves the value unchecked). */
  payload: Record<string, unknown> | null;
  /** The key's schema, as the Kafka binding reads it; null when some key is not UTF-8 text. */
  key: Record<string, unknown> | null;
  /** The headers' schema; null when no sample had a header. */
  headers: Record<string, unknown> | null;
  /** Every header name seen, in order of first appearance. */
  headerNames: string[];
  /** Sampled values that were not JSON. */
  nonJsonValues: number;
}

/** The JSON a text holds, or undefined. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isStructured(data: unknown): boolean {
  return typeof data === 'object' && data !== null;
}

/**
 * Keys are read the way the validator will read them under the schema given (compile-contracts:
 * a key schema of type string is matched against the key's text, object or array against its
 * JSON): JSON when every key is a JSON object or array, else text.
 */
function inferKey(samples: readonly Sample[], limits?: SketchLimits): Record<string, unknown> | null {
  const texts: (string | null)[] = [];
  for (const sample of samples) {
    if (sample.key === null) {
      texts.push(null);
      continue;
    }
    const text = readUtf8(sample.key);
    if (text === null) return null;
    texts.push(text);
  }
  const parsed: unknown[] = [];
  let structured = texts.some((text) => text !== null);
  for (const text of texts) {
    if (!structured) break;
    if (text === null) {
      parsed.push(null);
      continue;
    }
    const data = parseJson(text);
    if (isStructured(data)) parsed.push(data);
    else structured = false;
  }
  const sketch = new SchemaSketch(limits);
  for (const value of structured ? parsed : texts) sketch.add(value);
  return sketch.schema();
}

/**
 * Headers as the validator reads them (record-validator.ts): the first occurrence of a name, its
 * value as UTF-8 text, or null. Header values are always matched as text under a draft, since it
 * types none of them as number or boolean.
 */
function headerObject(sample: Sample, names: Set<string>): Record<string, string | null> {
  const entries = new Map<string, string | null>();
  for (const header of sample.headers) {
    names.add(header.key);
    if (!entries.has(header.key)) entries.set(header.key, header.value?.toString('utf8') ?? null);
  }
  return Object.fromEntries(entries);
}

/** Infers the schemas of a topic's records from its samples. Linear in the samples' size. */
export function inferParts(samples: readonly Sample[], limits?: SketchLimits): InferredParts {
  const values = new SchemaSketch(limits);
  let nonJsonValues = 0;
  for (const sample of samples) {
    const reading = readJson(sample.value, 'value');
    if (reading.ok) values.add(reading.data);
    else nonJsonValues++;
  }
  const headers = new SchemaSketch(limits);
  const names = new Set<string>();
  let withHeaders = false;
  for (const sample of samples) {
    if (sample.headers.length > 0) withHeaders = true;
    headers.add(headerObject(sample, names));
  }
  return {
    payload: nonJsonValues > 0 || values.empty ? null : values.schema(),
    key: samples.length === 0 ? null : inferKey(samples, limits),
    headers: withHeaders ? headers.schema() : null,
    headerNames: [...names],
    nonJsonValues,
  };
}

/** Channel, message and operation ids: topic names are already of the characters ids allow. */
function idFor(topic: string): string {
  return topic;
}

/**
 * A draft AsyncAPI 3.0 document for a topic no contract describes, from its samples: one channel
 * whose address is the topic, one message with the inferred payload, headers and Kafka key.
 * Uploaded unchanged (PUT /specs/{id}) it accepts every sampled record.
 */
export function draftAsyncApi(
  sampling: TopicSampling,
  samples: readonly Sample[],
  limits?: SketchLimits,
): Record<string, unknown> {
  const parts = inferParts(samples, limits);
  const channel = idFor(sampling.topic);
  const message = `${channel}.record`;
  const notes = [
    `Drafted by Event Gateway from ${samples.length} records sampled out of ${sampling.seen} produced to ${sampling.topic}` +
      (sampling.oversized > 0 ? ` (${sampling.oversized} more were too large to sample)` : '') +
      '. It accepts every sampled record; review it before adopting it as the contract.',
  ];
  if (parts.nonJsonValues > 0)
    notes.push(`${parts.nonJsonValues} sampled values were not JSON, so the payload is left unchecked.`);
  if (parts.key === null) notes.push('Some sampled keys were not UTF-8 text, so the key is left unchecked.');
  if (parts.headerNames.length > 0) notes.push(`Headers seen: ${parts.headerNames.join(', ')}.`);
  return {
    asyncapi: '3.0.0',
    info: {
      title: `${sampling.topic} (discovered)`,
      version: '0.1.0',
      description: notes.join('\n\n'),
    },
    defaultContentType: 'application/json',
    channels: {
      [channel]: {
        address: sampling.topic,
        messages: { [message]: { $ref: `#/components/messages/${message}` } },
        bindings: { kafka: { topic: sampling.topic, bindingVersion: '0.5.0' } },
      },
    },
    operations: {
      [`send.${channel}`]: {
        action: 'send',
        channel: { $ref: `#/channels/${channel}` },
        messages: [{ $ref: `#/channels/${channel}/messages/${message}` }],
      },
    },
    components: {
      messages: {
        [message]: {
          name: message,
          contentType: 'application/json',
          ...(parts.payload !== null && { payload: parts.payload }),
          ...(parts.headers !== null && { headers: parts.headers }),
          ...(parts.key !== null && { bindings: { kafka: { key: parts.key, bindingVersion: '0.5.0' } } }),
        },
      },
    },
  };
}
