import fc from 'fast-check';
import { parseBinary, parseStructured, type CloudEvent } from '../../../src/ingest/cloudevents';
import { outgoingBody, percentEncode, recordEventType } from '../../../src/subscriptions/delivery-format';
import { FORMATS, eventArb, expectSendable, json, percentDecode, record, written } from './delivery-records';

/**
 * The event a receiver of the JSON format reads back. JSON data goes in as the `data` member's
 * value, so whitespace around it (which is not part of a JSON value) does not come back.
 */
function embedded(event: CloudEvent): CloudEvent {
  if (event.data === undefined || event.datacontenttype !== 'application/json') return event;
  const text = event.data.toString('utf8');
  try {
    JSON.parse(text);
  } catch {
    return event;
  }
  return { ...event, data: Buffer.from(text.trim()) };
}

describe('round trips', () => {
  it('round-trips events through the Kafka binding and the HTTP binary binding', () => {
    fc.assert(
      fc.property(eventArb, (event) => {
        const out = outgoingBody(written(event), 'binary');
        expectSendable(out);
        expect(parseBinary(out.headers, out.body ?? Buffer.alloc(0))).toEqual(event);
      }),
    );
  });

  it('round-trips events through the Kafka binding and the JSON format', () => {
    fc.assert(
      fc.property(eventArb, (event) => {
        const out = outgoingBody(written(event), 'structured');
        expect(parseStructured(out.body!.toString('utf8'))).toEqual(embedded(event));
      }),
    );
  });

  it('embeds JSON data as its value, without the whitespace around it', () => {
    for (const [data, member] of [
      ['0 ', '"data":0}'],
      [' [1, 2]\n', '"data":[1, 2]}'],
      ['{"a": 1}', '"data":{"a": 1}}'],
    ]) {
      const event: CloudEvent = {
        specversion: '1.0',
        id: '1',
        source: '/a',
        type: 't',
        time: '2024-01-02T03:04:05Z',
        datacontenttype: 'application/json',
        data: Buffer.from(data),
        extensions: {},
      };
      const body = outgoingBody(written(event), 'structured').body!.toString('utf8');
      expect(body.endsWith(member)).toBe(true);
      expect(parseStructured(body)).toEqual(embedded(event));
    }
  });
});

describe('hostile records', () => {
  const bytesArb = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));
  const headerValueArb = fc.oneof(
    bytesArb,
    fc.string({ unit: 'binary' }),
    fc.constantFrom('1.0', 'application/cloudevents+json', 'application/json', 'text/plain\r\n'),
    fc.constant(null as unknown as Buffer),
    fc.array(bytesArb, { maxLength: 3 }),
  );
  const headerNameArb = fc.oneof(
    fc.constantFrom('ce_specversion', 'ce_type', 'ce_id', 'ce_x', 'content-type', 'ce_', 'ce_A', '__proto__'),
    fc.string({ maxLength: 12 }).map((s) => `ce_${s}`),
    fc.string({ unit: 'binary', maxLength: 12 }),
  );
  const recordArb = fc.record({
    topic: fc.constantFrom('t', 'orders.v1', 'a_b-c'),
    partition: fc.nat(1000),
    offset: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String),
    timestamp: fc.oneof(
      fc.bigInt({ min: -1n, max: 2n ** 63n - 1n }).map(String),
      fc.constant('not a number'),
    ),
    key: fc.option(
      fc.oneof(
        bytesArb,
        fc.string({ unit: 'binary' }).map((s) => Buffer.from(s)),
      ),
    ),
    value: fc.option(
      fc.oneof(
        bytesArb,
        fc.json().map((s) => Buffer.from(s)),
        fc.jsonValue().map((v) => Buffer.from(JSON.stringify({ specversion: '1.0', data: v, type: v }))),
      ),
    ),
    headers: fc.dictionary(headerNameArb, headerValueArb, { maxKeys: 6 }),
  });

  it('always gives headers that can be sent, and never throws', () => {
    fc.assert(
      fc.property(recordArb, fc.constantFrom(...FORMATS), (r, format) => {
        const out = outgoingBody(r, format);
        expectSendable(out);
        if (format === 'structured') expect(() => json(out)).not.toThrow();
        recordEventType(r);
      }),
      { numRuns: 500 },
    );
  });

  it('sends a 64 KB key as a partition key that decodes back', () => {
    const key = 'k'.repeat(32_768) + 'ü'.repeat(16_384);
    const out = outgoingBody(record({ key: Buffer.from(key) }), 'binary');
    expectSendable(out);
    expect(percentDecode(out.headers['ce-partitionkey']).toString('utf8')).toBe(key);
  });
});

describe('percentEncode', () => {
  it('leaves printable ASCII alone except space, quote and percent', () => {
    expect(percentEncode('abc-._~!$&()*+,;=:@/?#[]')).toBe('abc-._~!$&()*+,;=:@/?#[]');
    expect(percentEncode(' "%')).toBe('%20%22%25');
    expect(percentEncode('\u00e9')).toBe('%C3%A9');
    expect(percentEncode(Buffer.from([0x00, 0x7f, 0x80]))).toBe('%00%7F%80');
  });
});
