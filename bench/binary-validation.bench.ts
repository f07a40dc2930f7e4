/**
 * What checking an Avro or Protobuf record costs, on one core, in process: records of about 1 KB
 * in Confluent's framing (byte 0, a 4-byte schema id, Protobuf's message indexes, the value) run
 * through the same validateRecord the validation middleware calls, next to JSON values of the same
 * size and shape checked by the JSON Schema contract. Also the decoding the tap and the filter's
 * patterns do for such values. No broker, no registry: ids are not resolved (the registry path adds
 * a Map lookup per record once an id is known).
 *
 *   npx tsx bench/binary-validation.bench.ts [--seconds 1]
 *
 * Appends its table to bench/results/binary-validation.md. Not a test: numbers depend on the machine.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import * as path from 'node:path';
import * as avro from 'avsc';
import * as protobuf from 'protobufjs';
import { decodeBinaryValue } from '../src/asyncapi/binary-view';
import { compileContracts } from '../src/asyncapi/compile-contracts';
import { parseSpec } from '../src/asyncapi/parse-spec';
import { validateRecord, type ValidatedRecord } from '../src/asyncapi/record-validator';
import type { ChannelContract } from '../src/asyncapi/channel-contract';
import { itemsFor, order, orderAvroSchema } from './support/orders';

const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 1;
const DISTINCT = 1000;
const RESULTS = path.join(__dirname, 'results', 'binary-validation.md');

const AVRO_SCHEMA = orderAvroSchema('bench');

const PROTO = `syntax = "proto3";
package bench;
message Order {
  string orderId = 1;
  int64 customer = 2;
  double total = 3;
  Currency currency = 4;
  repeated Item items = 5;
}
message Item { string sku = 1; int32 quantity = 2; double price = 3; string note = 4; }
enum Currency { EUR = 0; USD = 1; GBP = 2; }
`;

const JSON_SCHEMA = {
  type: 'object',
  required: ['orderId', 'customer', 'total', 'currency', 'items'],
  properties: {
    orderId: { type: 'string' },
    customer: { type: 'integer' },
    total: { type: 'number' },
    currency: { enum: ['EUR', 'USD', 'GBP'] },
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['sku', 'quantity', 'price'],
        properties: {
          sku: { type: 'string' },
          quantity: { type: 'integer' },
          price: { type: 'number' },
          note: { type: ['string', 'null'] },
        },
      },
    },
  },
};

function spec(): string {
  const proto = PROTO.split('\n')
    .map((line) => `            ${line}`)
    .join('\n');
  const framing = `        bindings:
          kafka:
            schemaIdLocation: payload
            schemaIdPayloadEncoding: confluent`;
  return `asyncapi: 3.0.0
info: {title: bench, version: '1'}
channels:
  avro:
    address: avro
    messages:
      order:
${framing}
        payload:
          schemaFormat: application/vnd.apache.avro+json;version=1.9.0
          schema: ${JSON.stringify(AVRO_SCHEMA)}
  proto:
    address: proto
    messages:
      order:
${framing}
        payload:
          schemaFormat: application/vnd.google.protobuf;version=3
          schema: |
${proto}
  json:
    address: json
    messages:
      order:
        payload: ${JSON.stringify(JSON_SCHEMA)}
`;
}

/** An order whose encodings are about 1 KB. */

function frame(id: number, body: Uint8Array, indexes?: number[]): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(id, 1);
  return Buffer.concat([head, Buffer.from(indexes ?? []), body]);
}

/** Items enough to bring an encoding to about `size` bytes. */

function measure(label: string, records: ValidatedRecord[], work: (record: ValidatedRecord) => unknown) {
  // Warm up, so the JIT has compiled the paths before the clock starts.
  for (let i = 0; i < 20_000; i++) work(records[i % records.length]);
  let count = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(SECONDS * 1e9));
  let now = start;
  while (now < end) {
    for (let i = 0; i < 1000; i++) work(records[(count + i) % records.length]);
    count += 1000;
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  const bytes = records.reduce((sum, record) => sum + (record.value?.length ?? 0), 0) / records.length;
  return { label, perSecond: Math.round(count / seconds), bytes: Math.round(bytes) };
}

async function main(): Promise<void> {
  const contracts = new Map<string, ChannelContract>(
    compileContracts('bench', await parseSpec(spec(), 'bench.yml')).map((c) => [c.topic, c]),
  );
  const avroType = avro.Type.forSchema(AVRO_SCHEMA as avro.Schema);
  const Order = protobuf.parse(PROTO).root.lookupType('bench.Order');
  const avroItems = itemsFor((n) => avroType.toBuffer(order(0, n)).length, 1024);
  const protoItems = itemsFor((n) => Order.encode(Order.fromObject(order(0, n))).finish().length, 1024);
  const jsonItems = itemsFor((n) => JSON.stringify(order(0, n)).length, 1024);
  const as = (value: Buffer): ValidatedRecord => ({ key: null, value, headers: [] });
  const avroRecords = Array.from({ length: DISTINCT }, (_, i) =>
    as(frame(1, avroType.toBuffer(order(i, avroItems)))),
  );
  const protoRecords = Array.from({ length: DISTINCT }, (_, i) =>
    as(frame(2, Order.encode(Order.fromObject(order(i, protoItems))).finish(), [0])),
  );
  const jsonRecords = Array.from({ length: DISTINCT }, (_, i) =>
    as(Buffer.from(JSON.stringify(order(i, jsonItems)))),
  );
  for (const [topic, records] of [
    ['avro', avroRecords],
    ['proto', protoRecords],
    ['json', jsonRecords],
  ] as const) {
    const errors = validateRecord(contracts.get(topic)!, records[0]);
    if (errors !== null) throw new Error(`${topic} records are invalid: ${errors.join('; ')}`);
  }
  const avroContract = contracts.get('avro')!;
  const protoContract = contracts.get('proto')!;
  const jsonContract = contracts.get('json')!;
  const rows = [
    measure('Avro, checked (validateRecord)', avroRecords, (r) => validateRecord(avroContract, r)),
    measure('Protobuf, checked (validateRecord)', protoRecords, (r) => validateRecord(protoContract, r)),
    measure('JSON, parsed and checked (validateRecord)', jsonRecords, (r) => validateRecord(jsonContract, r)),
    measure('Avro, checked and decoded (tap, patterns)', avroRecords, (r) =>
      decodeBinaryValue(avroContract, r.value, r.headers),
    ),
    measure('Protobuf, checked and decoded (tap, patterns)', protoRecords, (r) =>
      decodeBinaryValue(protoContract, r.value, r.headers),
    ),
  ];
  const lines = [
    `## ${new Date().toISOString()} — node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, load ${loadavg()[0].toFixed(2)}, ${SECONDS}s per case`,
    '',
    '| case | value bytes | records/s (one core) |',
    '| --- | ---: | ---: |',
    ...rows.map((row) => `| ${row.label} | ${row.bytes} | ${row.perSecond.toLocaleString('en-US')} |`),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  appendFileSync(RESULTS, `${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`binary-validation.bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
