/**
 * Support for the end-to-end validation tests: a gateway started with the asyncapi and pipeline
 * settings a test needs (startTestGateway fixes those to the defaults), a small client for its
 * HTTP API, kafkajs codecs for the compressions it lacks, and ways to look at what really reached
 * the broker: raw Fetch requests straight to it, decoded with the gateway's own record codec, so
 * that "byte-identical" means the bytes and not what a client library makes of them.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { crc32 } from '@node-rs/crc32';
import { resolveConfig } from '../../../src/config/load-config';
import type { GatewayConfig } from '../../../src/config/gateway-config';
import { startGateway, type RunningGateway } from '../../../src/main';
import { createLogger } from '../../../src/observability/logger';
import { VALIDATION_ERROR_HEADER } from '../../../src/asyncapi/record-validator';
import {
  decodeFetchResponse,
  decodeProduceResponse,
  type ProduceResponse,
} from '../../../src/protocol/messages';
import {
  decodeRecords,
  encodeRecordBatch,
  isControlBatch,
  readRecordBatches,
  type CompressionName,
  type RecordBatch,
} from '../../../src/protocol/records';
import { CapturedLogs, RawKafkaConnection, type LogLevel } from './gateway-harness';
import { BOOTSTRAP, kafkaClient, REPO_ROOT } from './kafka-harness';
import { COMPRESSION_TYPE } from './kafkajs-codecs';
import { metricSample } from './prometheus';
import { rawRequest } from './record-batches';
import { API_FETCH, API_PRODUCE, FETCH_VERSION, fetchBody, produceBody, type ProduceTopic } from './requests';
import { isolatedState } from './isolated-state';

export { KAFKAJS_COMPRESSION, registerKafkaJsCodecs } from './kafkajs-codecs';
export { CODECS } from './record-batches';
export { metricSample } from './prometheus';

export const VALIDATION_HEADER = VALIDATION_ERROR_HEADER;
/** The official AsyncAPI examples live beside the repository, not in it (see their README). */
export const EXAMPLES_DIR = path.join(REPO_ROOT, '..', 'shared', 'asyncapi-examples');
export const ADMIN_TOKEN = 'validation-test-admin-token';

const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// The gateway

export interface ValidatingGatewayOptions {
  /** Bootstrap listener; broker N listens on bootstrapPort + N. */
  bootstrapPort: number;
  httpPort: number;
  asyncapi?: Partial<GatewayConfig['asyncapi']>;
  pipeline?: { middlewares?: unknown[] };
  adminToken?: string;
  /** The HTTP door's settings (ingest). */
  ingest?: Record<string, unknown>;
  /** Named tokens besides the admin token (http.tokens). */
  tokens?: { name: string; role: 'admin' | 'read'; token: string }[];
  logLevel?: LogLevel;
  /** The subscriptions' settings. */
  subscriptions?: Record<string, unknown>;
  /** The state settings; by default a topic of this gateway's own. Instances of one fleet share one. */
  state?: Partial<GatewayConfig['state']>;
  /** Where the cluster is; the single test broker by default. */
  bootstrapServers?: string[];
  /** Schema discovery's settings. */
  discovery?: Partial<GatewayConfig['discovery']>;
  /** The schema registry Avro and Protobuf schema ids are resolved against. */
  schemaRegistry?: Partial<GatewayConfig['schemaRegistry']>;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON; throws with the body when it is not JSON. */
  json<T = Record<string, unknown>>(): T;
}

export interface ValidatingGateway {
  bootstrap: string;
  config: GatewayConfig;
  running: RunningGateway;
  logs: CapturedLogs;
  /** The gateway listener that stands for broker `nodeId`. */
  brokerAddress(nodeId: number): string;
  /** Calls the HTTP API; the admin token is sent unless `token` says otherwise (null: none). */
  http(
    method: string,
    route: string,
    options?: { body?: string; token?: string | null },
  ): Promise<HttpAnswer>;
  /** PUT /specs/{id}; fails the test unless the spec is accepted. */
  putSpec(id: string, text: string): Promise<HttpAnswer>;
  /** The value of event_gateway_records_total for a topic and outcome (0 when absent). */
  recordsCounted(topic: string, outcome: string): Promise<number>;
  stop(): Promise<void>;
}

export async function httpCall(
  base: string,
  method: string,
  route: string,
  options: { body?: string; token?: string | null } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/yaml';
  const response = await fetch(`${base}${route}`, { method, headers, body: options.body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json<T>() {
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new Error(
          `${method} ${route} answered ${response.status} with a body that is not JSON: ${text}`,
        );
      }
    },
  };
}

