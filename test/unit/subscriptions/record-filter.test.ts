import type { DeliveredRecord } from '../../../src/subscriptions/delivery-format';
import type { SubscriptionSettings } from '../../../src/subscriptions/subscription';
import { recordFilter } from '../../../src/subscriptions/subscriptions';
import { EVENT, record, structuredRecord, written } from './delivery-records';

function filter(
  events: Omit<SubscriptionSettings['events'], 'topics'>,
): (record: DeliveredRecord) => boolean {
  return recordFilter({
    type: 'async',
    events: { topics: ['orders'], ...events },
    target: { url: 'https://hooks.example.com/in' },
    deadLetterTopic: 'orders.dlq',
  });
}

/** A binary-mode record as another producer might write it: the attributes as ce_ headers. */
function binary(
  type: string | null,
  value: unknown,
  headers: DeliveredRecord['headers'] = {},
): DeliveredRecord {
  return record({
    key: Buffer.from('order-7'),
    value: Buffer.from(JSON.stringify(value)),
    headers: {
      ce_specversion: Buffer.from('1.0'),
      ce_id: Buffer.from('1'),
      ce_source: Buffer.from('/orders'),
      ...(type !== null && { ce_type: Buffer.from(type) }),
      'content-type': Buffer.from('application/json'),
      ...headers,
    },
  });
}

function structured(event: Record<string, unknown>): DeliveredRecord {
  return structuredRecord(JSON.stringify({ specversion: '1.0', id: '1', source: '/orders', ...event }));
}

const ORDER = { kind: 'order', amount: 250, region: 'eu' };

