import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ApiKey } from '../../../src/protocol/messages';
import {
  decodeRecords,
  encodeRecordBatch,
  readRecordBatches,
  type RecordBatch,
} from '../../../src/protocol/records';
import { createLogger } from '../../../src/observability/logger';
import type { Middleware, ProduceContext } from '../../../src/pipeline/middleware';
import { ProduceTracing } from '../../../src/pipeline/produce-tracing';
import { Pipeline } from '../../../src/pipeline/pipeline';
import type { ConnectionContext, RequestDecision } from '../../../src/proxy/api-handler';
import { produceHandler } from '../../../src/proxy/handlers/produce';
import { decodeProduceFrame, produceFrame } from '../support/produce-frames';

const PARENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';

/** One v9 request to `orders` whose records carry these headers, from client id traced-app. */
function tracedFrame(headers: { key: string; value: Buffer }[][]): Buffer {
  const records = encodeRecordBatch(
    {
      baseOffset: 0n,
      partitionLeaderEpoch: -1,
      attributes: 0,
      lastOffsetDelta: headers.length - 1,
      baseTimestamp: 0n,
      maxTimestamp: 0n,
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
    },
    headers.map((h, i) => ({
      attributes: 0,
      timestampDelta: 0,
      offsetDelta: i,
      key: null,
      value: Buffer.from('{}'),
      headers: h,
    })),
  );
  return produceFrame(9, [{ topic: 'orders', partition: 0, records }], -1, 'traced-app');
}

const connection: ConnectionContext = {
  id: 1,
  clientAddress: 'x',
  listener: 'bootstrap',
  logger: createLogger('silent'),
  clientId: null,
};
const route = { apiKey: ApiKey.Produce, apiVersion: 9, correlationId: 7 };
const book = {
  advertisedHost: 'h',
  gatewayPortFor: () => 1,
  registerBrokers: () => undefined,
  rememberTopic: () => undefined,
  topicName: () => undefined,
};

function setup(inject: boolean, after: Middleware[] = []) {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracing = new ProduceTracing({ tracer: provider.getTracer('test'), inject });
  const pipeline = new Pipeline([tracing.middleware(), ...after]);
  const handler = produceHandler({ book, pipeline: () => pipeline, tracing });
  return { exporter, handler };
}

describe('produce tracing', () => {
  it('continues the trace a producer started and ends the span when the broker answers', async () => {
    const { exporter, handler } = setup(false);
    const traceparent = Buffer.from(`00-${PARENT_TRACE}-${PARENT_SPAN}-01`);
    const decision = (await handler.onRequest!(
      tracedFrame([[{ key: 'traceparent', value: traceparent }], []]),
      route,
      connection,
    )) as RequestDecision;
    // Forwarded as the producer's bytes; the span travels with the request to its response.
    expect(decision).toEqual({ action: 'forward', expectResponse: true, exchange: expect.anything() });
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    if (decision.action !== 'forward') return;
    handler.onResponse!(Buffer.alloc(0), route, connection, decision.exchange);
    const [span] = exporter.getFinishedSpans();
    expect(span.spanContext().traceId).toBe(PARENT_TRACE);
    expect(span.parentSpanContext?.spanId).toBe(PARENT_SPAN);
    expect(span.name).toBe('send orders');
    expect(span.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'orders',
      'messaging.batch.message_count': 2,
      'messaging.client.id': 'traced-app',
      'event_gateway.outcome': 'forwarded',
    });
  });

  it('injects a traceparent pointing at the gateway span into records without one', async () => {
    const { exporter, handler } = setup(true);
    const decision = (await handler.onRequest!(tracedFrame([[]]), route, connection)) as RequestDecision;
    expect(decision.action).toBe('forward');
    if (decision.action !== 'forward') return;
    const request = decodeProduceFrame(decision.frame!, 9);
    const [batch] = readRecordBatches(request.topicData[0].partitionData[0].records!) as RecordBatch[];
    const [record] = decodeRecords(batch);
    const injected = record.headers.find((h) => h.key === 'traceparent')!.value!.toString();
    handler.onResponse!(Buffer.alloc(0), route, connection, decision.exchange);
    const [span] = exporter.getFinishedSpans();
    expect(injected).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.attributes['event_gateway.outcome']).toBe('forwarded_modified');
  });

  it('keeps the trace out of the context other middlewares see, and still ends it on a refusal', async () => {
    const seen: ProduceContext[] = [];
    const refuser: Middleware = {
      name: 'refuser',
      onRecord(_record, verdict, context) {
        seen.push(context);
        verdict.reject('no');
      },
    };
    const { exporter, handler } = setup(true, [refuser]);
    const decision = (await handler.onRequest!(tracedFrame([[]]), route, connection)) as RequestDecision;
    expect(decision.action).toBe('respond');
    expect(seen).toHaveLength(1);
    expect(Object.keys(seen[0]).sort()).toEqual([
      'acks',
      'apiVersion',
      'clientAddress',
      'clientId',
      'door',
      'transactionalId',
    ]);
    const [span] = exporter.getFinishedSpans();
    expect(span.attributes['event_gateway.outcome']).toBe('rejected');
    expect(span.attributes['messaging.batch.message_count']).toBe(1);
  });
});
