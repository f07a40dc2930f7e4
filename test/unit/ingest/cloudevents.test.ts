import fc from 'fast-check';
import type { IncomingHttpHeaders } from 'node:http';
import {
  CloudEventError,
  parseBatch,
  parseBinary,
  parseStructured,
  toKafkaRecord,
  type CloudEvent,
} from '../../../src/ingest/cloudevents';
import { growth, LINEAR_BOUND } from '../support/growth';

const REQUIRED = { specversion: '1.0', id: 'e-1', source: '/sensors/7', type: 'com.example.reading' };
const BINARY: IncomingHttpHeaders = {
  'ce-specversion': '1.0',
  'ce-id': 'e-1',
  'ce-source': '/sensors/7',
  'ce-type': 'com.example.reading',
};

function refusal(action: () => unknown): CloudEventError {
  try {
    action();
  } catch (error) {
    if (error instanceof CloudEventError) return error;
    throw error;
  }
  throw new Error('expected the event to be refused');
}

const structured = (event: Record<string, unknown>) => parseStructured(JSON.stringify(event));
const headersOf = (event: CloudEvent) =>
  Object.fromEntries(toKafkaRecord(event).headers.map(({ key, value }) => [key, value.toString('utf8')]));

describe('CloudEvents: HTTP binary mode', () => {
  it('reads ce- headers, Content-Type and the body', () => {
    const event = parseBinary(
      {
        ...BINARY,
        'ce-time': '2018-04-05T03:56:24Z',
        'ce-subject': 'room-1',
        'ce-dataschema': 'https://example.com/schemas/reading.json',
        'ce-comexampleextension': 'value',
        'content-type': 'application/json; charset=utf-8',
        host: 'gateway',
      },
      Buffer.from('{"lumens":1}'),
    );
    expect(event).toEqual({
      specversion: '1.0',
      id: 'e-1',
      source: '/sensors/7',
      type: 'com.example.reading',
      time: '2018-04-05T03:56:24Z',
      subject: 'room-1',
      dataschema: 'https://example.com/schemas/reading.json',
      datacontenttype: 'application/json; charset=utf-8',
      data: Buffer.from('{"lumens":1}'),
      extensions: { comexampleextension: 'value' },
    });
  });

  it('percent-decodes header values and unquotes double-quoted ones', () => {
    const event = parseBinary(
      {
        ...BINARY,
        'ce-subject': 'Euro%20%E2%82%AC%20%f0%9f%98%80',
        'ce-note': '"say \\"hi\\" 100%25"',
        'ce-plain': '%41bc',
      },
      Buffer.alloc(0),
    );
    expect(event.subject).toBe('Euro € 😀');
    expect(event.extensions).toEqual({ note: 'say "hi" 100%', plain: 'Abc' });
    expect(event.data).toBeUndefined();
  });

  it('refuses overlong and invalid UTF-8, broken escapes and repeated headers, naming the attribute', () => {
    expect(refusal(() => parseBinary({ ...BINARY, 'ce-note': 'a%C0%A0b' }, Buffer.alloc(0))).field).toBe(
      'note',
    );
    expect(refusal(() => parseBinary({ ...BINARY, 'ce-note': '%ff' }, Buffer.alloc(0))).field).toBe('note');
    expect(refusal(() => parseBinary({ ...BINARY, 'ce-note': '50%' }, Buffer.alloc(0))).field).toBe('note');
    expect(refusal(() => parseBinary({ ...BINARY, 'ce-note': '%2' }, Buffer.alloc(0))).field).toBe('note');
    expect(refusal(() => parseBinary({ ...BINARY, 'ce-note': '%0A' }, Buffer.alloc(0))).message).toMatch(
      /control character/,
    );
    expect(
      refusal(() => parseBinary({ ...BINARY, 'ce-note': ['a', 'b'] } as never, Buffer.alloc(0))).field,
    ).toBe('note');
    const duplicate = refusal(() => parseBinary({ ...BINARY, 'CE-ID': 'again' }, Buffer.alloc(0)));
    expect(duplicate.field).toBe('id');
  });

  it('refuses ce-datacontenttype, ce-data and bad names', () => {
    const both = refusal(() =>
      parseBinary(
        { ...BINARY, 'ce-datacontenttype': 'text/plain', 'content-type': 'text/plain' },
        Buffer.from('x'),
      ),
    );
    expect(both.field).toBe('datacontenttype');
    expect(refusal(() => parseBinary({ ...BINARY, 'ce-data': 'x' }, Buffer.alloc(0))).field).toBe('data');
    expect(refusal(() => parseBinary({ ...BINARY, 'ce-my_ext': 'x' }, Buffer.alloc(0))).field).toBe('my_ext');
    const long = 'a'.repeat(21);
    expect(refusal(() => parseBinary({ ...BINARY, [`ce-${long}`]: 'x' }, Buffer.alloc(0))).field).toBe(long);
    expect(
      refusal(() => parseBinary({ ...BINARY, 'content-type': 'not a type' }, Buffer.from('x'))).field,
    ).toBe('datacontenttype');
  });

  it.each(['specversion', 'id', 'source', 'type'])('refuses an event without %s', (name) => {
    const headers = { ...BINARY };
    delete headers[`ce-${name}`];
    const error = refusal(() => parseBinary(headers, Buffer.alloc(0)));
    expect(error.field).toBe(name);
    expect(error.message).toMatch(name);
  });
});

