import {
  decodeProduceResponse,
  encodeProduceResponse,
  type ProduceRequest,
} from '../../protocol/messages/generated/produce';
import { readRecordBatches } from '../../protocol/records';
import { ipOfHostPort } from '../../quotas/client-address';
import { PASS, type Admission, type QuotaManager, type TopicUsage } from '../../quotas/quota-manager';
import type { ConnectionContext, RequestRoute } from '../api-handler';
import { decodeResponse, encodeResponse } from './response-codec';

/**
 * From Produce v6 on, the client waits out throttle_time_ms itself (KIP-219): the broker answers
 * at once and only stops reading the connection. Older clients do not, so their response is held.
 */
const FIRST_VERSION_CLIENT_THROTTLES = 6;

export interface ThrottledResponse {
  throttleMs: number;
  /** When the response may reach a client that does not throttle itself (on the quota manager's clock). */
  releaseAt: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Sums a topic's record bytes and, when asked, counts its records from the batch headers. */
function usageOf(
  request: ProduceRequest,
  topicNames: readonly string[],
  countRecords: boolean,
): TopicUsage[] {
  return request.topicData.map((topicData, t) => {
    let bytes = 0;
    let records = 0;
    for (const partition of topicData.partitionData) {
      if (partition.records === null) continue;
      bytes += partition.records.length;
      if (!countRecords) continue;
      try {
        for (const view of readRecordBatches(partition.records))
          records += view.magic === 2 ? view.recordsCount : 1;
      } catch {
        // Unreadable records are the pipeline's or the broker's to refuse; their bytes are charged.
      }
    }
    return { topic: topicNames[t], bytes, records };
  });
}

/**
 * Kafka-native produce throttling, as a broker does it for its own quotas: a request over a
 * quota is forwarded and its response carries throttle_time_ms = max(the broker's, ours).
 * Clients that honour the field (Produce v6+) get the response at once and the connection's next
 * produce request is held until the throttle time has passed, so a client that ignores the field
 * is slowed all the same; older clients get the response only once it has passed.
 */
export class ProduceThrottle {
  /** Until when a connection's produce requests are held (a broker mutes the channel). */
  private readonly mutedUntil = new WeakMap<ConnectionContext, number>();

  constructor(private readonly quotas: QuotaManager) {}

  get active(): boolean {
    return this.quotas.active;
  }

  /** Resolves once the connection may send produce requests again; null when it may now. */
  muted(connection: ConnectionContext): Promise<void> | null {
    const until = this.mutedUntil.get(connection);
    if (until === undefined) return null;
    const remaining = until - this.quotas.now();
    if (remaining <= 0) {
      this.mutedUntil.delete(connection);
      return null;
    }
    return sleep(Math.ceil(remaining));
  }

  admit(
    request: ProduceRequest,
    topicNames: readonly string[],
    clientId: string | null,
    connection: ConnectionContext,
  ): Admission {
    // Without quotas there is nothing to charge: the request's usage is not worth reading.
    if (!this.quotas.active) return PASS;
    return this.quotas.admitProduce({
      clientId,
      clientAddress: ipOfHostPort(connection.clientAddress),
      topics: usageOf(request, topicNames, this.quotas.countsRecords),
    });
  }

  /**
   * A request that was let through is on its way to the broker: its throttle starts now. Returns
   * what its response must carry (handed back to onResponse), or undefined when nothing.
   */
  forwarded(
    connection: ConnectionContext,
    route: RequestRoute,
    acks: number,
    admission: Admission,
  ): ThrottledResponse | undefined {
    if (admission.throttleMs <= 0) return undefined;
    const releaseAt = this.quotas.now() + admission.throttleMs;
    // acks=0 gets no response to carry the throttle time, so holding the connection is all there is.
    if (acks === 0 || route.apiVersion >= FIRST_VERSION_CLIENT_THROTTLES)
      this.mutedUntil.set(connection, Math.max(this.mutedUntil.get(connection) ?? 0, releaseAt));
    if (acks === 0) return undefined;
    return { throttleMs: admission.throttleMs, releaseAt };
  }

  /** The broker's response with the gateway's throttle time in it, when the request was throttled. */
  onResponse(
    payload: Buffer | Promise<Buffer>,
    route: RequestRoute,
    throttled: ThrottledResponse,
  ): Buffer | Promise<Buffer> {
    const rewrite = (frame: Buffer) => this.rewrite(frame, route, throttled);
    return payload instanceof Promise ? payload.then(rewrite) : rewrite(payload);
  }

  private rewrite(
    frame: Buffer,
    route: RequestRoute,
    throttled: ThrottledResponse,
  ): Buffer | Promise<Buffer> {
    const { header, body } = decodeResponse(frame, route, decodeProduceResponse);
    let response = frame;
    if (throttled.throttleMs > body.throttleTimeMs) {
      body.throttleTimeMs = throttled.throttleMs;
      response = encodeResponse(route, header, body, encodeProduceResponse, frame.length + 16);
    }
    if (route.apiVersion >= FIRST_VERSION_CLIENT_THROTTLES) return response;
    const remaining = throttled.releaseAt - this.quotas.now();
    return remaining <= 0 ? response : sleep(Math.ceil(remaining)).then(() => response);
  }
}
