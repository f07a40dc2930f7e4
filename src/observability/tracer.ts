import { trace, type Tracer } from '@opentelemetry/api';
import type { GatewayConfig } from '../config/gateway-config';

export interface GatewayTracer {
  tracer: Tracer;
  /** Flushes and stops the exporter (a no-op without one). */
  shutdown(): Promise<void>;
}

const INSTRUMENTATION = 'event-gateway';

/**
 * With an OTLP endpoint configured, spans are exported there by a provider of the gateway's own.
 * Without one the gateway uses the globally registered provider — a no-op unless the process
 * embedding the gateway registered an SDK — so running needs no SDK at all.
 */
export function createTracer(config: GatewayConfig['tracing']): GatewayTracer {
  if (config.otlpEndpoint === undefined) {
    return { tracer: trace.getTracer(INSTRUMENTATION), shutdown: async () => undefined };
  }
  // The SDK and exporter load only when spans are exported: otherwise they would only enlarge the
  // heap the proxy's garbage collector walks.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  const { resourceFromAttributes } =
    require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  const { BatchSpanProcessor, TracerProvider } =
    require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    spanProcessors: [
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: config.otlpEndpoint }) }),
    ],
  });
  return { tracer: provider.getTracer(INSTRUMENTATION), shutdown: () => provider.shutdown() };
}
