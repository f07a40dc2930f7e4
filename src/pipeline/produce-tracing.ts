import {
  context as otelContext,
  SpanKind,
  SpanStatusCode,
  trace,
  type Link,
  type Span,
  type SpanContext,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Middleware, ProduceContext, ProducedRecord, RecordVerdict } from './middleware';

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';
const MAX_LINKS = 32;

const w3c = new W3CTraceContextPropagator();

type Carrier = Record<string, string>;
const getter: TextMapGetter<Carrier> = { get: (c, k) => c[k], keys: (c) => Object.keys(c) };
const setter: TextMapSetter<Carrier> = {
  set: (c, k, v) => {
    c[k] = v;
  },
};

function headerText(record: ProducedRecord, key: string): string | undefined {
  for (const header of record.headers) {
    if (header.key === key && header.value !== null) return header.value.toString('latin1');
  }
  return undefined;
}

/** The trace of one produce request: a span started lazily, once its parent (if any) is known. */
export class ProduceTrace {
  private span: Span | undefined;
  private readonly links: Link[] = [];
  private readonly startTime = Date.now();
  records = 0;

  constructor(
    private readonly tracer: Tracer,
    private readonly topics: readonly string[],
    private readonly clientId: string | null,
  ) {}

  /** The request span, started now if needed: as a child of `parent` when one is given. */
  ensureSpan(parent?: SpanContext): Span {
    if (this.span !== undefined) return this.span;
    const parentContext = parent ? trace.setSpanContext(otelContext.active(), parent) : otelContext.active();
    const destination = this.topics.length === 1 ? this.topics[0] : '(multiple)';
    this.span = this.tracer.startSpan(
      `send ${destination}`,
      {
        kind: SpanKind.PRODUCER,
        startTime: this.startTime,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'produce',
          'messaging.destination.name': destination,
          ...(this.topics.length > 1 && { 'event_gateway.topics': [...this.topics] }),
          ...(this.clientId !== null && { 'messaging.client.id': this.clientId }),
        },
      },
      parentContext,
    );
    return this.span;
  }

  /** A record arrived with its own trace context: the first one parents the span, later ones are links. */
  continueFrom(parent: SpanContext): void {
    if (this.span === undefined) {
      this.ensureSpan(parent);
      return;
    }
    if (this.links.length < MAX_LINKS) this.links.push({ context: parent });
  }

  /** Ends the span with the request's outcome (forwarded, tagged, rejected, failed). */
  end(outcome: string, error?: string): void {
    const span = this.ensureSpan();
    if (this.links.length > 0) span.addLinks(this.links);
    span.setAttribute('messaging.batch.message_count', this.records);
    span.setAttribute('event_gateway.outcome', outcome);
    if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    span.end();
  }
}

export interface ProduceTracingOptions {
  tracer: Tracer;
  /** Add a traceparent header (the gateway's span) to records that carry none. */
  inject: boolean;
}

/**
 * Tracing of produce requests. Each request gets a span; records that carry a W3C `traceparent`
 * make the gateway's span part of their trace, and with `inject` records without one leave with a
 * `traceparent` pointing at the gateway's span so that consumers can continue it.
 */
export class ProduceTracing {
  /**
   * Each request's trace, by the context its middlewares are given: the trace is the gateway's
   * own business, so it is not a field of the context other middlewares see.
   */
  private readonly traces = new WeakMap<ProduceContext, ProduceTrace>();

  constructor(private readonly options: ProduceTracingOptions) {}

  /** Starts the trace of the request whose middlewares are given `context`. */
  begin(topics: readonly string[], context: ProduceContext): ProduceTrace {
    const requestTrace = new ProduceTrace(this.options.tracer, topics, context.clientId);
    this.traces.set(context, requestTrace);
    return requestTrace;
  }

  /** The trace begun for `context`, if any. */
  traceOf(context: ProduceContext): ProduceTrace | undefined {
    return this.traces.get(context);
  }

  /** The pipeline middleware that reads and writes trace context in record headers. */
  middleware(): Middleware {
    const inject = this.options.inject;
    const traces = this.traces;
    return {
      name: 'trace',
      onRecord(record: ProducedRecord, verdict: RecordVerdict, context: ProduceContext) {
        const requestTrace = traces.get(context);
        if (requestTrace === undefined) return;
        requestTrace.records++;
        const traceparent = headerText(record, TRACEPARENT);
        if (traceparent !== undefined) {
          const carrier: Carrier = { [TRACEPARENT]: traceparent };
          const tracestate = headerText(record, TRACESTATE);
          if (tracestate !== undefined) carrier[TRACESTATE] = tracestate;
          const parent = trace.getSpanContext(w3c.extract(otelContext.active(), carrier, getter));
          if (parent !== undefined) requestTrace.continueFrom(parent);
          return;
        }
        if (!inject) return;
        const carrier: Carrier = {};
        w3c.inject(trace.setSpan(otelContext.active(), requestTrace.ensureSpan()), carrier, setter);
        if (carrier[TRACEPARENT] !== undefined) verdict.addHeader(TRACEPARENT, carrier[TRACEPARENT]);
      },
    };
  }
}