describe('recordFilter', () => {
  it('passes every record when neither a type nor a pattern is set', () => {
    const all = filter({});
    expect(all(record())).toBe(true);
    expect(all(record({ value: Buffer.from('not json') }))).toBe(true);
    expect(all(binary('com.example.other', ORDER))).toBe(true);
    expect(all(structuredRecord('{'))).toBe(true);
  });

  describe('by type', () => {
    const created = filter({ type: 'com.example.order.created' });

    it('reads the type of a binary-mode event from its ce_type header', () => {
      expect(created(binary('com.example.order.created', ORDER))).toBe(true);
      expect(created(binary('com.example.order.cancelled', ORDER))).toBe(false);
      expect(
        created(binary('com.example.order.created', ORDER, { ce_type: 'com.example.order.created' })),
      ).toBe(true);
      // Kafka lets a header repeat; the last one is the event's, as the SDKs read it.
      expect(
        created(
          binary(null, ORDER, { ce_type: [Buffer.from('other'), Buffer.from('com.example.order.created')] }),
        ),
      ).toBe(true);
      expect(
        created(
          binary(null, ORDER, { ce_type: [Buffer.from('com.example.order.created'), Buffer.from('other')] }),
        ),
      ).toBe(false);
    });

    it('reads the type of an event the gateway wrote itself', () => {
      expect(filter({ type: EVENT.type })(written(EVENT))).toBe(true);
      expect(filter({ type: `${EVENT.type}.v2` })(written(EVENT))).toBe(false);
    });

    it('takes a ce_type header only with ce_specversion beside it, the mark of binary mode', () => {
      const { ce_specversion: _specversion, ...headers } = binary(
        'com.example.order.created',
        ORDER,
      ).headers!;
      expect(created(record({ value: Buffer.from('{}'), headers }))).toBe(false);
      expect(created(binary(null, ORDER))).toBe(false);
    });

    it('reads the type of a structured event from its type member', () => {
      expect(created(structured({ type: 'com.example.order.created', data: ORDER }))).toBe(true);
      expect(created(structured({ type: 'com.example.order.cancelled', data: ORDER }))).toBe(false);
      expect(
        created(
          structuredRecord(
            JSON.stringify({ specversion: '1.0', type: 'com.example.order.created' }),
            'application/cloudevents+json; charset=utf-8',
          ),
        ),
      ).toBe(true);
      // The content-type decides the mode: a structured event's ce_ headers are not its attributes.
      expect(
        created(
          record({
            value: Buffer.from(JSON.stringify({ specversion: '1.0', type: 'other' })),
            headers: {
              'content-type': Buffer.from('application/cloudevents+json'),
              ce_specversion: Buffer.from('1.0'),
              ce_type: Buffer.from('com.example.order.created'),
            },
          }),
        ),
      ).toBe(false);
    });

    it('passes no record that is not a CloudEvent', () => {
      expect(
        created(record({ value: Buffer.from(JSON.stringify({ type: 'com.example.order.created' })) })),
      ).toBe(false);
      expect(created(structuredRecord('{"type": "com.example.order.created"'))).toBe(false);
      expect(created(structuredRecord('["com.example.order.created"]'))).toBe(false);
      expect(created(structured({ type: 7 }))).toBe(false);
      expect(created(record())).toBe(false);
    });
  });

  describe('by pattern', () => {
    it('matches the value parsed as JSON', () => {
      const large = filter({ pattern: { value: { amount: [{ numeric: ['>', 100] }] } } });
      expect(large(binary('t', ORDER))).toBe(true);
      expect(large(binary('t', { ...ORDER, amount: 50 }))).toBe(false);
      expect(large(record({ value: Buffer.from('not json') }))).toBe(false);
      expect(large(record({ value: null }))).toBe(false);
    });

    it('matches the key as text', () => {
      const european = filter({ pattern: { key: [{ prefix: 'eu-' }] } });
      expect(european(record({ key: Buffer.from('eu-7') }))).toBe(true);
      expect(european(record({ key: Buffer.from('us-7') }))).toBe(false);
      expect(european(record({ key: null }))).toBe(false);
    });

    it('matches headers as text, any of a repeated header', () => {
      const tenant = filter({ pattern: { headers: { tenant: ['acme'] } } });
      expect(tenant(record({ headers: { tenant: Buffer.from('acme') } }))).toBe(true);
      expect(tenant(record({ headers: { tenant: 'acme' } }))).toBe(true);
      expect(tenant(record({ headers: { tenant: [Buffer.from('other'), Buffer.from('acme')] } }))).toBe(true);
      expect(tenant(record({ headers: { tenant: Buffer.from('other') } }))).toBe(false);
      expect(tenant(record({ headers: {} }))).toBe(false);
      expect(tenant(record({ headers: undefined }))).toBe(false);
      const untagged = filter({ pattern: { headers: { tenant: [{ exists: false }] } } });
      expect(untagged(record({ headers: {} }))).toBe(true);
      expect(untagged(record({ headers: { tenant: 'acme' } }))).toBe(false);
    });

    it('matches value, key and headers together, every one of them', () => {
      const matches = filter({
        pattern: { value: { kind: ['order'] }, key: ['order-7'], headers: { ce_source: ['/orders'] } },
      });
      expect(matches(binary('t', ORDER))).toBe(true);
      expect(matches(binary('t', { ...ORDER, kind: 'refund' }))).toBe(false);
      expect(matches(record({ ...binary('t', ORDER), key: Buffer.from('order-8') }))).toBe(false);
      expect(matches(binary('t', ORDER, { ce_source: Buffer.from('/refunds') }))).toBe(false);
    });

    it('matches one of the branches of $or', () => {
      const either = filter({ pattern: { $or: [{ key: ['a'] }, { value: { region: ['eu'] } }] } });
      expect(either(record({ key: Buffer.from('a'), value: Buffer.from('{}') }))).toBe(true);
      expect(either(record({ key: Buffer.from('b'), value: Buffer.from('{"region":"eu"}') }))).toBe(true);
      expect(either(record({ key: Buffer.from('b'), value: Buffer.from('{"region":"us"}') }))).toBe(false);
    });
  });

  it('passes only records of the type that also match the pattern, when both are set', () => {
    const both = filter({
      type: 'com.example.order.created',
      pattern: { value: { region: ['eu'] } },
    });
    expect(both(binary('com.example.order.created', ORDER))).toBe(true);
    expect(both(binary('com.example.order.created', { ...ORDER, region: 'us' }))).toBe(false);
    expect(both(binary('com.example.order.cancelled', ORDER))).toBe(false);
    expect(both(binary('com.example.order.cancelled', { ...ORDER, region: 'us' }))).toBe(false);
    // The pattern sees the record as Kafka holds it: a structured event's value is the whole event.
    const structuredBoth = filter({
      type: 'com.example.order.created',
      pattern: { value: { data: { region: ['eu'] } } },
    });
    expect(structuredBoth(structured({ type: 'com.example.order.created', data: ORDER }))).toBe(true);
    expect(structuredBoth(structured({ type: 'com.example.order.created', data: { region: 'us' } }))).toBe(
      false,
    );
  });
});
