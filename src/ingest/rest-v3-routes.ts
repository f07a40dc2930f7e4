import Ajv from 'ajv';
import type { FastifyInstance } from 'fastify';
import { ApiError, errorResponses } from '../http/api-error';
import type { GatewayConfig } from '../config/gateway-config';
import type { RecordHeader } from '../protocol/records';
import { splitJsonSequence } from './json-sequence';
import type { Cors } from './cors';
import type { PublishGate } from './publish-gate';
import type { Publisher, PublishRecord, PublishResult } from './publisher';

export interface RestV3RoutesOptions {
  publisher: Publisher;
  gate: PublishGate;
  settings: GatewayConfig['ingest'];
  cors: Cors;
}

/** A record as Confluent's REST Proxy v3 takes it. */
interface RestRecord {
  partition_id?: number;
  headers?: { name: string; value: string | null }[];
  key?: RestData;
  value?: RestData;
  timestamp?: string | number;
}
interface RestData {
  type?: 'JSON' | 'STRING' | 'BINARY';
  data?: unknown;
}

const dataSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { enum: ['JSON', 'STRING', 'BINARY'] },
    data: {},
  },
};

const recordSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    partition_id: { type: 'integer', minimum: 0, maximum: 2147483647 },
    headers: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: { name: { type: 'string', minLength: 1 }, value: { type: ['string', 'null'] } },
      },
    },
    key: dataSchema,
    value: dataSchema,
    timestamp: { type: ['string', 'integer'] },
  },
} as const;

// The record body is text (streaming mode holds several), so it is checked here, not by the route.
const checkRecord = new Ajv({ allErrors: false, allowUnionTypes: true }).compile<RestRecord>(recordSchema);
const paramsAjv = new Ajv({ allErrors: false });

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** JSON, a stream of it (ndjson, json-seq), or a +json type; parameters such as charset may follow. */
const JSON_TYPES = /^\s*application\/(json|x-ndjson|json-seq|[a-z0-9.+-]*\+json)\s*(;|$)/i;

function bytesOf(part: RestData | undefined, what: string): { bytes: Buffer | null; type: string } {
  if (part === undefined || part.data === undefined || part.data === null)
    return { bytes: null, type: part?.type ?? 'JSON' };
  const type = part.type ?? 'JSON';
  if (type === 'JSON') return { bytes: Buffer.from(JSON.stringify(part.data)), type };
  if (typeof part.data !== 'string')
    throw new ApiError(400, `${what}.data must be a string for type ${type}`);
  if (type === 'STRING') return { bytes: Buffer.from(part.data), type };
  if (part.data.length % 4 !== 0 || !BASE64.test(part.data))
    throw new ApiError(400, `${what}.data is not base64 (type BINARY)`);
  return { bytes: Buffer.from(part.data, 'base64'), type };
}

function timestampOf(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const millis = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(millis) || millis < 0 || millis > 8.64e15)
    throw new ApiError(400, `timestamp ${JSON.stringify(String(value).slice(0, 40))} is not a time`);
  return millis;
}

interface Parsed {
  record: PublishRecord;
  keyType: string;
  valueType: string;
}

/** One record of the body, or the refusal that answers it. */
function parseRecord(text: string, topic: string): Parsed | ApiError {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return new ApiError(400, `the record is not JSON: ${(error as Error).message}`);
  }
  if (!checkRecord(raw)) {
    const first = checkRecord.errors?.[0];
    return new ApiError(
      400,
      `the record is invalid: ${first?.instancePath || '(root)'} ${first?.message ?? ''}`.trim(),
    );
  }
  try {
    const key = bytesOf(raw.key, 'key');
    const value = bytesOf(raw.value, 'value');
    const headers: RecordHeader[] = (raw.headers ?? []).map((header, i) => {
      if (header.value === null || header.value === undefined) return { key: header.name, value: null };
      if (header.value.length % 4 !== 0 || !BASE64.test(header.value))
        throw new ApiError(400, `headers.${i}.value is not base64`);
      return { key: header.name, value: Buffer.from(header.value, 'base64') };
    });
    return {
      record: {
        topic,
        ...(raw.partition_id !== undefined && { partition: raw.partition_id }),
        key: key.bytes,
        value: value.bytes,
        headers,
        timestamp: timestampOf(raw.timestamp),
      },
      keyType: key.type,
      valueType: value.type,
    };
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
}

