/**
 * Support for the record-batch tests against a real broker: producing known records with real
 * clients (the Java console producer, kcat), reading the raw batches back with a Fetch request,
 * producing re-encoded batches with a raw Produce request, and the golden fixtures taken from it.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Reader, Writer } from '../../../src/protocol/primitives';
import {
  createRequestHeaderData,
  decodeFetchResponse,
  decodeProduceResponse,
  decodeResponseHeaderData,
  encodeRequestHeaderData,
  requestHeaderVersion,
  responseHeaderVersion,
  type FetchResponsePartitionData,
} from '../../../src/protocol/messages/generated';
import type { CompressionName, DecodedRecord, RecordBatch } from '../../../src/protocol/records';
import { BOOTSTRAP, kafkaClient, kafkaTool, kcat, REPO_ROOT } from './kafka-harness';
import { API_FETCH, API_PRODUCE, FETCH_VERSION, fetchBody, produceBody } from './requests';

export const CODECS: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
export const FIXTURE_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'record-batches');

const PRODUCE_VERSION = 9;

/** A record as a test expects it, in text form; null stands for a null key, value or header value. */
export interface ExpectedRecord {
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
}

/** A value large enough to span several compression blocks (xerial 32 KiB, LZ4 64 KiB). */
export function largeJsonValue(): string {
  const items = Array.from({ length: 1500 }, (_, i) => ({
    id: i,
    sku: `SKU-${(i * 7919) % 10007}`,
    qty: i % 13,
    note: 'ok',
  }));
  return JSON.stringify({ type: 'bulk', items });
}

/** The records every client produces; header-less ones for kcat, which sets headers per run. */
export function javaRecords(): ExpectedRecord[] {
  return [
    {
      key: 'k1',
      value: '{"id":1,"name":"alpha"}',
      headers: [
        { key: 'trace', value: 'abc-1' },
        { key: 'empty', value: null },
      ],
    },
    { key: null, value: '{"id":2,"name":"beta"}', headers: [] },
    {
      key: 'k3',
      value: null,
      headers: [
        { key: 'x', value: '1' },
        { key: 'x', value: '2' },
      ],
    },
    { key: 'clé-ü', value: '{"text":"héllo wörld ✓"}', headers: [{ key: 'välue-ключ', value: '✓' }] },
    { key: 'big', value: largeJsonValue(), headers: [{ key: 'size', value: 'large' }] },
  ];
}

export const KCAT_HEADERS = [
  { key: 'trace', value: 'abc-1' },
  { key: 'client', value: 'kcat' },
];

export function kcatRecords(): ExpectedRecord[] {
  return [
    { key: 'k1', value: '{"id":1,"name":"alpha"}', headers: KCAT_HEADERS },
    { key: null, value: '{"id":2,"name":"beta"}', headers: KCAT_HEADERS },
    { key: 'k3', value: null, headers: KCAT_HEADERS },
    { key: 'clé-ü', value: '{"text":"héllo wörld ✓"}', headers: KCAT_HEADERS },
    { key: 'big', value: largeJsonValue(), headers: KCAT_HEADERS },
  ];
}

export function asExpected(records: DecodedRecord[]): ExpectedRecord[] {
  const text = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));
  return records.map((r) => ({
    key: text(r.key),
    value: text(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: text(h.value) })),
  }));
}

export async function createTopic(topic: string): Promise<void> {
  const admin = kafkaClient(BOOTSTRAP).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

const NULL_MARKER = '<null>';

/**
 * Produces with the Java console producer (the real Java client in the Kafka jars), all records in
 * one batch: linger is long and batch.size large, and stdin is read at once.
 */
export async function produceWithJava(
  topic: string,
  codec: CompressionName,
  records: ExpectedRecord[],
): Promise<void> {
  const or = (s: string | null) => s ?? NULL_MARKER;
  const lines = records.map((r) => {
    const headers =
      r.headers.length === 0 ? NULL_MARKER : r.headers.map((h) => `${h.key}:${or(h.value)}`).join(',');
    return `${headers}\t${or(r.key)}\t${or(r.value)}\n`;
  });
  await kafkaTool(
    [
      'console-producer',
      '--bootstrap-server',
      BOOTSTRAP,
      '--topic',
      topic,
      '--compression-codec',
      codec,
      '--batch-size',
      String(1024 * 1024),
      '--timeout',
      '2000',
      '--reader-property',
      'parse.key=true',
      '--reader-property',
      'parse.headers=true',
      '--reader-property',
      `null.marker=${NULL_MARKER}`,
    ],
    { input: lines.join(''), timeoutMs: 60_000 },
  );
}

/** Produces with kcat (librdkafka); -Z turns the empty key or value into null. */
export async function produceWithKcat(
  topic: string,
  codec: CompressionName,
  records: ExpectedRecord[],
): Promise<void> {
  const lines = records.map((r) => `${r.key ?? ''}\t${r.value ?? ''}\n`).join('');
  const args = [
    '-b',
    BOOTSTRAP,
    '-t',
    topic,
    '-P',
    '-Z',
    '-K',
    '\t',
    '-X',
    'linger.ms=500',
    '-X',
    'batch.size=1000000',
  ];
  if (codec !== 'none') args.push('-z', codec);
  for (const h of KCAT_HEADERS) args.push('-H', `${h.key}=${h.value}`);
  await kcat(args, lines, 60_000);
}

/** Sends one request and returns a reader over the response body. */
export async function rawRequest(
  apiKey: number,
  version: number,
  writeBody: (writer: Writer) => void,
  address = BOOTSTRAP.split(',')[0],
): Promise<Reader> {
  const headerVersion = requestHeaderVersion(apiKey, version);
  const answerVersion = responseHeaderVersion(apiKey, version);
  if (headerVersion === undefined || answerVersion === undefined) {
    throw new Error(`api ${apiKey} v${version} unknown`);
  }
  const writer = new Writer();
  const sizeAt = writer.reserveInt32();
  encodeRequestHeaderData(
    writer,
    {
      ...createRequestHeaderData(),
      requestApiKey: apiKey,
      requestApiVersion: version,
      correlationId: 7,
      clientId: 'record-batch-test',
    },
    headerVersion,
  );
  writeBody(writer);
  writer.setInt32(sizeAt, writer.offset - 4);
  const frame = Buffer.from(writer.result());

  const i = address.lastIndexOf(':');
  const response = await new Promise<Buffer>((resolve, reject) => {
    const socket = net.connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    let received = Buffer.alloc(0);
    socket.setTimeout(30_000, () => {
      socket.destroy();
      reject(new Error(`no response to api ${apiKey} within 30 s`));
    });
    socket.once('error', reject);
    socket.once('connect', () => socket.write(frame));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        socket.destroy();
        resolve(received.subarray(4, 4 + received.readInt32BE(0)));
      }
    });
  });
  const reader = new Reader(response);
  const header = decodeResponseHeaderData(reader, answerVersion);
  if (header.correlationId !== 7) throw new Error(`unexpected correlation id ${header.correlationId}`);
  return reader;
}