describe('CloudEvents: JSON format', () => {
  it('keeps JSON data as the text that was sent and states the implied content type', () => {
    const text = `{"specversion":"1.0","id":"e-1","source":"/s","type":"t","data": {"amount": 12345678901234567890, "x": 1.10} }`;
    const event = parseStructured(text);
    expect(event.data?.toString()).toBe('{"amount": 12345678901234567890, "x": 1.10}');
    expect(event.datacontenttype).toBe('application/json');
    expect(structured({ ...REQUIRED, data: null }).data?.toString()).toBe('null');
    expect(structured({ ...REQUIRED, data: 'just a string' }).data?.toString()).toBe('"just a string"');
    const vendorJson = structured({
      ...REQUIRED,
      datacontenttype: 'application/cloudevents+json',
      data: [1, 2],
    });
    expect(vendorJson.data?.toString()).toBe('[1,2]');
    expect(structured(REQUIRED).data).toBeUndefined();
    expect(structured(REQUIRED).datacontenttype).toBeUndefined();
  });

  it('takes a string as its UTF-8 bytes when the content type is not JSON', () => {
    const event = structured({
      ...REQUIRED,
      datacontenttype: 'application/xml',
      data: '<much wow="xml"/> €',
    });
    expect(event.data).toEqual(Buffer.from('<much wow="xml"/> €'));
    const error = refusal(() => structured({ ...REQUIRED, datacontenttype: 'text/plain', data: { a: 1 } }));
    expect(error.field).toBe('data');
  });

  it('decodes data_base64 and refuses it beside data or when it is not base64', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 253]);
    const event = structured({
      ...REQUIRED,
      datacontenttype: 'application/octet-stream',
      data_base64: bytes.toString('base64'),
    });
    expect(event.data).toEqual(bytes);
    expect(structured({ ...REQUIRED, data_base64: 'AAEC' }).datacontenttype).toBeUndefined();
    expect(structured({ ...REQUIRED, data_base64: 'AAE' }).data).toEqual(Buffer.from([0, 1]));
    expect(refusal(() => structured({ ...REQUIRED, data: 1, data_base64: 'AA==' })).field).toBe(
      'data_base64',
    );
    expect(refusal(() => structured({ ...REQUIRED, data: null, data_base64: 'AA==' })).field).toBe(
      'data_base64',
    );
    for (const bad of ['A', 'AA=A', 'A===', 'AA!=', 'AA==AA==', 12]) {
      expect(refusal(() => structured({ ...REQUIRED, data_base64: bad })).field).toBe('data_base64');
    }
    expect(structured({ ...REQUIRED, data: 1, data_base64: null }).data?.toString()).toBe('1');
  });

  it('reads extensions as canonical strings and null as unset', () => {
    const event = structured({ ...REQUIRED, flag: true, off: false, count: -5, big: 2147483647, gone: null });
    expect(event.extensions).toEqual({ flag: 'true', off: 'false', count: '-5', big: '2147483647' });
    expect(structured({ ...REQUIRED, subject: null, time: '2020-01-01T00:00:00Z' }).subject).toBeUndefined();
  });

  it.each([
    [{ specversion: '0.3' }, 'specversion'],
    [{ specversion: 1 }, 'specversion'],
    [{ specversion: null }, 'specversion'],
    [{ id: '' }, 'id'],
    [{ id: 7 }, 'id'],
    [{ type: '' }, 'type'],
    [{ type: ['a'] }, 'type'],
    [{ source: '' }, 'source'],
    [{ source: 'has space' }, 'source'],
    [{ source: '1http:x' }, 'source'],
    [{ source: 'a%zz' }, 'source'],
    [{ source: '/a#b#c' }, 'source'],
    [{ source: '/a[0]' }, 'source'],
    [{ dataschema: '/relative/schema.json' }, 'dataschema'],
    [{ dataschema: '' }, 'dataschema'],
    [{ subject: '' }, 'subject'],
    [{ subject: 'a\u0000b' }, 'subject'],
    [{ subject: 'a\u0085b' }, 'subject'],
    [{ subject: 'a\ud800b' }, 'subject'],
    [{ subject: 'a\udc00' }, 'subject'],
    [{ subject: '\ufdd0' }, 'subject'],
    [{ subject: '\ufffe' }, 'subject'],
    [{ subject: '\ud83f\udfff' }, 'subject'],
    [{ time: 'yesterday' }, 'time'],
    [{ time: '2021-02-29T00:00:00Z' }, 'time'],
    [{ time: '2021-01-01T24:00:00Z' }, 'time'],
    [{ time: '2021-01-01T00:00:00' }, 'time'],
    [{ time: '2021-01-01T00:00:00.Z' }, 'time'],
    [{ time: '2021-01-01T00:00:00+0100' }, 'time'],
    [{ time: 1609459200 }, 'time'],
    [{ datacontenttype: 'json' }, 'datacontenttype'],
    [{ datacontenttype: 'text/plain; charset' }, 'datacontenttype'],
    [{ datacontenttype: 'text/plain; charset="utf-8' }, 'datacontenttype'],
    [{ Upper: 'x' }, 'Upper'],
    [{ 'with-dash': 'x' }, 'with-dash'],
    [{ abcdefghijklmnopqrstu: 'x' }, 'abcdefghijklmnopqrstu'],
    [{ ext: 1.5 }, 'ext'],
    [{ ext: 2147483648 }, 'ext'],
    [{ ext: { nested: true } }, 'ext'],
    [{ ext: [] }, 'ext'],
  ])('refuses %j, naming %s', (change, field) => {
    const error = refusal(() => structured({ ...REQUIRED, ...change }));
    expect(error).toBeInstanceOf(CloudEventError);
    expect(error.field).toBe(field);
  });

  it('accepts the URI-references, timestamps and media types the specs show', () => {
    for (const source of [
      'https://github.com/cloudevents',
      'mailto:cncf-wg-serverless@lists.cncf.io',
      'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66',
      '/cloudevents/spec/pull/123',
      '1-555-123-4567',
      '//[::1]:8080/a?b=c#d',
      'a%20b',
    ]) {
      expect(structured({ ...REQUIRED, source }).source).toBe(source);
    }
    for (const time of [
      '2018-04-05T17:31:00Z',
      '2020-02-29t23:59:60.123456z',
      '1985-04-12T23:20:50.52-04:00',
    ]) {
      expect(structured({ ...REQUIRED, time }).time).toBe(time);
    }
    for (const type of [
      'text/plain;charset="utf-8"',
      'application/vnd.apache.thrift.binary',
      'text/plain;',
    ]) {
      expect(structured({ ...REQUIRED, datacontenttype: type }).datacontenttype).toBe(type);
    }
  });

  it('sets time to now when the publisher leaves it out', () => {
    const before = Date.now();
    const event = structured(REQUIRED);
    const after = Date.now();
    expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(event.time!)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(event.time!)).toBeLessThanOrEqual(after);
    expect(parseBinary(BINARY, Buffer.alloc(0)).time).toMatch(/^\d{4}-/);
  });

  it('refuses documents that are not one event object, and repeated members', () => {
    for (const text of ['', '{', '[]', 'null', '"x"', '42', '{"a":1}x']) {
      const error = refusal(() => parseStructured(text));
      expect(error.field).toBe('(root)');
    }
    const repeated = refusal(() =>
      parseStructured('{"specversion":"1.0","id":"a","id":"b","source":"/","type":"t"}'),
    );
    expect(repeated.field).toBe('id');
    expect(refusal(() => parseStructured('{"__proto__":{"id":"x"},"specversion":"1.0"}')).field).toBe(
      '__proto__',
    );
  });
});

