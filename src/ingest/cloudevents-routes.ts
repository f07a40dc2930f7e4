import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../config/gateway-config';
import { ApiError, errorResponses } from '../http/api-error';
import { BODY_NESTING_LIMIT, nestingProblem } from '../http/body-limits';
import type { CloudEventRouter } from './cloudevent-router';
import {
  CloudEventError,
  parseBatch,
  parseBinary,
  parseStructured,
  toKafkaRecord,
  type CloudEvent,
} from './cloudevents';
import type { Cors } from './cors';
import type { PublishGate } from './publish-gate';
import type { Publisher, PublishRecord, PublishResult } from './publisher';

export interface CloudEventsRoutesOptions {
  publisher: Publisher;
  gate: PublishGate;
  router: CloudEventRouter;
  settings: GatewayConfig['ingest'];
  cors: Cors;
}

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';

function mediaType(request: FastifyRequest): string {
  const header = request.headers['content-type'];
  return (typeof header === 'string' ? header.split(';')[0] : '').trim().toLowerCase();
}

/** The events of a request, each parsed or refused on its own; throws for a body that is none of the modes. */
function eventsOf(request: FastifyRequest, body: Buffer, max: number): (CloudEvent | CloudEventError)[] {
  const type = mediaType(request);
  if (type === STRUCTURED || type === BATCH) {
    const text = body.toString('utf8');
    const tooDeep = nestingProblem(text, 'json', BODY_NESTING_LIMIT);
    if (tooDeep !== null) throw new ApiError(400, `the body is ${tooDeep}`);
    try {
      return type === BATCH ? parseBatch(text, max) : [parseStructured(text)];
    } catch (error) {
      if (!(error instanceof CloudEventError)) throw error;
      throw new ApiError(error.message.startsWith('a batch may hold at most') ? 413 : 400, error.message, {
        path: error.field,
      });
    }
  }
  try {
    return [parseBinary(request.headers, body)];
  } catch (error) {
    if (!(error instanceof CloudEventError)) throw error;
    if (request.headers['ce-specversion'] === undefined)
      throw new ApiError(
        415,
        `send ${STRUCTURED}, ${BATCH}, or the event's data with ce-* headers (binary mode); ${error.message}`,
        { path: error.field },
      );
    return [error];
  }
}

interface Routed {
  event: CloudEvent;
  record: PublishRecord;
}

/** The answer for one event that was written, dropped, or refused. */
function resultOf(
  event: CloudEvent,
  result: PublishResult,
): { status: number; body: Record<string, unknown> } {
  const names = { id: event.id, source: event.source, type: event.type };
  switch (result.status) {
    case 'written':
      return {
        status: 200,
        body: {
          ...names,
          topic: result.topic,
          partition: result.partition,
          offset: result.offset,
          timestamp: new Date(result.timestamp).toISOString(),
        },
      };
    case 'dropped':
      return { status: 202, body: { ...names, topic: result.topic, dropped: true } };
    case 'rejected':
      return {
        status: 422,
        body: {
          ...names,
          error: `the event breaks its contract: ${result.reason}`,
          status: 422,
          errors: [result.reason],
        },
      };
    case 'withheld':
      return {
        status: 422,
        body: { ...names, error: 'not written: another event of the batch was refused', status: 422 },
      };
    case 'failed':
      return {
        status: result.error.status,
        body: {
          ...names,
          error: result.error.message,
          status: result.error.status,
          kafka_error: result.error.kafkaError,
        },
      };
  }
}

const eventResult = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    source: { type: 'string' },
    type: { type: 'string' },
    topic: { type: 'string' },
    partition: { type: 'integer' },
    offset: { type: 'string' },
    timestamp: { type: 'string', format: 'date-time' },
    dropped: { type: 'boolean' },
    error: { type: 'string' },
    status: { type: 'integer' },
    errors: { type: 'array', items: { type: 'string' } },
    kafka_error: { type: 'string' },
    path: { type: 'string' },
  },
} as const;

/**
 * CloudEvents 1.0 at POST /events, in the three HTTP modes: binary (ce-* headers, the body is the
 * data), structured and batched. Each event is routed to its topic by type, judged by the same
 * pipeline as the Kafka door, and written with the Kafka binding's binary content mode. A batch
 * is all or nothing: one event refused (malformed, not allowed, unroutable, against its
 * contract) and none is written.
 */