/** A record's answer: REST Proxy v3's result, or the API's error body with Confluent's `error_code`. */
function answerOf(
  clusterId: string,
  parsed: Parsed,
  result: PublishResult,
): { status: number; body: object } {
  switch (result.status) {
    case 'written':
      return {
        status: 200,
        body: {
          error_code: 200,
          cluster_id: clusterId,
          topic_name: result.topic,
          partition_id: result.partition,
          offset: Number(result.offset),
          timestamp: new Date(result.timestamp).toISOString(),
          key: { type: parsed.keyType, size: parsed.record.key?.length ?? 0 },
          value: { type: parsed.valueType, size: parsed.record.value?.length ?? 0 },
        },
      };
    case 'dropped':
      return { status: 202, body: { error_code: 202, topic_name: result.topic, dropped: true } };
    case 'rejected':
      return {
        status: 422,
        body: {
          error_code: 422,
          error: `the record breaks its contract: ${result.reason}`,
          status: 422,
          errors: [result.reason],
        },
      };
    case 'withheld':
      return {
        status: 409,
        body: {
          error_code: 409,
          error: 'not written: another record of the request was refused',
          status: 409,
        },
      };
    case 'failed':
      return {
        status: result.error.status,
        body: {
          error_code: result.error.status,
          error: result.error.message,
          status: result.error.status,
          kafka_error: result.error.kafkaError,
        },
      };
  }
}

function refusalOf(error: ApiError): { status: number; body: object } {
  return { status: error.status, body: { error_code: error.status, ...error.body() } };
}

/** REST Proxy v3's list shape: `{"kind", "data": [{"kind", ...properties}]}`. */
function kindList(properties: Record<string, { type: string }>) {
  return {
    type: 'object',
    properties: {
      kind: { type: 'string' },
      data: {
        type: 'array',
        items: { type: 'object', properties: { kind: { type: 'string' }, ...properties } },
      },
    },
  } as const;
}

const clusterParams = {
  type: 'object',
  required: ['cluster_id'],
  properties: { cluster_id: { type: 'string', maxLength: 64 } },
} as const;

const produceResult = {
  type: 'object',
  properties: {
    error_code: { type: 'integer' },
    cluster_id: { type: 'string' },
    topic_name: { type: 'string' },
    partition_id: { type: 'integer' },
    offset: { type: 'integer' },
    timestamp: { type: 'string', format: 'date-time' },
    key: { type: 'object', properties: { type: { type: 'string' }, size: { type: 'integer' } } },
    value: { type: 'object', properties: { type: { type: 'string' }, size: { type: 'integer' } } },
    dropped: { type: 'boolean' },
  },
} as const;

/**
 * Kafka-native REST, in the shape of Confluent REST Proxy v3: records posted to a topic are
 * judged by the pipeline and written with acks=all before they are answered.
 */