describe('CloudEvents: JSON batch format', () => {
  it('parses each entry on its own', () => {
    const results = parseBatch(
      JSON.stringify([
        { ...REQUIRED, id: 'a', data: { n: 1 } },
        { ...REQUIRED, id: '' },
        7,
        { ...REQUIRED, id: 'c', datacontenttype: 'text/plain', data: 'hi' },
      ]),
    );
    expect(results).toHaveLength(4);
    expect((results[0] as CloudEvent).data?.toString()).toBe('{"n":1}');
    expect((results[1] as CloudEventError).field).toBe('id');
    expect((results[2] as CloudEventError).field).toBe('(root)');
    expect((results[3] as CloudEvent).data?.toString()).toBe('hi');
    expect(parseBatch(' [ ] ')).toEqual([]);
  });

  it('finds each entry’s data in the text even with nested brackets and escaped quotes', () => {
    const text = `[ {"specversion":"1.0","id":"a","source":"/","type":"t","x":"]}\\"","data":[{"a":"}]"},[]]},
      {"data":"{\\"","specversion":"1.0","id":"b","source":"/","type":"t"} ]`;
    const [first, second] = parseBatch(text) as CloudEvent[];
    expect(first.data?.toString()).toBe('[{"a":"}]"},[]]');
    expect(first.extensions.x).toBe(']}"');
    expect(second.data?.toString()).toBe('"{\\""');
  });

  it('refuses a body that is not an array, or holds too many events, whole', () => {
    expect(refusal(() => parseBatch(JSON.stringify(REQUIRED))).field).toBe('(root)');
    expect(refusal(() => parseBatch('[1,')).field).toBe('(root)');
    const many = `[${Array.from({ length: 100_000 }, () => '{}').join(',')}]`;
    const error = refusal(() => parseBatch(many, 1000));
    expect(error.message).toMatch(/at most 1000 events, not 100000/);
    expect(parseBatch(`[${Array(3).fill(JSON.stringify(REQUIRED)).join(',')}]`, 3)).toHaveLength(3);
    expect(refusal(() => parseBatch(`[${Array(1001).fill('{}').join(',')}]`)).field).toBe('(root)');
  });
});

