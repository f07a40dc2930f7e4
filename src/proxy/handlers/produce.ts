import { ErrorCode } from '../../protocol/error-codes';
import { withApi } from '../../protocol/messages/runtime';
import { decodeRequestHeader, type RequestHeader } from '../../protocol/headers';
import {
  decodeProduceRequest,
  encodeProduceRequest,
  type ProduceRequest,
} from '../../protocol/messages/generated/produce';
import { produceResponseLayout } from '../../protocol/response-layouts';
import { Reader, Writer } from '../../protocol/primitives';
import { ProduceRecordCounter } from '../../protocol/produce-record-counter';
import { PRODUCE_VERSIONS, readProduceAcks, readSoleTopic } from '../../protocol/produce-wire';
import type { ProduceContext } from '../../pipeline/middleware';
import type { PartitionRejection, Pipeline, PipelineOutcome, RecordTally } from '../../pipeline/pipeline';
import type {
  ApiHandler,
  ConnectionContext,
  RequestDecision,
  RequestRoute,
  RequestWatch,
} from '../api-handler';
import type { ProduceTrace, ProduceTracing } from '../../pipeline/produce-tracing';
import type { AddressBook } from './address-book';
import { sizedFrame, type SizedFrame } from '../frame-reader';
import { tailEndpointsHandler } from './node-endpoints';
import { answerEmptied, emptiedAnswers, removeEmptied, type LocalAnswer } from './produce-emptied';
import { describeRejection, produceRefusal, produceRejection } from './produce-rejection';
import { spliceRecords } from './produce-splice';
import { ProduceThrottle, type ThrottledResponse } from './produce-throttle';
import type { Admission, QuotaManager } from '../../quotas/quota-manager';

const FORWARD_WITH_RESPONSE: RequestDecision = Object.freeze({ action: 'forward', expectResponse: true });
const FORWARD_WITHOUT_RESPONSE: RequestDecision = Object.freeze({ action: 'forward', expectResponse: false });
/** Forwards of requests read no further than their head, of which the handler keeps nothing. */
const PASS_WITH_RESPONSE: RequestDecision = Object.freeze({
  action: 'forward',
  expectResponse: true,
  holdsNothing: true,
});
const PASS_WITHOUT_RESPONSE: RequestDecision = Object.freeze({
  action: 'forward',
  expectResponse: false,
  holdsNothing: true,
});
const NOTHING_TO_CHANGE: PipelineOutcome = { rejections: [], replacements: [], emptied: [], tally: [] };

/** Reports the records of a request passing upstream as unvalidated once it has passed whole. */
function recordCounting(version: number, topic: string, observer: ProduceObserver): RequestWatch {
  const counter = new ProduceRecordCounter(version);
  let readable = true;
  return {
    take(bytes) {
      if (!readable) return;
      try {
        counter.push(bytes);
      } catch {
        readable = false; // not a request the broker will take either; nothing to count
      }
    },
    finish() {
      if (readable && counter.complete && counter.records > 0)
        observer.counted?.([{ topic, outcome: 'unvalidated', count: counter.records }]);
    },
  };
}

/** Observes what the produce path decided (metrics and logs). */
export interface ProduceObserver {
  rejected?(
    context: ProduceContext,
    topic: string,
    partition: number,
    rejection: PartitionRejection,
    description: string,
  ): void;
  /** What became of the records of a request the pipeline looked at (the records metric). */
  counted?(tally: readonly RecordTally[]): void;
}

export interface ProduceHandlerOptions {
  book: AddressBook;
  /** When set, every produce request gets a span (ended when the broker answers). */
  tracing?: ProduceTracing;
  /** The pipeline in force for the next request (it can be swapped at run time). */
  pipeline: () => Pipeline;
  observer?: ProduceObserver;
  /** Produce quotas: requests over one are throttled (or refused, for hard limits). */
  quotas?: QuotaManager;
}

/** What a forwarded produce request hands to its response. */
interface ProduceExchange {
  trace?: ProduceTrace;
  traceOutcome: string;
  /** Partitions the gateway took out of the request and answers itself. */
  emptied?: LocalAnswer[];
  throttled?: ThrottledResponse;
}

