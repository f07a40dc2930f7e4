import { ApiKey } from '../../protocol/messages/generated/api-keys';
import {
  decodeShareAcknowledgeResponse,
  encodeShareAcknowledgeResponse,
} from '../../protocol/messages/generated/share-acknowledge';
import {
  decodeShareFetchResponse,
  encodeShareFetchResponse,
} from '../../protocol/messages/generated/share-fetch';
import { fetchResponseLayout } from '../../protocol/response-layouts';
import type { ApiHandler, ApiHandlers } from '../api-handler';
import type { AddressBook } from './address-book';
import { apiVersionsHandler } from './api-versions';
import { describeClusterHandler } from './describe-cluster';
import { findCoordinatorHandler } from './find-coordinator';
import { metadataHandler } from './metadata';
import { nodeEndpointsHandler, tailEndpointsHandler } from './node-endpoints';
import { produceHandler, type ProduceObserver } from './produce';
import { Pipeline } from '../../pipeline/pipeline';
import type { ProduceTracing } from '../../pipeline/produce-tracing';
import type { QuotaManager } from '../../quotas/quota-manager';

export type { AddressBook } from './address-book';

export interface ApiHandlerOptions {
  /** The produce pipeline in force; asked per request so that it can be replaced at run time. */
  pipeline?: () => Pipeline;
  produceObserver?: ProduceObserver;
  tracing?: ProduceTracing;
  /** Produce quotas (throttling); none when absent. */
  quotas?: QuotaManager;
  /** Replaces the handler of an API key (tests, extensions). */
  overrides?: Partial<Record<number, ApiHandler>>;
}

const NO_MIDDLEWARES = new Pipeline([]);

/** The APIs the gateway looks into; every other API key travels byte for byte. */
export function createApiHandlers(book: AddressBook, options: ApiHandlerOptions = {}): ApiHandlers {
  const handlers: (ApiHandler | undefined)[] = [];
  handlers[ApiKey.ApiVersions] = apiVersionsHandler();
  handlers[ApiKey.Metadata] = metadataHandler(book);
  handlers[ApiKey.FindCoordinator] = findCoordinatorHandler(book);
  handlers[ApiKey.DescribeCluster] = describeClusterHandler(book);
  handlers[ApiKey.Produce] = produceHandler({
    book,
    pipeline: options.pipeline ?? (() => NO_MIDDLEWARES),
    observer: options.produceObserver,
    tracing: options.tracing,
    quotas: options.quotas,
  });
  handlers[ApiKey.Fetch] = tailEndpointsHandler(book, fetchResponseLayout, 16);
  handlers[ApiKey.ShareFetch] = nodeEndpointsHandler(
    book,
    decodeShareFetchResponse,
    encodeShareFetchResponse,
  );
  handlers[ApiKey.ShareAcknowledge] = nodeEndpointsHandler(
    book,
    decodeShareAcknowledgeResponse,
    encodeShareAcknowledgeResponse,
  );
  for (const [key, handler] of Object.entries(options.overrides ?? {})) handlers[Number(key)] = handler;
  return handlers;
}
