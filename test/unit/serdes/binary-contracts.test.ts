import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as avro from 'avsc';
import * as protobuf from 'protobufjs';
import { compileContracts } from '../../../src/asyncapi/compile-contracts';
import { parseSpec } from '../../../src/asyncapi/parse-spec';
import { decodeBinaryValue } from '../../../src/asyncapi/binary-view';
import { toTapRecord } from '../../../src/http/tap/tap-record';
import { tapEvent } from '../../../src/http/tap/tap-pattern';
import { validateRecord } from '../../../src/asyncapi/record-validator';
import { SpecError } from '../../../src/asyncapi/spec-error';
import type { ChannelContract } from '../../../src/asyncapi/channel-contract';

const FIXTURES = path.join(__dirname, '../../fixtures/asyncapi-avro');

async function contractsOf(text: string): Promise<ChannelContract[]> {
  return compileContracts('spec', await parseSpec(text, 'spec.yml'));
}

function record(
  value: Buffer | null,
  key: Buffer | null = null,
  headers: { key: string; value: Buffer }[] = [],
) {
  return { key, value, headers };
}

function confluent(id: number, body: Buffer, indexes?: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(id, 1);
  return Buffer.concat(indexes === undefined ? [head, body] : [head, indexes, body]);
}

const USER = avro.Type.forSchema({
  type: 'record',
  name: 'UserSignedUp',
  namespace: 'com.company',
  fields: [
    { name: 'userId', type: 'int' },
    { name: 'userEmail', type: 'string' },
  ],
});

function avroDoc(binding = '', key = ''): string {
  return `asyncapi: 3.0.0
info: {title: t, version: '1'}
channels:
  users:
    address: users
    messages:
      user:
        ${binding === '' && key === '' ? '' : `bindings:\n          kafka:\n${binding}${key}`}
        payload:
          schemaFormat: 'application/vnd.apache.avro;version=1.9.0'
          schema:
            type: record
            name: UserSignedUp
            namespace: com.company
            fields:
              - {name: userId, type: int}
              - {name: userEmail, type: string}
              - name: tags
                type: {type: array, items: string}
                default: []
              - name: kind
                type: ['null', {type: enum, name: Kind, symbols: [A, B]}]
                default: null
`;
}

const FULL = avro.Type.forSchema({
  type: 'record',
  name: 'UserSignedUp',
  namespace: 'com.company',
  fields: [
    { name: 'userId', type: 'int' },
    { name: 'userEmail', type: 'string' },
    { name: 'tags', type: { type: 'array', items: 'string' }, default: [] },
    { name: 'kind', type: ['null', { type: 'enum', name: 'Kind', symbols: ['A', 'B'] }], default: null },
  ],
});
const GOOD = FULL.toBuffer({ userId: 7, userEmail: 'a@b.c', tags: ['x', 'y'], kind: 'B' });

describe('official AsyncAPI Avro documents', () => {
  it('parse and give Avro contracts (3.0, Multi Format Schema Object)', async () => {
    const [contract] = await contractsOf(
      readFileSync(path.join(FIXTURES, 'user-signedup-avro-3.0.yml'), 'utf8'),
    );
    expect(contract.topic).toBe('user_signedup');
    const body = USER.toBuffer({ userId: 1, userEmail: 'x@y.z' });
    expect(validateRecord(contract, record(body))).toBeNull();
    expect(validateRecord(contract, record(body.subarray(0, body.length - 1)))).toEqual([
      '(root): at userEmail: truncated payload',
    ]);
  });

  it('parse with the registry bindings: apicurio-new framing, the server binding registry', async () => {
    const [contract] = await contractsOf(
      readFileSync(path.join(FIXTURES, 'user-signedup-registry-3.0.yml'), 'utf8'),
    );
    expect(contract.topic).toBe('UserSignedUp');
    expect(contract.schemaRegistry).toEqual({
      url: 'http://localhost:8080/apis/registry/',
      vendor: 'apicurio',
    });
    const body = USER.toBuffer({ userId: 1, userEmail: 'x@y.z' });
    // apicurio-new: magic byte, 4-byte contentId.
    expect(validateRecord(contract, record(confluent(9, body), Buffer.from('myKey')))).toBeNull();
    expect(validateRecord(contract, record(body, Buffer.from('myKey')))).toEqual([
      '(root): missing magic byte (the schema id frame starts with 0)',
    ]);
  });

  it('parse a 2.6 message with an Avro payload and an Avro Kafka key', async () => {
    const [contract] = await contractsOf(
      readFileSync(path.join(FIXTURES, 'person-avro-key-2.6.json'), 'utf8'),
    );
    const person = avro.Type.forSchema(
      JSON.parse(readFileSync(path.join(FIXTURES, 'person-avro-key-2.6.json'), 'utf8')).channels.people
        .publish.message.payload,
    );
    const value = person.toBuffer({
      name: 'Donkey',
      age: 3,
      favoriteProgrammingLanguage: 'Go',
      address: { zipcode: 53003 },
      someid: 'x',
    });
    expect(validateRecord(contract, record(value, value))).toBeNull();
    expect(validateRecord(contract, record(value, Buffer.from('plain')))).toEqual([
      expect.stringMatching(/^key: /),
    ]);
  });
});