/** The request with its records replaced; the header travels as the producer's own bytes. */
function reencodeRequest(
  frame: Buffer,
  header: RequestHeader,
  request: ProduceRequest,
  route: RequestRoute,
  outcome: PipelineOutcome,
): SizedFrame {
  if (outcome.emptied === undefined || outcome.emptied.length === 0) {
    const spliced = spliceRecords(frame, request, route.apiVersion, outcome.replacements);
    if (spliced !== undefined) return spliced;
  }
  // Sized for the new records (plus room for their length varints), so the encode never regrows.
  let size = frame.length + 64;
  for (const replacement of outcome.replacements) {
    const partition = request.topicData[replacement.topicIndex].partitionData[replacement.partitionIndex];
    size += replacement.records.length - (partition.records?.length ?? 0);
    partition.records = replacement.records.toBuffer();
  }
  if (outcome.emptied !== undefined) removeEmptied(request, outcome.emptied);
  const writer = new Writer(size + 4);
  const sizeAt = writer.reserveInt32();
  writer.raw(frame.subarray(0, header.bodyOffset));
  encodeProduceRequest(writer, request, route.apiVersion);
  return sizedFrame(writer, sizeAt);
}

/**
 * Produce requests go through the middleware pipeline: records of topics some middleware wants are
 * decoded and judged; the request is forwarded as it came, forwarded with re-encoded batches, or
 * answered by the gateway with the reasons it was refused. acks=0 requests get no response from
 * the broker, so none is awaited (and a refused one closes the connection, as a broker does).
 */