export async function startValidatingGateway(options: ValidatingGatewayOptions): Promise<ValidatingGateway> {
  const config = resolveConfig(
    {
      kafka: { bootstrapServers: options.bootstrapServers ?? BOOTSTRAP.split(',').map((s) => s.trim()) },
      listeners: {
        bindHost: HOST,
        bootstrapPort: options.bootstrapPort,
        brokerPortBase: options.bootstrapPort,
      },
      http: {
        host: HOST,
        port: options.httpPort,
        ...(options.adminToken !== undefined && { adminToken: options.adminToken }),
        ...(options.tokens !== undefined && { tokens: options.tokens }),
      },
      asyncapi: options.asyncapi ?? {},
      pipeline: options.pipeline ?? {},
      ...(options.ingest !== undefined && { ingest: options.ingest }),
      ...(options.subscriptions !== undefined && { subscriptions: options.subscriptions }),
      ...(options.discovery !== undefined && { discovery: options.discovery }),
      ...(options.schemaRegistry !== undefined && { schemaRegistry: options.schemaRegistry }),
      state: options.state ?? isolatedState(),
      logging: { level: options.logLevel ?? 'info' },
      shutdown: { drainTimeoutMs: 2_000 },
    },
    'validation test gateway',
  );
  const logs = new CapturedLogs();
  const running = await startGateway(config, createLogger(config.logging.level, logs));
  const base = `http://${HOST}:${options.httpPort}`;
  let stopped: Promise<void> | null = null;
  const gateway: ValidatingGateway = {
    bootstrap: `${HOST}:${options.bootstrapPort}`,
    config,
    running,
    logs,
    brokerAddress: (nodeId) => `${HOST}:${running.gateway.gatewayPortFor(nodeId)}`,
    http: (method, route, call = {}) =>
      httpCall(base, method, route, {
        body: call.body,
        token: call.token === undefined ? options.adminToken : call.token,
      }),
    async putSpec(id, text) {
      const answer = await gateway.http('PUT', `/specs/${encodeURIComponent(id)}`, { body: text });
      if (answer.status !== 200 && answer.status !== 201)
        throw new Error(`PUT /specs/${id} answered ${answer.status}: ${answer.text}`);
      return answer;
    },
    async recordsCounted(topic, outcome) {
      const answer = await gateway.http('GET', '/metrics');
      return metricSample(answer.text, 'event_gateway_records_total', { topic, outcome });
    },
    stop() {
      stopped ??= running.stop();
      return stopped;
    },
  };
  return gateway;
}

// ---------------------------------------------------------------------------------------------
// Specs

/** asyncapi/demo.yaml (3.0) or its 2.6 twin, describing `topic` instead of event-gateway-demo. */
export function demoSpec(version: '3.0' | '2.6', topic: string): string {
  const file = version === '3.0' ? 'demo.yaml' : 'demo-2.6.yaml';
  return readFileSync(path.join(REPO_ROOT, 'asyncapi', file), 'utf8').replace(/event-gateway-demo/g, topic);
}

export interface ValidationVerdict {
  ts: string;
  errors: string[];
}

/** RFC 3339 date-time in UTC, as Date#toISOString writes it (fraction optional, Z required). */
export const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** The verdict header of a record as read from the broker, or null when it has none. */
export function verdictOf(record: {
  headers: readonly { key: string; value: Buffer | null }[];
}): ValidationVerdict | null {
  const headers = record.headers.filter((h) => h.key === VALIDATION_HEADER);
  if (headers.length === 0) return null;
  if (headers.length > 1) throw new Error(`${headers.length} ${VALIDATION_HEADER} headers on one record`);
  return JSON.parse(headers[0].value?.toString('utf8') ?? 'null') as ValidationVerdict;
}

// ---------------------------------------------------------------------------------------------
// The broker, straight