describe("the AsyncAPI Avro schema parser's test messages", () => {
  it('all parse, and values of each schema (random, from avsc) are valid', async () => {
    const text = readFileSync(path.join(FIXTURES, 'avro-schema-parser-messages-2.6.json'), 'utf8');
    const document = JSON.parse(text) as {
      channels: Record<string, { publish: { message: { payload: avro.Schema } } }>;
    };
    const contracts = await contractsOf(text);
    expect(contracts.map((c) => c.topic)).toEqual(Object.keys(document.channels));
    for (const contract of contracts) {
      const type = avro.Type.forSchema(document.channels[contract.topic].publish.message.payload);
      for (let i = 0; i < 20; i++) {
        const bytes = type.toBuffer(type.random());
        expect(validateRecord(contract, record(bytes))).toBeNull();
        expect(validateRecord(contract, record(Buffer.concat([bytes, Buffer.from([0])])))).not.toBeNull();
      }
    }
  });
});

describe('Avro values', () => {
  let raw: ChannelContract;
  beforeAll(async () => {
    [raw] = await contractsOf(avroDoc());
  });

  it('accepts a value of the schema', () => {
    expect(validateRecord(raw, record(GOOD))).toBeNull();
  });

  it('names each failure', () => {
    const bad = Buffer.from(GOOD);
    // The union index of `kind` is the byte before the enum index (last two bytes).
    bad[bad.length - 2] = 0x08;
    expect(validateRecord(raw, record(bad))).toEqual(['(root): at kind: bad union index 4']);
    expect(validateRecord(raw, record(Buffer.concat([GOOD, Buffer.from([0])])))).toEqual([
      '(root): trailing bytes (1 after the value)',
    ]);
    expect(
      validateRecord(
        raw,
        record(Buffer.from([0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
      ),
    ).toEqual(['(root): at userEmail: invalid varint']);
    expect(validateRecord(raw, record(null))).toEqual(["(root): is null, the contract's schema needs bytes"]);
  });

  it('bounds hostile lengths and counts', () => {
    const id = Buffer.from([0x0e]);
    // A string claiming 2^62 bytes, a negative length, an array claiming 2^40 items in 3 bytes.
    const huge = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    expect(validateRecord(raw, record(Buffer.concat([id, huge])))).toEqual([
      '(root): at userEmail: truncated payload',
    ]);
    expect(validateRecord(raw, record(Buffer.concat([id, Buffer.from([0x03])])))).toEqual([
      '(root): at userEmail: negative length -2',
    ]);
    const manyItems = Buffer.concat([
      id,
      Buffer.from([0x02, 0x61]),
      Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x40]),
    ]);
    expect(validateRecord(raw, record(manyItems))).toEqual(['(root): at tags: truncated payload']);
  });

  it('bounds nesting of recursive schemas', async () => {
    const [list] = await contractsOf(`asyncapi: 2.6.0
info: {title: t, version: '1'}
channels:
  list:
    publish:
      message:
        schemaFormat: application/vnd.apache.avro+yaml;version=1.9.0
        payload:
          type: record
          name: Node
          fields:
            - {name: next, type: ['null', Node]}
`);
    const deep = Buffer.concat([Buffer.alloc(100_000, 0x02), Buffer.from([0x00])]);
    expect(validateRecord(list, record(deep))![0]).toMatch(/nesting deeper than 64$/);
    expect(validateRecord(list, record(Buffer.from([0x02, 0x02, 0x00])))).toBeNull();
  });

  it('never throws on random bytes', () => {
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.alloc(next() % 64);
      for (let b = 0; b < bytes.length; b++) bytes[b] = next() & 0xff;
      expect(() => validateRecord(raw, record(bytes))).not.toThrow();
    }
  });

  it('reads the Confluent frame: magic byte, 4-byte id, then the value', async () => {
    const [framed] = await contractsOf(
      avroDoc('            schemaIdLocation: payload\n            schemaIdPayloadEncoding: confluent\n'),
    );
    expect(validateRecord(framed, record(confluent(3, GOOD)))).toBeNull();
    expect(validateRecord(framed, record(GOOD))).toEqual([
      '(root): missing magic byte (the schema id frame starts with 0)',
    ]);
    expect(validateRecord(framed, record(Buffer.from([0, 0, 1])))).toEqual([
      '(root): truncated payload (the schema id frame is cut short)',
    ]);
  });

  it('reads the apicurio-legacy frame: magic byte, 8-byte globalId', async () => {
    const [framed] = await contractsOf(avroDoc('            schemaIdPayloadEncoding: apicurio-legacy\n'));
    const head = Buffer.alloc(9);
    head.writeBigUInt64BE(5n, 1);
    expect(validateRecord(framed, record(Buffer.concat([head, GOOD])))).toBeNull();
    expect(validateRecord(framed, record(confluent(5, GOOD)))).not.toBeNull();
    // An id no number holds exactly is refused, not rounded to some other id.
    head.writeBigUInt64BE(2n ** 64n - 1n, 1);
    expect(validateRecord(framed, record(Buffer.concat([head, GOOD])))).toEqual([
      '(root): schema id out of range (above 2^53)',
    ]);
  });

  it('reads the id from Apicurio headers when schemaIdLocation is header', async () => {
    const [framed] = await contractsOf(avroDoc('            schemaIdLocation: header\n'));
    const id = Buffer.alloc(8);
    id.writeBigUInt64BE(12n);
    expect(
      validateRecord(framed, record(GOOD, null, [{ key: 'apicurio.value.globalId', value: id }])),
    ).toBeNull();
    id.writeBigUInt64BE(2n ** 53n + 2n);
    expect(
      validateRecord(framed, record(GOOD, null, [{ key: 'apicurio.value.globalId', value: id }])),
    ).toEqual(['(root): schema id out of range (above 2^53)']);
    expect(validateRecord(framed, record(GOOD))).toEqual([
      '(root): missing schema id header apicurio.value.globalId (or apicurio.value.contentId)',
    ]);
  });

  it('refuses framing it cannot read', async () => {
    await expect(contractsOf(avroDoc('            schemaIdPayloadEncoding: zigzag\n'))).rejects.toThrow(
      SpecError,
    );
  });

  it('checks an Avro key of a 3.x Multi Format Schema Object', async () => {
    const [keyed] = await contractsOf(
      avroDoc(
        '',
        "            key:\n              schemaFormat: 'application/vnd.apache.avro;version=1.9.0'\n              schema: long\n",
      ),
    );
    expect(validateRecord(keyed, record(GOOD, avro.Type.forSchema('long').toBuffer(12)))).toBeNull();
    expect(validateRecord(keyed, record(GOOD, Buffer.from([0x80])))).toEqual(['key: truncated payload']);
  });

  it('refuses a schema avsc cannot compile, naming it', async () => {
    const error = await contractsOf(avroDoc().replace('type: int}', 'type: integer}')).catch(
      (e: unknown) => e,
    );
    // The AsyncAPI Avro parser refuses it first, or compiling does: either way the document is refused.
    expect(error).toBeInstanceOf(SpecError);
  });
});