export function registerRestV3Routes(app: FastifyInstance, options: RestV3RoutesOptions): void {
  const { publisher, gate, settings } = options;
  const tags = ['publish'];

  function reachableCluster(): Promise<string> {
    return publisher.clusterId().catch((failure: Error) => {
      throw new ApiError(
        503,
        `the cluster cannot be reached: ${failure.message}`,
        {},
        { 'retry-after': '5' },
      );
    });
  }

  async function knownCluster(id: string): Promise<string> {
    const clusterId = await reachableCluster();
    if (id !== clusterId)
      throw new ApiError(404, `no cluster with id '${id.slice(0, 64)}'; this one is '${clusterId}'`);
    return clusterId;
  }

  options.cors.preflight(app, '/v3/clusters', ['GET']);
  app.get(
    '/v3/clusters',
    {
      onRequest: [options.cors.onRequest, gate.onRequest],
      schema: {
        summary: 'The Kafka cluster behind the gateway',
        tags,
        response: {
          200: kindList({ cluster_id: { type: 'string' } }),
          ...errorResponses(401, 403, 503),
        },
      },
    },
    async () => {
      const clusterId = await reachableCluster();
      return { kind: 'KafkaClusterList', data: [{ kind: 'KafkaCluster', cluster_id: clusterId }] };
    },
  );

  options.cors.preflight(app, '/v3/clusters/:cluster_id/topics', ['GET']);
  app.get<{ Params: { cluster_id: string } }>(
    '/v3/clusters/:cluster_id/topics',
    {
      onRequest: [options.cors.onRequest, gate.onRequest],
      schema: {
        summary: 'The topics this publisher may write to',
        tags,
        params: clusterParams,
        response: {
          200: kindList({ cluster_id: { type: 'string' }, topic_name: { type: 'string' } }),
          ...errorResponses(401, 403, 404, 503),
        },
      },
    },
    async (request) => {
      const who = gate.identify(request);
      const clusterId = await knownCluster(request.params.cluster_id);
      const topics = await publisher.topics().catch((failure: Error) => {
        throw new ApiError(
          503,
          `the topics cannot be listed: ${failure.message}`,
          {},
          { 'retry-after': '5' },
        );
      });
      return {
        kind: 'KafkaTopicList',
        data: topics
          .filter((topic) => gate.mayPublish(who, topic))
          .map((topic) => ({ kind: 'KafkaTopic', cluster_id: clusterId, topic_name: topic })),
      };
    },
  );

  options.cors.preflight(app, '/v3/clusters/:cluster_id/topics/:topic_name/records');
  app.post<{ Params: { cluster_id: string; topic_name: string }; Body: string | undefined }>(
    '/v3/clusters/:cluster_id/topics/:topic_name/records',
    {
      onRequest: [options.cors.onRequest, gate.onRequest],
      bodyLimit: settings.maxBodyBytes,
      config: { body: { kind: 'text', syntax: 'json', nesting: 64, noun: 'body' } },
      schema: {
        summary: 'Write records to a topic',
        description:
          'One record object, answered with its result; or several, one after another (streaming mode), ' +
          'answered with one JSON result per line, in order, each with its own error_code. ' +
          'Answered only once Kafka has acknowledged the records (acks=all).',
        tags,
        params: {
          type: 'object',
          required: ['cluster_id', 'topic_name'],
          properties: {
            cluster_id: clusterParams.properties.cluster_id,
            topic_name: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,249}$' },
          },
        },
        body: { ...recordSchema, description: 'A record (or, streaming, several one after another).' },
        response: {
          200: {
            description: 'Written (one record), or the results of a stream, one JSON object per line',
            content: {
              'application/json': { schema: produceResult },
              'application/x-ndjson': { schema: { type: 'string' } },
            },
          },
          202: {
            description: 'Dropped by the filter: not written',
            content: { 'application/json': { schema: produceResult } },
          },
          ...errorResponses(400, 401, 403, 404, 413, 415, 422, 429, 503),
        },
      },
      // The body schema documents one record, but the body is text (a stream may hold several),
      // checked record by record in parseRecord; params are checked as usual.
      validatorCompiler: ({ schema, httpPart }) =>
        httpPart === 'body' ? () => true : paramsAjv.compile(schema),
    },
    async (request, reply) => {
      const who = gate.identify(request);
      const contentType = request.headers['content-type'];
      if (contentType !== undefined && !JSON_TYPES.test(contentType))
        throw new ApiError(
          415,
          `records are JSON: send content-type application/json, not ${JSON.stringify(contentType.slice(0, 100))}`,
        );
      const clusterId = await knownCluster(request.params.cluster_id);
      const topic = request.params.topic_name;
      const pieces = splitJsonSequence(request.body ?? '', settings.maxRecordsPerRequest);
      if (pieces === null)
        throw new ApiError(413, `more than ${settings.maxRecordsPerRequest} records in one request`);
      if (pieces.length === 0)
        throw new ApiError(400, 'the body must hold a record: {"value": {"data": ...}}');
      const parsed = pieces.map((piece) => parseRecord(piece, topic));
      const good = parsed.filter((entry): entry is Parsed => !(entry instanceof ApiError));
      await publisher.requireTopic(topic);
      gate.admit(
        who,
        good.map((entry) => entry.record),
        request.ip,
      );
      const results = await publisher.publish(
        good.map((entry) => entry.record),
        gate.context(who, request.ip),
      );
      let next = 0;
      const answers = parsed.map((entry) =>
        entry instanceof ApiError ? refusalOf(entry) : answerOf(clusterId, entry, results[next++]),
      );
      if (pieces.length === 1) {
        const [only] = answers;
        if (only.status === 503) void reply.header('retry-after', '5');
        return reply.code(only.status).type('application/json').send(JSON.stringify(only.body));
      }
      return reply
        .code(200)
        .type('application/x-ndjson')
        .send(answers.map((answer) => JSON.stringify(answer.body)).join('\n') + '\n');
    },
  );
}
