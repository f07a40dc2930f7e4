import { toKafkaRecord } from '../../../src/ingest/cloudevents';
import { httpRequestEvent } from '../../../src/subscriptions/delivery-format';

describe('httpRequestEvent', () => {
  const request = {
    method: 'POST',
    path: '/hooks/orders',
    query: { a: '1', b: ['2', '3'] },
    headers: {
      'content-type': 'application/json',
      authorization: 'Bearer secret',
      Cookie: 'session=secret',
      'x-api-key': 'secret',
      'proxy-authorization': 'Basic secret',
      'x-request-id': 'r-1',
      'x-absent': undefined,
    },
    body: Buffer.from('{"amount":12345678901234567890}'),
  };

  it('is an http.request event holding the request, without credentials', () => {
    const event = httpRequestEvent(request, 'id-1', '/sync/orders');
    expect(event).toMatchObject({
      specversion: '1.0',
      id: 'id-1',
      source: '/sync/orders',
      type: 'http.request',
      datacontenttype: 'application/json',
      extensions: {},
    });
    expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    const text = event.data!.toString('utf8');
    expect(text).not.toMatch(/secret/i);
    expect(text).toContain('"body":{"amount":12345678901234567890}');
    expect(JSON.parse(text)).toEqual({
      method: 'POST',
      path: '/hooks/orders',
      query: { a: '1', b: ['2', '3'] },
      headers: { 'content-type': 'application/json', 'x-request-id': 'r-1' },
      body: JSON.parse('{"amount":12345678901234567890}') as unknown,
    });
    // It is written to Kafka with the gateway's own binding.
    expect(toKafkaRecord(event).value).toEqual(event.data);
  });

  it('keeps text as a string, other bytes and broken JSON as base64, and an empty body out', () => {
    const data = (body: Buffer | null, contentType?: string) =>
      JSON.parse(httpRequestEvent({ ...request, body, contentType }, 'i', '/s').data!.toString()) as Record<
        string,
        unknown
      >;
    expect(data(Buffer.from('héllo'), 'text/plain; charset=utf-8').body).toBe('héllo');
    expect(data(Buffer.from([1, 2, 255]), 'application/octet-stream').bodyBase64).toBe('AQL/');
    expect(data(Buffer.from('{"a":'), 'application/json').bodyBase64).toBe(
      Buffer.from('{"a":').toString('base64'),
    );
    expect(data(Buffer.from('{"a":1}'), undefined).body).toEqual({ a: 1 });
    expect(data(null)).not.toHaveProperty('body');
    expect(data(Buffer.alloc(0))).not.toHaveProperty('bodyBase64');
  });

  it('keeps a header called __proto__', () => {
    const headers = JSON.parse('{"__proto__":"x"}') as Record<string, string>;
    const event = httpRequestEvent({ ...request, headers }, 'i', '/s');
    expect((JSON.parse(event.data!.toString()) as { headers: object }).headers).toEqual(headers);
  });
});