const PROTO = `syntax = "proto3";
package shop;
// @RootNode
message Order {
  string id = 1;
  repeated int64 amounts = 2;
  Line line = 3;
  map<string, int32> counts = 4;
  message Line { string sku = 1; uint32 quantity = 2; }
}
message Refund { string order_id = 1; }
`;

function protoDoc(binding = ''): string {
  return `asyncapi: 3.0.0
info: {title: t, version: '1'}
channels:
  orders:
    address: orders
    messages:
      order:
        ${binding === '' ? '' : `bindings:\n          kafka:\n${binding}`}
        payload:
          schemaFormat: 'application/vnd.google.protobuf;version=3'
          schema: |
${PROTO.split('\n')
  .map((line) => `            ${line}`)
  .join('\n')}
`;
}

describe('Protobuf values', () => {
  const root = protobuf.parse(PROTO, { keepCase: true }).root;
  const Order = root.lookupType('shop.Order');
  const Refund = root.lookupType('shop.Refund');
  const good = Buffer.from(
    Order.encode(
      Order.fromObject({ id: 'o-1', amounts: [1, 2, 3], line: { sku: 's', quantity: 2 }, counts: { a: 1 } }),
    ).finish(),
  );

  it('accepts a message of the first type, raw', async () => {
    const [contract] = await contractsOf(protoDoc());
    expect(validateRecord(contract, record(good))).toBeNull();
    // Unknown fields are skipped, as every Protobuf reader does.
    expect(validateRecord(contract, record(Buffer.concat([good, Buffer.from([0x78, 0x01])])))).toBeNull();
  });

  it('names wire-type mismatches, bad UTF-8 and truncation', async () => {
    const [contract] = await contractsOf(protoDoc());
    expect(validateRecord(contract, record(Buffer.from([0x08, 0x01])))).toEqual([
      '(root): at id: wire type 0 where the schema expects 2',
    ]);
    expect(validateRecord(contract, record(Buffer.from([0x0a, 0x02, 0xc3, 0x28])))).toEqual([
      '(root): at id: string is not valid UTF-8',
    ]);
    expect(validateRecord(contract, record(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])))).toEqual([
      '(root): at id: truncated payload',
    ]);
    expect(validateRecord(contract, record(Buffer.from([0x1a, 0x02, 0x0a, 0x05])))).toEqual([
      '(root): at line.sku: truncated payload',
    ]);
  });

  it('bounds nesting of unknown groups and nested messages', async () => {
    const [contract] = await contractsOf(protoDoc());
    const groups = Buffer.alloc(10_000, 0x7b); // field 15, start group, again and again
    expect(validateRecord(contract, record(groups))![0]).toMatch(/nesting deeper than 64|truncated payload/);
  });

  it('never throws on random bytes, framed or not', async () => {
    const [raw] = await contractsOf(protoDoc());
    const [framed] = await contractsOf(
      protoDoc('            schemaIdLocation: payload\n            schemaIdPayloadEncoding: confluent\n'),
    );
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.alloc(next() % 64);
      for (let b = 0; b < bytes.length; b++) bytes[b] = next() & 0xff;
      if (bytes.length > 0 && i % 2 === 0) bytes[0] = 0;
      expect(() => validateRecord(raw, record(bytes))).not.toThrow();
      expect(() => validateRecord(framed, record(bytes))).not.toThrow();
      expect(() => decodeBinaryValue(framed, bytes, [])).not.toThrow();
    }
  });

  it('checks a Protobuf key of a 3.x Multi Format Schema Object', async () => {
    const doc = protoDoc().replace(
      '        payload:',
      `        bindings:
          kafka:
            key:
              schemaFormat: 'application/vnd.google.protobuf;version=3'
              schema: |
                syntax = "proto3";
                message OrderKey { string id = 1; }
        payload:`,
    );
    const [contract] = await contractsOf(doc);
    expect(validateRecord(contract, record(good, Buffer.from([0x0a, 0x01, 0x61])))).toBeNull();
    expect(validateRecord(contract, record(good, Buffer.from([0x08, 0x01])))).toEqual([
      'key: at id: wire type 0 where the schema expects 2',
    ]);
  });

  it('reads Confluent message indexes: 0 for the first message, [1] for the second', async () => {
    const [contract] = await contractsOf(
      protoDoc('            schemaIdLocation: payload\n            schemaIdPayloadEncoding: confluent\n'),
    );
    expect(validateRecord(contract, record(confluent(4, good, Buffer.from([0]))))).toBeNull();
    const refund = Buffer.from(Refund.encode(Refund.fromObject({ order_id: 'o-1' })).finish());
    // Count 1, index 1 (zig-zag varints).
    expect(validateRecord(contract, record(confluent(4, refund, Buffer.from([0x02, 0x02]))))).toBeNull();
    // Nested: [0, 0] is Order.Line.
    const line = Buffer.from(
      Order.nested!.Line
        ? (Order.nested!.Line as protobuf.Type).encode({ sku: 'x', quantity: 1 }).finish()
        : [],
    );
    expect(validateRecord(contract, record(confluent(4, line, Buffer.from([0x04, 0x00, 0x00]))))).toBeNull();
    expect(validateRecord(contract, record(confluent(4, refund, Buffer.from([0x02, 0x0e]))))).toEqual([
      '(root): message indexes [7] name no message of the schema',
    ]);
    expect(validateRecord(contract, record(confluent(4, refund, Buffer.from([0x7f]))))).toEqual([
      '(root): invalid message index count -64',
    ]);
  });
});