describe('CloudEvents: Kafka protocol binding, binary content mode', () => {
  it('writes attributes as ce_ headers, the content type as content-type and the data as the value', () => {
    const event = structured({
      ...REQUIRED,
      time: '2018-04-05T03:56:24Z',
      subject: 'Euro €',
      dataschema: 'urn:schema:1',
      count: 5,
      datacontenttype: 'application/avro',
      data_base64: 'AAEC',
    });
    const record = toKafkaRecord(event);
    expect(headersOf(event)).toEqual({
      ce_specversion: '1.0',
      ce_id: 'e-1',
      ce_source: '/sensors/7',
      ce_type: 'com.example.reading',
      ce_time: '2018-04-05T03:56:24Z',
      ce_subject: 'Euro €',
      ce_dataschema: 'urn:schema:1',
      ce_count: '5',
      'content-type': 'application/avro',
    });
    expect(record.headers.some((h) => h.key === 'ce_datacontenttype')).toBe(false);
    expect(record.value).toEqual(Buffer.from([0, 1, 2]));
    expect(record.key).toBeNull();
  });

  it('keys the record by partitionkey and still sends it as an attribute', () => {
    const record = toKafkaRecord(
      parseBinary({ ...BINARY, 'ce-partitionkey': 'tenant%2F42' }, Buffer.from('x')),
    );
    expect(record.key).toEqual(Buffer.from('tenant/42'));
    expect(record.headers).toContainEqual({ key: 'ce_partitionkey', value: Buffer.from('tenant/42') });
  });

  it('writes an event without data as a record without value', () => {
    const record = toKafkaRecord(structured({ ...REQUIRED, time: '2018-04-05T03:56:24Z' }));
    expect(record.value).toBeNull();
    expect(record.headers.map((h) => h.key)).not.toContain('content-type');
  });
});

