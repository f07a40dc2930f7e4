import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import type { GatewayConfig } from '../config/gateway-config';
import { ApiError } from '../http/api-error';

type CorsSettings = GatewayConfig['ingest']['cors'];

/**
 * CORS for the publishing routes, so a browser app can publish: an allowed Origin gets
 * Access-Control-Allow-Origin on the answer, and preflights (OPTIONS) are answered with the
 * configured methods and headers. Nothing is added when no origin is configured; a preflight from
 * an origin not on the list is refused with 403, so the browser shows why.
 */
export class Cors {
  private readonly any: boolean;
  private readonly origins: ReadonlySet<string>;

  constructor(private readonly settings: CorsSettings) {
    this.any = settings.origins.includes('*');
    this.origins = new Set(settings.origins);
  }

  get enabled(): boolean {
    return this.settings.origins.length > 0;
  }

  private allowed(origin: string): boolean {
    return this.any || this.origins.has(origin);
  }

  /** Sets the answer's CORS headers for an allowed Origin; other requests are left as they are. */
  readonly onRequest: onRequestHookHandler = (request, reply, done) => {
    if (!this.enabled) return done();
    // The answer depends on Origin whether or not it is allowed: caches must keep them apart.
    if (!this.any) void reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    if (typeof origin === 'string' && this.allowed(origin)) {
      void reply.header('access-control-allow-origin', this.any ? '*' : origin);
      // Browser code must see Retry-After to honour it.
      void reply.header('access-control-expose-headers', 'Retry-After, ETag');
    }
    done();
  };

  /** OPTIONS on `url`: the preflight of a browser about to publish there. */
  preflight(app: FastifyInstance, url: string, methods: readonly string[] = this.settings.methods): void {
    if (!this.enabled) return;
    const { settings } = this;
    app.options(url, { schema: { hide: true } }, async (request, reply) => {
      const origin = request.headers.origin;
      if (typeof origin !== 'string' || !this.allowed(origin))
        throw new ApiError(
          403,
          `origin ${JSON.stringify(String(origin ?? '').slice(0, 200))} may not publish here`,
        );
      return reply
        .code(204)
        .header('access-control-allow-origin', this.any ? '*' : origin)
        .header('access-control-allow-methods', methods.join(', '))
        .header('access-control-allow-headers', settings.headers.join(', '))
        .header('access-control-max-age', String(settings.maxAgeSeconds))
        .header('vary', 'Origin')
        .send();
    });
  }
}