describe('the example spec asyncapi/payments-avro.yaml', () => {
  it('loads, checks framed records, and decodes them for the tap and patterns', async () => {
    const text = readFileSync(path.join(__dirname, '../../../asyncapi/payments-avro.yaml'), 'utf8');
    const [contract] = await contractsOf(text);
    const payment = avro.Type.forSchema({
      type: 'record',
      name: 'PaymentCaptured',
      namespace: 'com.example.payments',
      fields: [
        { name: 'paymentId', type: 'string' },
        { name: 'amount', type: 'bytes' },
        { name: 'currency', type: { type: 'enum', name: 'Currency', symbols: ['EUR', 'USD', 'GBP'] } },
        { name: 'capturedAt', type: 'long' },
        {
          name: 'card',
          type: [
            'null',
            {
              type: 'record',
              name: 'Card',
              fields: [
                { name: 'last4', type: 'string' },
                { name: 'network', type: 'string' },
              ],
            },
          ],
          default: null,
        },
      ],
    });
    const value = confluent(
      42,
      payment.toBuffer({
        paymentId: 'p-1',
        amount: Buffer.from([0x04, 0xd2]),
        currency: 'EUR',
        capturedAt: 1_700_000_000_000,
        card: { last4: '4242', network: 'visa' },
      }),
    );
    const key = confluent(43, avro.Type.forSchema('string').toBuffer('p-1'));
    expect(validateRecord(contract, record(value, key))).toBeNull();
    expect(validateRecord(contract, record(value.subarray(0, 12), key))).toEqual([
      '(root): at currency: truncated payload',
    ]);
    expect(decodeBinaryValue(contract, value, [])).toEqual({
      format: 'avro',
      schemaId: 42,
      reading: {
        ok: true,
        data: {
          paymentId: 'p-1',
          amount: 'BNI=',
          currency: 'EUR',
          capturedAt: 1_700_000_000_000,
          card: { last4: '4242', network: 'visa' },
        },
      },
    });
    const message = { key, value, offset: '3', timestamp: '1700000000000', headers: {} };
    const decoded = decodeBinaryValue(contract, value, [])!;
    const { record: shown } = toTapRecord('payments', 0, message, undefined, decoded);
    expect(shown).toMatchObject({ valueFormat: 'avro', schemaId: 42 });
    expect(JSON.parse(shown.value!)).toMatchObject({ paymentId: 'p-1', currency: 'EUR' });
    expect(shown.valueEncoding).toBeUndefined();
    // The filter's patterns and the tap's see the decoded value.
    expect(tapEvent(message, decoded.reading).value).toMatchObject({ currency: 'EUR' });
    expect(decodeBinaryValue(contract, value.subarray(0, 12), [])!.reading).toEqual({
      ok: false,
      reason: 'value is not avro: at currency: truncated payload',
    });
  });

  it('decodes longs beyond 2^53 as decimal text', async () => {
    const [contract] = await contractsOf(
      avroDoc().replace('{name: userId, type: int}', '{name: userId, type: long}'),
    );
    const big = avro.Type.forSchema({
      type: 'record',
      name: 'U',
      fields: [
        { name: 'userId', type: 'long' },
        { name: 'userEmail', type: 'string' },
        { name: 'tags', type: { type: 'array', items: 'string' } },
        { name: 'kind', type: ['null', 'string'] },
      ],
    });
    // 2^60 as a zig-zag varint, then the rest of the record.
    const bytes = Buffer.concat([
      Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]),
      big.toBuffer({ userId: 0, userEmail: 'e', tags: [], kind: null }).subarray(1),
    ]);
    expect(decodeBinaryValue(contract, bytes, [])!.reading).toEqual({
      ok: true,
      data: { userId: '1152921504606846976', userEmail: 'e', tags: [], kind: null },
    });
  });
});