export function registerCloudEventsRoutes(app: FastifyInstance, options: CloudEventsRoutesOptions): void {
  const { publisher, gate, router, settings } = options;
  options.cors.preflight(app, '/events');
  app.post<{ Body: Buffer | undefined }>(
    '/events',
    {
      onRequest: [options.cors.onRequest, gate.onRequest],
      bodyLimit: settings.maxBodyBytes,
      config: { body: { kind: 'bytes' } },
      schema: {
        summary: 'Publish CloudEvents',
        description:
          `Binary mode (ce-* headers, the body is the data), structured mode (${STRUCTURED}) or a batch ` +
          `(${BATCH}). Each event goes to the topic its type routes to, through the contracts, and is ` +
          'answered once Kafka acknowledged it. A batch is all or nothing.',
        tags: ['publish'],
        response: {
          200: {
            description: 'Written: the event, or for a batch every event (`results`, in order)',
            content: {
              'application/json': {
                schema: {
                  anyOf: [
                    eventResult,
                    { type: 'object', properties: { results: { type: 'array', items: eventResult } } },
                  ],
                },
              },
            },
          },
          202: {
            description: 'Dropped by the filter: not written',
            content: { 'application/json': { schema: eventResult } },
          },
          207: {
            description:
              'A batch some of whose events were written and some not (Kafka refused some partitions)',
            content: {
              'application/json': {
                schema: { type: 'object', properties: { results: { type: 'array', items: eventResult } } },
              },
            },
          },
          ...errorResponses(400, 401, 403, 404, 413, 415, 422, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const who = gate.identify(request);
      const batch = mediaType(request) === BATCH;
      const events = eventsOf(request, request.body ?? Buffer.alloc(0), settings.maxRecordsPerRequest);
      if (events.length === 0) throw new ApiError(400, 'the batch holds no event');

      // Everything that refuses a whole request is decided before anything is written.
      const problems: Record<string, unknown>[] = [];
      const routed: Routed[] = [];
      let forbidden: string | null = null;
      let unroutable: string | null = null;
      events.forEach((event, index) => {
        if (event instanceof CloudEventError) {
          problems.push({ index, path: event.field, error: event.message });
          return;
        }
        const refusal = who.mayUse(event.source, event.type);
        if (refusal !== null) {
          forbidden ??= refusal;
          problems.push({ index, id: event.id, error: refusal });
          return;
        }
        const route = router.route(event.type);
        if ('error' in route) {
          unroutable ??= route.error;
          problems.push({ index, id: event.id, error: route.error });
          return;
        }
        const parts = toKafkaRecord(event);
        const time = event.time === undefined ? NaN : Date.parse(event.time);
        routed.push({
          event,
          record: {
            topic: route.topic,
            key: parts.key,
            value: parts.value,
            headers: parts.headers,
            ...(Number.isFinite(time) && time >= 0 && { timestamp: time }),
          },
        });
      });
      if (problems.length > 0) {
        const [first] = problems;
        const status = forbidden !== null ? 403 : unroutable !== null ? 422 : 400;
        const reason = forbidden ?? unroutable ?? String(first.error);
        const details: Record<string, unknown> = batch
          ? { errors: problems.map((p) => `event ${String(p.index)}: ${String(p.error)}`) }
          : {};
        if (!batch && typeof first.path === 'string') details.path = first.path;
        throw new ApiError(
          status,
          batch ? `${problems.length} of ${events.length} events refused; none written: ${reason}` : reason,
          details,
        );
      }
      for (const topic of new Set(routed.map((entry) => entry.record.topic))) {
        await publisher.requireTopic(topic).catch((refusal: ApiError) => {
          if (refusal.status !== 404) throw refusal;
          throw new ApiError(404, `events of this type go to topic '${topic}', which does not exist`);
        });
      }
      const records = routed.map((entry) => entry.record);
      gate.admit(who, records, request.ip);
      const results = await publisher.publish(records, gate.context(who, request.ip), true);
      const answers = routed.map((entry, i) => resultOf(entry.event, results[i]));
      if (!batch) {
        const [only] = answers;
        if (only.status === 503) void reply.header('retry-after', '5');
        return reply.code(only.status).type('application/json').send(JSON.stringify(only.body));
      }
      const statuses = new Set(answers.map((answer) => answer.status));
      const status = statuses.size === 1 ? answers[0].status : statuses.has(422) ? 422 : 207;
      if (status === 503) void reply.header('retry-after', '5');
      const body =
        status >= 400
          ? {
              error: `${answers.filter((a) => a.status >= 400).length} of ${answers.length} events not written`,
              status,
              errors: answers.flatMap((a, i) =>
                a.status >= 400 ? [`event ${i}: ${String(a.body.error)}`] : [],
              ),
              results: answers.map((answer) => answer.body),
            }
          : { results: answers.map((answer) => answer.body) };
      return reply.code(status).type('application/json').send(JSON.stringify(body));
    },
  );
}
