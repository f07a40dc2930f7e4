import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import type { ProduceContext } from '../pipeline/middleware';
import type { QuotaManager } from '../quotas/quota-manager';
import { ApiError } from '../http/api-error';
import type { PublishRecord } from './publisher';
import type { PublisherAuth, PublisherIdentity } from './publisher-auth';

function recordBytes(record: PublishRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const header of record.headers) bytes += header.key.length + (header.value?.length ?? 0);
  return bytes;
}

/**
 * What every way in checks before the pipeline sees a record: who the publisher is, that its key
 * grants each topic, and that neither the key's rate nor the gateway's quotas (the same ones the
 * Kafka door enforces, by topic and client address) are exhausted.
 */
export class PublishGate {
  constructor(
    private readonly auth: PublisherAuth,
    private readonly quotas: QuotaManager,
    /** Topics no key may write to, whatever it grants: Kafka's own and the gateway's state topic. */
    private readonly internal: (topic: string) => boolean,
  ) {}

  /** Whether `who` may write to `topic`: granted, and not internal. */
  mayPublish(who: PublisherIdentity, topic: string): boolean {
    return !this.internal(topic) && who.mayPublish(topic);
  }

  private readonly identified = new WeakMap<FastifyRequest, PublisherIdentity>();

  /**
   * The publishing routes' onRequest hook: the key is checked before the body is read, so a
   * request without one is refused without the gateway taking its upload.
   */
  readonly onRequest: onRequestHookHandler = (request, _reply, done) => {
    try {
      this.identified.set(request, this.auth.authenticate(request.headers, request.ip));
      done();
    } catch (error) {
      done(error as Error);
    }
  };

  identify(request: FastifyRequest): PublisherIdentity {
    return this.identified.get(request) ?? this.auth.authenticate(request.headers, request.ip);
  }

  admit(who: PublisherIdentity, records: readonly PublishRecord[], clientAddress: string): void {
    const usage = new Map<string, { topic: string; bytes: number; records: number }>();
    let total = 0;
    for (const record of records) {
      if (this.internal(record.topic))
        throw new ApiError(
          403,
          `topic '${record.topic}' is internal to Kafka or the gateway: nothing may be published to it`,
        );
      if (!who.mayPublish(record.topic))
        throw new ApiError(403, `key '${who.name}' may not publish to topic '${record.topic}'`);
      const bytes = recordBytes(record);
      total += bytes;
      const entry = usage.get(record.topic) ?? { topic: record.topic, bytes: 0, records: 0 };
      entry.bytes += bytes;
      entry.records++;
      usage.set(record.topic, entry);
    }
    const rate = who.admit(records.length, total);
    if (!rate.ok)
      throw new ApiError(
        429,
        `key '${who.name}' is over its rate; retry in ${rate.retryAfterSeconds} s`,
        {},
        { 'retry-after': String(rate.retryAfterSeconds) },
      );
    const admission = this.quotas.admitProduce({
      clientId: who.name,
      clientAddress,
      topics: [...usage.values()],
    });
    if (admission.verdict !== 'pass') {
      const seconds = Math.max(1, Math.ceil(admission.throttleMs / 1000));
      throw new ApiError(
        429,
        `over the quota '${admission.quota.name}'; retry in ${seconds} s`,
        {},
        { 'retry-after': String(seconds) },
      );
    }
  }

  context(who: PublisherIdentity, clientAddress: string): ProduceContext {
    return {
      door: 'http',
      clientId: who.name,
      clientAddress,
      acks: -1,
      transactionalId: null,
      apiVersion: -1,
    };
  }
}
