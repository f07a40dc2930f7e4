/** Records, events and checks the delivery format's tests share. */
import fc from 'fast-check';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { toKafkaRecord, type CloudEvent } from '../../../src/ingest/cloudevents';
import type { DeliveredRecord, OutgoingBody } from '../../../src/subscriptions/delivery-format';
import type { DeliveryFormat } from '../../../src/subscriptions/subscription';

export const FORMATS: DeliveryFormat[] = ['binary', 'structured', 'raw'];
export const TIMESTAMP = '1700000000123';
export const TIME = new Date(1700000000123).toISOString();

export function record(parts: Partial<DeliveredRecord> = {}): DeliveredRecord {
  return {
    topic: 'orders',
    partition: 3,
    offset: '42',
    timestamp: TIMESTAMP,
    key: null,
    value: null,
    headers: {},
    ...parts,
  };
}

/** The record the gateway's own Kafka binding writes for an event. */
export function written(event: CloudEvent): DeliveredRecord {
  const parts = toKafkaRecord(event);
  return record({
    key: parts.key,
    value: parts.value,
    headers: Object.fromEntries(parts.headers.map(({ key, value }) => [key, value])),
  });
}

export function structuredRecord(
  value: string | Buffer,
  contentType = 'application/cloudevents+json',
): DeliveredRecord {
  return record({ value: Buffer.from(value), headers: { 'content-type': Buffer.from(contentType) } });
}

/** Percent-decoding to bytes, as a receiver following the HTTP binding does. */
export function percentDecode(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%') {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(text.charCodeAt(i));
  }
  return Buffer.from(bytes);
}

export function json(out: OutgoingBody): Record<string, unknown> {
  return JSON.parse(out.body!.toString('utf8')) as Record<string, unknown>;
}

export function expectSendable(out: OutgoingBody): void {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(out.headers)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch (error) {
      problems.push((error as Error).message);
    }
    // Node lets Latin-1 through; the binding asks for printable ASCII, percent-encoded beyond it.
    if (!/^[\x20-\x7e]*$/.test(value)) problems.push(`${name} is not printable ASCII`);
  }
  expect(problems).toEqual([]);
}

export const EVENT: CloudEvent = {
  specversion: '1.0',
  id: 'e-1',
  source: '/sensors/7',
  type: 'com.example.reading',
  time: '2024-01-02T03:04:05Z',
  subject: 'Grüße "quoted" 100%',
  datacontenttype: 'application/json',
  data: Buffer.from('{"celsius":21.5,"big":12345678901234567890}'),
  extensions: { partitionkey: 'sensor-7', traceparent: '00-abc-def-01' },
};

/** Events as the HTTP door accepts them: attribute values without control characters. */
const textArb = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 20 })
  .filter((s) => !/[\p{Cc}\p{Noncharacter_Code_Point}]/u.test(s));
export const eventArb: fc.Arbitrary<CloudEvent> = fc
  .record({
    id: textArb,
    source: fc.constantFrom('/a', 'urn:x', 'https://example.com/a?b=c', 'a%20b'),
    type: textArb,
    subject: fc.option(textArb, { nil: undefined }),
    time: fc.constantFrom('2024-01-02T03:04:05Z', '2024-01-02T03:04:05.123+01:00'),
    datacontenttype: fc.option(
      fc.constantFrom('application/json', 'text/plain', 'application/octet-stream'),
      {
        nil: undefined,
      },
    ),
    data: fc.option(
      fc.oneof(
        fc.json().map((s) => Buffer.from(s)),
        fc.string({ minLength: 1 }).map((s) => Buffer.from(s)),
      ),
      { nil: undefined },
    ),
    extensions: fc.dictionary(
      fc
        .stringMatching(/^[a-z0-9]{1,20}$/)
        .filter(
          (n) =>
            ![
              'data',
              'specversion',
              'id',
              'source',
              'type',
              'subject',
              'time',
              'datacontenttype',
              'dataschema',
            ].includes(n),
        ),
      textArb,
      { maxKeys: 4 },
    ),
  })
  .map((parts) => {
    const event: CloudEvent = { specversion: '1.0', ...parts };
    for (const key of ['subject', 'datacontenttype', 'data'] as const)
      if (event[key] === undefined) delete event[key];
    return event;
  });