/** Fetches partition 0 from `offset` with a raw Fetch request; `records` is exactly what the broker sent. */
export async function fetchPartition(
  topic: string,
  offset = 0n,
  partitionMaxBytes = 8 * 1024 * 1024,
): Promise<FetchResponsePartitionData> {
  const reader = await rawRequest(
    API_FETCH,
    FETCH_VERSION,
    fetchBody({ topic, offset, maxWaitMs: 500, minBytes: 1, maxBytes: 64 * 1024 * 1024, partitionMaxBytes }),
  );
  const response = decodeFetchResponse(reader, FETCH_VERSION);
  const partition = response.responses[0]?.partitions[0];
  if (response.errorCode !== 0 || partition === undefined || partition.errorCode !== 0) {
    throw new Error(`fetch from ${topic} failed: ${response.errorCode}/${partition?.errorCode}`);
  }
  return partition;
}

/** Fetches until the partition holds at least one complete batch, and returns its records field. */
export async function fetchRecords(topic: string, timeoutMs = 20_000): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const partition = await fetchPartition(topic);
    if (partition.records !== null && partition.records.length > 0) return partition.records;
    if (Date.now() > deadline) throw new Error(`no records in ${topic} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Produces a records field to partition 0 with a raw Produce v9 request; returns the partition result. */
export async function rawProduce(
  topic: string,
  records: Buffer,
): Promise<{ errorCode: number; baseOffset: bigint; errorMessage: string | null }> {
  const reader = await rawRequest(
    API_PRODUCE,
    PRODUCE_VERSION,
    produceBody(PRODUCE_VERSION, [{ topic, partitions: [{ index: 0, records }] }]),
  );
  const response = decodeProduceResponse(reader, PRODUCE_VERSION);
  const partition = response.responses[0].partitionResponses[0];
  return {
    errorCode: partition.errorCode,
    baseOffset: partition.baseOffset,
    errorMessage: partition.errorMessage,
  };
}

/** Values above this size are described by digest in fixtures rather than spelled out. */
const FIXTURE_INLINE_LIMIT = 1024;

/**
 * The fixture description stored next to each captured batch (test/unit/protocol/records reads
 * it): large values as their length and SHA-256, timestamps deltas as decimal strings.
 */
export interface BatchFixture {
  client: string;
  compression: CompressionName;
  producerId: string;
  producerEpoch: number;
  baseSequence: number;
  attributes: number;
  lastOffsetDelta: number;
  records: {
    key: string | null;
    value: string | null | { length: number; sha256: string };
    headers: { key: string; value: string | null }[];
    offsetDelta: number;
    timestampDelta: string;
  }[];
}

export function describeFixture(
  client: string,
  compression: CompressionName,
  batch: RecordBatch,
  records: DecodedRecord[],
): BatchFixture {
  const expected = asExpected(records);
  return {
    client,
    compression,
    producerId: batch.producerId.toString(),
    producerEpoch: batch.producerEpoch,
    baseSequence: batch.baseSequence,
    attributes: batch.attributes,
    lastOffsetDelta: batch.lastOffsetDelta,
    records: records.map((r, i) => ({
      ...expected[i],
      value:
        r.value !== null && r.value.length > FIXTURE_INLINE_LIMIT
          ? { length: r.value.length, sha256: createHash('sha256').update(r.value).digest('hex') }
          : expected[i].value,
      offsetDelta: r.offsetDelta,
      timestampDelta: r.timestampDelta.toString(),
    })),
  };
}

/**
 * Stores a captured batch as a golden fixture. Only when RECORD_FIXTURES=write: fixtures are
 * reviewed artefacts, and every capture differs in timestamps and producer ids.
 */
export function maybeWriteFixture(name: string, batch: RecordBatch, fixture: BatchFixture): void {
  if (process.env.RECORD_FIXTURES !== 'write') return;
  fs.mkdirSync(FIXTURE_DIR, { recursive: true });
  fs.writeFileSync(path.join(FIXTURE_DIR, `${name}.bin`), batch.bytes);
  fs.writeFileSync(path.join(FIXTURE_DIR, `${name}.json`), `${JSON.stringify(fixture, null, 2)}\n`);
}