export async function createTopics(topics: readonly string[], partitions = 1): Promise<void> {
  const admin = kafkaClient(BOOTSTRAP).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/** A record as stored by the broker, with the batch it sits in. */
export interface StoredRecord {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
  batch: RecordBatch;
}

export interface StoredPartition {
  highWatermark: bigint;
  lastStableOffset: bigint;
  records: StoredRecord[];
}

async function fetchOnce(
  topic: string,
  partition: number,
  offset: bigint,
  readCommitted: boolean,
  address?: string,
) {
  const reader = await rawRequest(
    API_FETCH,
    FETCH_VERSION,
    fetchBody({
      topic,
      partition,
      offset,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 64 * 1024 * 1024,
      partitionMaxBytes: 16 * 1024 * 1024,
      readCommitted,
    }),
    address,
  );
  const response = decodeFetchResponse(reader, FETCH_VERSION);
  const data = response.responses[0]?.partitions[0];
  if (response.errorCode !== 0 || data === undefined || data.errorCode !== 0) {
    throw new Error(
      `fetch of ${topic}-${partition} from the broker failed: ${response.errorCode}/${data?.errorCode}`,
    );
  }
  return data;
}

/**
 * Every record of a partition, read straight from the broker (not through the gateway) up to its
 * high watermark, or its last stable offset with `readCommitted`. Control batches are left out.
 * `address` is the partition's leader when it is not the shared test broker (a cluster of a
 * test's own); no consumer group is involved, so a coordinator still settling does not matter.
 */
export async function readPartition(
  topic: string,
  partition = 0,
  readCommitted = false,
  address?: string,
): Promise<StoredPartition> {
  const records: StoredRecord[] = [];
  let offset = 0n;
  for (;;) {
    const data = await fetchOnce(topic, partition, offset, readCommitted, address);
    const end = readCommitted ? data.lastStableOffset : data.highWatermark;
    let progressed = false;
    for (const view of readRecordBatches(data.records ?? Buffer.alloc(0), {
      allowPartialTrailingBatch: true,
    })) {
      if (view.magic !== 2)
        throw new Error(`${topic}-${partition} holds a magic v${view.magic} message at ${view.baseOffset}`);
      progressed = true;
      offset = view.baseOffset + BigInt(view.lastOffsetDelta) + 1n;
      if (isControlBatch(view)) continue;
      decodeRecords(view).forEach((record) =>
        records.push({
          offset: view.baseOffset + BigInt(record.offsetDelta),
          key: record.key,
          value: record.value,
          headers: record.headers,
          batch: view,
        }),
      );
    }
    if (offset >= end)
      return { highWatermark: data.highWatermark, lastStableOffset: data.lastStableOffset, records };
    if (!progressed)
      throw new Error(`fetch of ${topic}-${partition} at ${offset} returned nothing below ${end}`);
  }
}

/** Polls the partition until it holds `count` records (the last ones may still be in flight). */
export async function readPartitionUntil(
  topic: string,
  partition: number,
  count: number,
  timeoutMs = 15_000,
): Promise<StoredPartition> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stored = await readPartition(topic, partition);
    if (stored.records.length >= count) return stored;
    if (Date.now() > deadline)
      throw new Error(
        `${topic}-${partition} holds ${stored.records.length} of ${count} records after ${timeoutMs} ms`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// ---------------------------------------------------------------------------------------------
// Hand-built produce requests

export interface PlainRecord {
  key?: string | null;
  value: string | null;
  headers?: Record<string, string>;
}

/** A v2 batch as a non-idempotent producer writes it. */
export function recordBatch(records: readonly PlainRecord[], compression: CompressionName = 'none'): Buffer {
  const now = BigInt(Date.now());
  return encodeRecordBatch(
    {
      baseOffset: 0n,
      partitionLeaderEpoch: -1,
      attributes: COMPRESSION_TYPE[compression],
      lastOffsetDelta: records.length - 1,
      baseTimestamp: now,
      maxTimestamp: now,
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
    },
    records.map((record, i) => ({
      attributes: 0,
      timestampDelta: 0,
      offsetDelta: i,
      key: record.key === undefined || record.key === null ? null : Buffer.from(record.key),
      value: record.value === null ? null : Buffer.from(record.value),
      headers: Object.entries(record.headers ?? {}).map(([key, value]) => ({
        key,
        value: Buffer.from(value),
      })),
    })),
  );
}

/**
 * One magic v1 message (Kafka 0.10's format: a timestamp but no headers), as an old producer
 * sends a message set. Its CRC is CRC-32 (not the v2 batches' CRC-32C) over magic to the end.
 */
export function legacyMessageV1(key: string | null, value: string): Buffer {
  const bytesField = (data: Buffer | null) => {
    const length = Buffer.alloc(4);
    length.writeInt32BE(data === null ? -1 : data.length);
    return data === null ? length : Buffer.concat([length, data]);
  };
  const fixed = Buffer.alloc(1 + 1 + 8);
  fixed.writeInt8(1, 0);
  fixed.writeInt8(0, 1);
  fixed.writeBigInt64BE(BigInt(Date.now()), 2);
  const body = Buffer.concat([
    fixed,
    bytesField(key === null ? null : Buffer.from(key)),
    bytesField(Buffer.from(value)),
  ]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  const head = Buffer.alloc(12);
  head.writeBigInt64BE(0n, 0);
  head.writeInt32BE(4 + body.length, 8);
  return Buffer.concat([head, crc, body]);
}

/** Sends one Produce request on a fresh connection and returns the decoded response. */
export async function produceRaw(
  address: string,
  version: number,
  topics: readonly ProduceTopic[],
  acks = -1,
): Promise<ProduceResponse> {
  const connection = await RawKafkaConnection.connect(address, 'validation-raw-producer');
  try {
    const reader = await connection.request(API_PRODUCE, version, produceBody(version, topics, acks));
    return decodeProduceResponse(reader!, version);
  } finally {
    await connection.close();
  }
}
