import fc from 'fast-check';
import { parseBinary, parseStructured } from '../../../src/ingest/cloudevents';
import { outgoingBody, recordEventType } from '../../../src/subscriptions/delivery-format';
import {
  EVENT,
  TIME,
  TIMESTAMP,
  expectSendable,
  json,
  percentDecode,
  record,
  structuredRecord,
  written,
} from './delivery-records';

describe('recordEventType', () => {
  it('reads ce_type from a binary-mode record', () => {
    expect(recordEventType(written(EVENT))).toBe('com.example.reading');
  });

  it('reads type from a structured-mode record, whatever the parameters of its content-type', () => {
    const value = JSON.stringify({ specversion: '1.0', id: '1', source: '/s', type: 't.x' });
    expect(recordEventType(structuredRecord(value))).toBe('t.x');
    expect(recordEventType(structuredRecord(value, 'Application/CloudEvents+JSON; charset=utf-8'))).toBe(
      't.x',
    );
  });

  it('is undefined for what is not a CloudEvent', () => {
    expect(recordEventType(record({ value: Buffer.from('{"type":"not.an.event"}') }))).toBeUndefined();
    // ce_type alone is not binary mode: the SDKs look for ce_specversion.
    expect(recordEventType(record({ headers: { ce_type: Buffer.from('t') } }))).toBeUndefined();
    for (const value of ['[]', '"x"', 'null', '42', 'true', '{"type":7}', '{broken', '\u00ff']) {
      expect(recordEventType(structuredRecord(value))).toBeUndefined();
    }
    expect(recordEventType(structuredRecord(Buffer.from([0xc3, 0x28])))).toBeUndefined();
    expect(
      recordEventType(record({ headers: { 'content-type': Buffer.from('application/cloudevents+json') } })),
    ).toBe(undefined);
  });

  it('does not parse a value whose content-type is not structured mode', () => {
    const value = Buffer.from('{"type":"x"}');
    const spy = jest.spyOn(JSON, 'parse');
    try {
      recordEventType(record({ value, headers: { ce_specversion: '1.0', ce_type: 'y' } }));
      recordEventType(record({ value }));
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('takes the last of a repeated header, and a null one as absent', () => {
    const headers = { ce_specversion: '1.0', ce_type: [Buffer.from('first'), Buffer.from('last')] };
    expect(recordEventType(record({ headers }))).toBe('last');
    const nulls = { ce_specversion: '1.0', ce_type: null as unknown as Buffer };
    expect(recordEventType(record({ headers: nulls }))).toBeUndefined();
  });
});

describe('binary delivery', () => {
  it('sends a binary-mode record as ce- headers, Content-Type and the value', () => {
    const out = outgoingBody(written(EVENT), 'binary');
    expect(out.headers).toEqual({
      'ce-specversion': '1.0',
      'ce-id': 'e-1',
      'ce-source': '/sensors/7',
      'ce-type': 'com.example.reading',
      'ce-subject': 'Gr%C3%BC%C3%9Fe%20%22quoted%22%20100%25',
      'ce-time': '2024-01-02T03:04:05Z',
      'ce-partitionkey': 'sensor-7',
      'ce-traceparent': '00-abc-def-01',
      'content-type': 'application/json',
    });
    expect(out.body).toEqual(EVENT.data);
    expect(parseBinary(out.headers, out.body!)).toEqual(EVENT);
  });

  it('unpacks a structured-mode record, keeping JSON data as written', () => {
    const text =
      '{"specversion":"1.0","id":"9","source":"/s","type":"t","n":5,"flag":true,"gone":null,"nested":{"a":1},"data":{"big":12345678901234567890, "s":"}\\""}}';
    const out = outgoingBody(structuredRecord(text), 'binary');
    expect(out.headers).toEqual({
      'ce-specversion': '1.0',
      'ce-id': '9',
      'ce-source': '/s',
      'ce-type': 't',
      'ce-n': '5',
      'ce-flag': 'true',
      'content-type': 'application/json',
    });
    expect(out.body!.toString()).toBe('{"big":12345678901234567890, "s":"}\\""}');
  });

  it('unpacks data_base64, text data, and keeps the last of repeated data members', () => {
    const base = { specversion: '1.0', id: '1', source: '/s', type: 't' };
    const bytes = outgoingBody(structuredRecord(JSON.stringify({ ...base, data_base64: 'AAH/' })), 'binary');
    expect(bytes.body).toEqual(Buffer.from([0, 1, 255]));
    expect(bytes.headers['content-type']).toBe('application/octet-stream');
    const text = { ...base, datacontenttype: 'text/plain', data: 'héllo' };
    const plain = outgoingBody(structuredRecord(JSON.stringify(text)), 'binary');
    expect(plain.body!.toString()).toBe('héllo');
    expect(plain.headers['content-type']).toBe('text/plain');
    const twice = outgoingBody(structuredRecord('{"specversion":"1.0","data":1,"data":[2]}'), 'binary');
    expect(twice.body!.toString()).toBe('[2]');
    const none = outgoingBody(structuredRecord(JSON.stringify(base)), 'binary');
    expect(none.body).toBeNull();
    expect(none.headers['content-type']).toBeUndefined();
  });

  it('makes up an event for a record that is not one', () => {
    const out = outgoingBody(
      record({ key: Buffer.from('customer-7'), value: Buffer.from('{"a":1}') }),
      'binary',
    );
    expect(out.headers).toEqual({
      'ce-specversion': '1.0',
      'ce-id': 'orders-3-42',
      'ce-source': '/topics/orders',
      'ce-type': 'kafka.record',
      'ce-time': TIME,
      'content-type': 'application/json',
      'ce-partitionkey': 'customer-7',
      'ce-kafkatopic': 'orders',
      'ce-kafkapartition': '3',
      'ce-kafkaoffset': '42',
    });
    expect(parseBinary(out.headers, out.body!).extensions.kafkaoffset).toBe('42');
  });

  it("takes a made-up event's Content-Type from the record, else from whether the value is JSON", () => {
    const typed = record({ value: Buffer.from('<a/>'), headers: { 'content-type': 'application/xml' } });
    expect(outgoingBody(typed, 'binary').headers['content-type']).toBe('application/xml');
    expect(outgoingBody(record({ value: Buffer.from('{"a"') }), 'binary').headers['content-type']).toBe(
      'application/octet-stream',
    );
    expect(outgoingBody(record({ value: Buffer.from([0xff]) }), 'binary').headers['content-type']).toBe(
      'application/octet-stream',
    );
    const tombstone = outgoingBody(record(), 'binary');
    expect(tombstone.body).toBeNull();
    expect(tombstone.headers['content-type']).toBeUndefined();
  });

  it('never sends a structured-mode Content-Type with a body that is not an event', () => {
    for (const value of ['[1,2]', '"text"', 'null', '{broken']) {
      const out = outgoingBody(structuredRecord(value), 'binary');
      expect(out.headers['ce-type']).toBe('kafka.record');
      expect(out.headers['content-type']).not.toMatch(/cloudevents/);
      expect(out.body!.toString()).toBe(value);
    }
  });

  it('leaves out the partition key when the key is not UTF-8, and skips a missing timestamp', () => {
    const out = outgoingBody(record({ key: Buffer.from([0xff, 0xfe]), timestamp: '-1' }), 'binary');
    expect(out.headers['ce-partitionkey']).toBeUndefined();
    expect(out.headers['ce-time']).toBeUndefined();
    expect(
      outgoingBody(record({ timestamp: '99999999999999999' }), 'binary').headers['ce-time'],
    ).toBeUndefined();
  });

  it('drops ce_ headers whose names are not attribute names, and a Content-Type that cannot be sent', () => {
    const headers = {
      ce_specversion: '1.0',
      ce_type: 't',
      ce_Upper: 'x',
      'ce_with-dash': 'x',
      ce_: 'x',
      ce_data: 'x',
      ce_datacontenttype: 'text/evil',
      'content-type': 'text/plain\r\nX-Injected: 1',
    };
    const out = outgoingBody(record({ headers, value: Buffer.from('v') }), 'binary');
    expect(out.headers).toEqual({
      'ce-specversion': '1.0',
      'ce-type': 't',
      'content-type': 'application/octet-stream',
    });
  });

  it('percent-encodes CR, LF, quotes, percent signs, spaces and non-ASCII, and they decode back', () => {
    const hostile = 'a\r\nX-Injected: 1\t"%"\u0000\u00e9\u{1f600}\u2028';
    const out = outgoingBody(record({ headers: { ce_specversion: '1.0', ce_note: hostile } }), 'binary');
    expectSendable(out);
    expect(out.headers['ce-note']).not.toMatch(/[\r\n" ]/);
    expect(percentDecode(out.headers['ce-note']).toString('utf8')).toBe(hostile);
  });
});

describe('structured delivery', () => {
  it('packs a binary-mode record, with JSON data as written', () => {
    const out = outgoingBody(written(EVENT), 'structured');
    expect(out.headers).toEqual({ 'content-type': 'application/cloudevents+json' });
    expect(out.body!.toString()).toContain('"data":{"celsius":21.5,"big":12345678901234567890}');
    expect(parseStructured(out.body!.toString())).toEqual(EVENT);
  });

  it('sends a structured-mode record exactly as written', () => {
    const text = '{ "specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data": 1.50 }';
    expect(outgoingBody(structuredRecord(text), 'structured').body!.toString()).toBe(text);
  });

  it('gives text data as a string, other bytes and invalid JSON as data_base64', () => {
    const base = { ...EVENT, extensions: {} };
    const text = json(
      outgoingBody(written({ ...base, datacontenttype: 'text/csv', data: Buffer.from('a,b') }), 'structured'),
    );
    expect(text.data).toBe('a,b');
    const broken = { ...base, data: Buffer.from('{"a":') };
    expect(json(outgoingBody(written(broken), 'structured')).data_base64).toBe(
      Buffer.from('{"a":').toString('base64'),
    );
    const latin1 = { ...base, datacontenttype: 'text/plain', data: Buffer.from([0xe9]) };
    expect(json(outgoingBody(written(latin1), 'structured')).data_base64).toBe('6Q==');
    const untyped = { ...base, datacontenttype: undefined };
    expect(json(outgoingBody(written(untyped), 'structured')).data_base64).toBeDefined();
  });

  it('makes up an event for a record that is not one', () => {
    const out = json(
      outgoingBody(record({ key: Buffer.from('k'), value: Buffer.from('[1,2]') }), 'structured'),
    );
    expect(out).toEqual({
      specversion: '1.0',
      id: 'orders-3-42',
      source: '/topics/orders',
      type: 'kafka.record',
      time: TIME,
      datacontenttype: 'application/json',
      partitionkey: 'k',
      kafkatopic: 'orders',
      kafkapartition: '3',
      kafkaoffset: '42',
      data: [1, 2],
    });
    const bytes = json(outgoingBody(record({ value: Buffer.from([0, 0xff]) }), 'structured'));
    expect(bytes.data_base64).toBe('AP8=');
    expect(json(outgoingBody(record(), 'structured'))).not.toHaveProperty('data');
  });
});

describe('raw delivery', () => {
  it('sends the value with the record coordinates as headers', () => {
    const out = outgoingBody(
      record({ key: Buffer.from('k 1'), value: Buffer.from('v'), headers: { 'content-type': 'text/plain' } }),
      'raw',
    );
    expect(out).toEqual({
      headers: {
        'content-type': 'text/plain',
        'x-kafka-topic': 'orders',
        'x-kafka-partition': '3',
        'x-kafka-offset': '42',
        'x-kafka-key': 'k%201',
        'x-kafka-timestamp': TIMESTAMP,
      },
      body: Buffer.from('v'),
    });
  });

  it('sends no body, Content-Type or key for a tombstone without a key', () => {
    const out = outgoingBody(record(), 'raw');
    expect(out.body).toBeNull();
    expect(out.headers['content-type']).toBeUndefined();
    expect(out.headers['x-kafka-key']).toBeUndefined();
    expect(outgoingBody(record({ value: Buffer.from('x') }), 'raw').headers['content-type']).toBe(
      'application/octet-stream',
    );
  });

  it('encodes any key so that it decodes to the same bytes, 64 KB ones included', () => {
    const big = Buffer.alloc(65_536, 'é');
    const out = outgoingBody(record({ key: big }), 'raw');
    expectSendable(out);
    expect(percentDecode(out.headers['x-kafka-key']).equals(big)).toBe(true);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const key = Buffer.from(bytes);
        const raw = outgoingBody(record({ key }), 'raw');
        expectSendable(raw);
        expect(percentDecode(raw.headers['x-kafka-key'])).toEqual(key);
      }),
    );
  });
});
