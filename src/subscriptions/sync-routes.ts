import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { ApiError } from '../http/api-error';
import { toKafkaRecord } from '../ingest/cloudevents';
import type { PublishGate } from '../ingest/publish-gate';
import type { Publisher, PublishRecord } from '../ingest/publisher';
import type { GatewayMetrics } from '../observability/metrics';
import { HTTP_REQUEST_TYPE, httpRequestEvent, outgoingBody, type DeliveredRecord } from './delivery-format';
import { DEFAULTS } from './subscription';
import type { ActiveSubscription, Subscriptions } from './subscriptions';

export interface SyncRoutesOptions {
  subscriptions: Subscriptions;
  publisher: Publisher;
  gate: PublishGate;
  prefix: string;
  maxBodyBytes: number;
  metrics: GatewayMetrics;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** Not passed back from the target: they describe its connection to the gateway, not the caller's. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
]);

function pathOf(request: FastifyRequest): string {
  const url = request.url;
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

function allowedOrigin(active: ActiveSubscription, origin: string | undefined): boolean {
  const origins = active.settings.sync?.cors?.origins ?? [];
  return typeof origin === 'string' && (origins.includes('*') || origins.includes(origin));
}

/**
 * The routes of sync subscriptions, all under one prefix (so a subscription can never shadow the
 * gateway's own API): a request becomes a CloudEvent of type `http.request`, is written to the
 * subscription's topic first (async subscriptions on that topic see it too), and is then sent to
 * the target, whose status, headers and body are the answer. Callers present a publisher's API
 * key, which must grant the topic, and the source (the path) and type (`http.request`) when it
 * limits those, as for any other publish.
 */
export function registerSyncRoutes(app: FastifyInstance, options: SyncRoutesOptions): void {
  const { subscriptions, publisher, gate, metrics } = options;

  // A preflight carries no credentials: the browser asks first whether it may send them.
  const authenticate: onRequestHookHandler = (request, reply, done) => {
    if (request.method === 'OPTIONS') return done();
    gate.onRequest.call(app, request, reply, done);
  };

  const preflight = (request: FastifyRequest, reply: FastifyReply, path: string) => {
    const methods = subscriptions.syncMethods(path);
    if (methods.length === 0)
      throw new ApiError(404, `no sync subscription answers on ${path.slice(0, 200)}`);
    const origin = request.headers.origin;
    const allowing = methods
      .map((method) => subscriptions.syncFor(method, path)!)
      .filter((active) => allowedOrigin(active, origin));
    if (allowing.length === 0)
      throw new ApiError(
        403,
        `origin ${JSON.stringify(String(origin ?? '').slice(0, 200))} may not call ${path.slice(0, 200)}`,
      );
    return reply
      .code(204)
      .header('access-control-allow-origin', origin!)
      .header(
        'access-control-allow-methods',
        allowing.map((active) => active.settings.sync!.method ?? DEFAULTS.method).join(', '),
      )
      .header('access-control-allow-headers', 'content-type, authorization, x-api-key')
      .header('access-control-max-age', '600')
      .header('vary', 'Origin')
      .send();
  };

  app.route<{ Body: Buffer }>({
    method: [...METHODS, 'OPTIONS'],
    url: `${options.prefix}*`,
    onRequest: authenticate,
    bodyLimit: options.maxBodyBytes,
    config: { body: { kind: 'bytes' } },
    schema: { hide: true },
    handler: async (request, reply) => {
      const path = pathOf(request);
      if (request.method === 'OPTIONS') return preflight(request, reply, path);
      const active = subscriptions.syncFor(request.method, path);
      if (active === undefined) {
        const methods = subscriptions.syncMethods(path);
        if (methods.length === 0)
          throw new ApiError(404, `no sync subscription answers on ${path.slice(0, 200)}`);
        throw new ApiError(
          405,
          `${request.method} is not answered on ${path.slice(0, 200)}`,
          {},
          { allow: methods.join(', ') },
        );
      }
      if (allowedOrigin(active, request.headers.origin)) {
        void reply.header('access-control-allow-origin', request.headers.origin!).header('vary', 'Origin');
      }
      if (active.stored.paused === true)
        throw new ApiError(503, `subscription '${active.id}' is paused`, {}, { 'retry-after': '30' });
      if (active.problem !== null)
        throw new ApiError(503, `subscription '${active.id}' is not in force here: ${active.problem}`);
      const who = gate.identify(request);
      const notAllowed = who.mayUse(path, HTTP_REQUEST_TYPE);
      if (notAllowed !== null) throw new ApiError(403, notAllowed);
      const topic = active.settings.events.topics[0];
      await publisher.requireTopic(topic);
      const body = request.body instanceof Buffer && request.body.length > 0 ? request.body : null;
      const contentType = request.headers['content-type'];
      const event = httpRequestEvent(
        {
          method: request.method,
          path,
          query: request.query as Record<string, string | string[]>,
          headers: request.headers,
          body,
          ...(typeof contentType === 'string' && { contentType }),
        },
        randomUUID(),
        path,
      );
      const parts = toKafkaRecord(event);
      const record: PublishRecord = { topic, key: parts.key, value: parts.value, headers: parts.headers };
      gate.admit(who, [record], request.ip);
      const [result] = await publisher.publish([record], gate.context(who, request.ip));
      switch (result.status) {
        case 'rejected':
          throw new ApiError(422, `the request breaks its topic's contract: ${result.reason}`, {
            errors: [result.reason],
          });
        case 'dropped':
        case 'withheld':
          throw new ApiError(
            422,
            'the request was dropped by a filter rule: neither stored nor sent to the target',
          );
        case 'failed':
          throw new ApiError(
            result.error.status,
            `the request was not stored, so it was not sent: ${result.error.message}`,
            { kafka_error: result.error.kafkaError },
            result.error.status === 503 ? { 'retry-after': '5' } : {},
          );
      }
      const delivered: DeliveredRecord = {
        topic,
        partition: result.partition,
        offset: result.offset,
        timestamp: String(result.timestamp),
        key: record.key,
        value: record.value,
        headers: Object.fromEntries(record.headers.map((header) => [header.key, header.value ?? ''])),
      };
      const attempt = await active.client.send(
        outgoingBody(delivered, active.settings.format ?? DEFAULTS.format),
      );
      const subscription = active.id;
      const stored = { topic, partition: result.partition, offset: result.offset };
      switch (attempt.kind) {
        case 'answered': {
          metrics.subscriptionAttempts.inc({ subscription, result: `${Math.floor(attempt.status / 100)}xx` });
          if (attempt.status >= 200 && attempt.status < 300) active.counts.delivered++;
          for (const [name, value] of Object.entries(attempt.headers)) {
            if (value === undefined || HOP_BY_HOP.has(name)) continue;
            void reply.header(name, value);
          }
          return reply.code(attempt.status).send(attempt.body);
        }
        case 'timeout':
          metrics.subscriptionAttempts.inc({ subscription, result: 'timeout' });
          throw new ApiError(
            504,
            `the target did not answer within ${active.settings.target.timeoutMs ?? DEFAULTS.timeoutMs} ms`,
            { record: stored },
          );
        case 'unreachable':
          metrics.subscriptionAttempts.inc({ subscription, result: 'unreachable' });
          throw new ApiError(502, `the target cannot be reached: ${attempt.error}`, { record: stored });
        case 'refused':
          metrics.subscriptionAttempts.inc({ subscription, result: 'refused' });
          throw new ApiError(502, `the target's address is not allowed: ${attempt.reason}`, {
            record: stored,
          });
      }
    },
  });
}