export function produceHandler(options: ProduceHandlerOptions): ApiHandler {
  const { book, observer } = options;
  const throttle = options.quotas === undefined ? undefined : new ProduceThrottle(options.quotas);
  const rewriteEndpoints = tailEndpointsHandler(
    book,
    produceResponseLayout,
    PRODUCE_VERSIONS.firstWithNodeEndpoints,
  );
  /**
   * Forwards, as they come, requests nothing will read: every request when no middleware is
   * configured, and a request for one topic that no middleware wants (its records are only
   * counted, from batch headers, as they go by). Undefined when the request must be read whole: a
   * throttle applies; tracing is on (a span names every topic); it is for several topics (later
   * names come after the first topic's records); or `payload` ends before it can tell.
   */
  const passUnread = (
    payload: Buffer,
    route: RequestRoute,
    connection: ConnectionContext,
  ): RequestDecision | undefined => {
    if (throttle?.active === true || throttle?.muted(connection)) return undefined;
    const reader = new Reader(payload);
    let acks: number;
    try {
      acks = readProduceAcks(reader, route.apiVersion);
    } catch {
      return undefined; // too short to reach acks: decided once the request is whole
    }
    const forward = acks === 0 ? PASS_WITHOUT_RESPONSE : PASS_WITH_RESPONSE;
    const pipeline = options.pipeline();
    if (pipeline.empty) return forward;
    if (options.tracing !== undefined) return undefined;
    const topic = readSoleTopic(reader, route.apiVersion, book);
    if (topic === undefined || pipeline.wants(topic)) return undefined;
    if (!pipeline.countsRecords || observer?.counted === undefined) return forward;
    return {
      action: 'forward',
      expectResponse: acks !== 0,
      watch: recordCounting(route.apiVersion, topic, observer),
    };
  };
  const handler: ApiHandler = {
    onRequestHead(head, route, connection) {
      return passUnread(head.subarray(4), route, connection);
    },
    onRequest(frame, route, connection) {
      // A throttled connection's next request waits, as a broker stops reading a throttled channel.
      const muted = throttle?.muted(connection);
      if (muted) return muted.then(() => handler.onRequest!(frame, route, connection));
      const unread = passUnread(frame, route, connection);
      if (unread !== undefined) return unread;
      const pipeline = options.pipeline();

      let header: RequestHeader;
      let request: ProduceRequest;
      try {
        const reader = new Reader(frame);
        header = decodeRequestHeader(reader);
        request = decodeProduceRequest(reader, route.apiVersion);
      } catch (error) {
        throw withApi(error, route.apiKey, route.apiVersion);
      }
      connection.clientId = header.clientId;
      const topicNames: string[] = [];
      const unknownIds: PartitionRejection[] = [];
      request.topicData.forEach((topicData, t) => {
        if (route.apiVersion < PRODUCE_VERSIONS.firstWithTopicIds) {
          topicNames.push(topicData.name);
          return;
        }
        const name = book.topicName(topicData.topicId);
        topicNames.push(name ?? topicData.topicId);
        if (name === undefined) {
          topicData.partitionData.forEach((_, p) =>
            unknownIds.push({
              topicIndex: t,
              partitionIndex: p,
              errorCode: ErrorCode.UnknownTopicId,
              records: [
                {
                  index: 0,
                  message: `topic id ${topicData.topicId} is unknown to the gateway; refresh metadata and retry`,
                },
              ],
            }),
          );
        }
      });
      const context: ProduceContext = {
        door: 'kafka',
        clientId: header.clientId,
        clientAddress: connection.clientAddress,
        acks: request.acks,
        transactionalId: request.transactionalId,
        apiVersion: route.apiVersion,
      };
      const trace = options.tracing?.begin(topicNames, context);
      if (unknownIds.length > 0) return refuse(route, request, topicNames, unknownIds, context);
      const admission = throttle?.admit(request, topicNames, header.clientId, connection);
      if (admission?.verdict === 'reject') return refuseOverQuota(route, request, context, admission);

      const outcome = pipeline.empty ? NOTHING_TO_CHANGE : pipeline.run(request, topicNames, context);
      const decide = (settled: PipelineOutcome): RequestDecision => {
        if (settled.tally.length > 0) observer?.counted?.(settled.tally);
        if (settled.rejections.length > 0)
          return refuse(route, request, topicNames, settled.rejections, context);
        const expectResponse = request.acks !== 0;
        const throttled =
          admission === undefined
            ? undefined
            : throttle!.forwarded(connection, route, request.acks, admission);
        const unchanged = settled.replacements.length === 0 && (settled.emptied?.length ?? 0) === 0;
        const traceOutcome = unchanged ? 'forwarded' : 'forwarded_modified';
        if (!expectResponse) trace?.end(traceOutcome);
        const emptied =
          expectResponse && settled.emptied !== undefined && settled.emptied.length > 0
            ? emptiedAnswers(request, settled.emptied)
            : undefined;
        const exchange: ProduceExchange | undefined =
          expectResponse && (trace !== undefined || emptied !== undefined || throttled !== undefined)
            ? { trace, traceOutcome, emptied, throttled }
            : undefined;
        if (unchanged && exchange === undefined) {
          return expectResponse ? FORWARD_WITH_RESPONSE : FORWARD_WITHOUT_RESPONSE;
        }
        if (unchanged) return { action: 'forward', expectResponse, exchange };
        return {
          action: 'forward',
          frame: reencodeRequest(frame, header, request, route, settled),
          expectResponse,
          exchange,
        };
      };
      return outcome instanceof Promise ? outcome.then(decide) : decide(outcome);
    },
    onResponse(frame, route, connection, exchange) {
      const produced = exchange as ProduceExchange | undefined;
      produced?.trace?.end(produced.traceOutcome);
      const answered =
        produced?.emptied === undefined ? frame : answerEmptied(frame, route, produced.emptied);
      const rewritten = rewriteEndpoints.onResponse!(answered, route, connection);
      return produced?.throttled === undefined
        ? rewritten
        : throttle!.onResponse(rewritten, route, produced.throttled);
    },
  };
  return handler;

  /** A hard quota is exhausted: the whole request is refused with THROTTLING_QUOTA_EXCEEDED. */
  function refuseOverQuota(
    route: RequestRoute,
    request: ProduceRequest,
    context: ProduceContext,
    admission: Extract<Admission, { verdict: 'reject' }>,
  ): RequestDecision {
    options.tracing?.traceOf(context)?.end('rejected', admission.reason);
    if (request.acks === 0) {
      return {
        action: 'close',
        reason: `refused an acks=0 produce request over the quota '${admission.quota.name}'`,
      };
    }
    return {
      action: 'respond',
      response: produceRefusal(
        route,
        request,
        ErrorCode.ThrottlingQuotaExceeded,
        admission.reason,
        admission.throttleMs,
      ),
    };
  }

  function refuse(
    route: RequestRoute,
    request: ProduceRequest,
    topicNames: string[],
    rejections: PartitionRejection[],
    context: ProduceContext,
  ): RequestDecision {
    const descriptions = rejections.map((rejection) => {
      const topic = topicNames[rejection.topicIndex];
      const partition = request.topicData[rejection.topicIndex].partitionData[rejection.partitionIndex].index;
      const description = describeRejection(rejection, topic, partition);
      observer?.rejected?.(context, topic, partition, rejection, description);
      return description;
    });
    options.tracing?.traceOf(context)?.end('rejected', descriptions[0]);
    if (request.acks === 0) {
      return {
        action: 'close',
        reason: 'refused an acks=0 produce request (the producer cannot be told why)',
      };
    }
    return { action: 'respond', response: produceRejection(route, request, topicNames, rejections) };
  }
}