describe('CloudEvents: hostile input', () => {
  it('handles 1 MiB attribute values and quotes only a little of them back', () => {
    const big = 'a'.repeat(1 << 20);
    const event = structured({ ...REQUIRED, subject: big, ext: big, source: `/${big}` });
    expect(event.subject).toHaveLength(1 << 20);
    expect(toKafkaRecord(event).headers.find((h) => h.key === 'ce_ext')?.value.length).toBe(1 << 20);
    const refused = refusal(() => structured({ ...REQUIRED, time: big }));
    expect(refused.message.length).toBeLessThan(200);
    expect(refusal(() => structured({ ...REQUIRED, [big]: 'x' })).message.length).toBeLessThan(200);
    const header = refusal(() =>
      parseBinary({ ...BINARY, 'ce-x': `${'%41'.repeat(1 << 18)}%C0%A0` }, Buffer.alloc(0)),
    );
    expect(header.field).toBe('x');
  });

  it('takes time linear in the size of attribute values, headers and batches', () => {
    const checks: ((n: number) => void)[] = [
      (n) => structured({ ...REQUIRED, source: `//${'['.repeat(n)}`, subject: '\ud83d\ude00'.repeat(n) }),
      (n) => parseBinary({ ...BINARY, 'ce-subject': `"${'\\"%20'.repeat(n)}"` }, Buffer.alloc(0)),
      (n) => {
        try {
          structured({ ...REQUIRED, time: `2020-01-01T00:00:00.${'1'.repeat(n)}` });
        } catch {
          // refused or not, only the time it takes matters
        }
      },
      (n) =>
        parseBatch(
          `[${Array(n)
            .fill(`{"data":${'['.repeat(5)}"]}"${']'.repeat(5)}}`)
            .join(',')}]`,
          Infinity,
        ),
      (n) => {
        try {
          structured({ ...REQUIRED, datacontenttype: `a/b${';x="\\"'.repeat(n)}` });
        } catch {
          // as above
        }
      },
    ];
    for (const check of checks) expect(growth(check, 200)).toBeLessThan(LINEAR_BOUND());
  });

  it('throws nothing but CloudEventError, whatever the JSON (property)', () => {
    const attribute = fc.oneof(
      fc.constantFrom(
        'specversion',
        'id',
        'source',
        'type',
        'time',
        'subject',
        'dataschema',
        'datacontenttype',
      ),
      fc.constantFrom('data', 'data_base64', 'partitionkey', '__proto__', 'constructor', 'toString', ''),
      fc.string({ maxLength: 22 }),
    );
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom('1.0', '/a', 'urn:x', '2020-01-01T00:00:00Z', 'application/json', 'text/plain', 'AAEC'),
      fc.string({ unit: 'binary' }),
    );
    const event = fc.dictionary(attribute, value, { maxKeys: 12 });
    const withRequired = event.map((e) => ({ ...REQUIRED, ...e }));
    const check = (parse: () => unknown) => {
      try {
        const result = parse();
        for (const item of Array.isArray(result) ? result : [result]) {
          if (!(item instanceof CloudEventError)) toKafkaRecord(item as CloudEvent);
        }
      } catch (error) {
        if (!(error instanceof CloudEventError)) throw error;
      }
    };
    fc.assert(
      fc.property(fc.oneof(event, withRequired), (e) => {
        check(() => parseStructured(JSON.stringify(e)));
        check(() => parseBatch(JSON.stringify([e, e])));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        check(() => parseStructured(text));
        check(() => parseBatch(text));
      }),
      { numRuns: 300 },
    );
    const headerName = fc.oneof(
      fc.string({ maxLength: 24 }).map((s) => `ce-${s}`),
      fc.constant('content-type'),
    );
    const headerValue = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.stringMatching(/^[%0-9a-fA-F"\\ ]{0,20}$/),
      fc.constantFrom('1.0', '/a', 'text/plain', '"quoted"'),
    );
    fc.assert(
      fc.property(fc.dictionary(headerName, headerValue), fc.uint8Array(), (extra, body) => {
        check(() => parseBinary({ ...BINARY, ...extra }, Buffer.from(body)));
        check(() => parseBinary(extra, Buffer.from(body)));
      }),
      { numRuns: 500 },
    );
  });
});
