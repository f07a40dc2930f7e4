import type { GatewayConfig } from '../config/gateway-config';
import type { Middleware } from '../pipeline/middleware';
import { nameMatcher } from '../patterns/name-matcher';
import { discoveryMiddleware } from './discovery-middleware';
import { TopicSamples } from './topic-samples';

export interface DiscoveryHooks {
  /** Whether a contract in force describes the topic. */
  described: (topic: string) => boolean;
  /** Kafka's and the gateway's own topics, never sampled. */
  internalTopic: (topic: string) => boolean;
  /** Told the number of topics with samples. */
  onTopics?: (count: number) => void;
}

export interface DiscoverySampling {
  samples: TopicSamples;
  middleware: Middleware;
}

/**
 * Schema discovery as configured: null when it is off, so that no middleware is added and the
 * produce path does not change at all.
 */
export function discoverySampling(
  settings: GatewayConfig['discovery'],
  hooks: DiscoveryHooks,
): DiscoverySampling | null {
  if (!settings.enabled) return null;
  let listed: (topic: string) => boolean;
  try {
    listed = settings.topics.length === 0 ? () => true : nameMatcher(settings.topics);
  } catch (error) {
    throw new Error(`discovery.topics: ${(error as Error).message}`, { cause: error });
  }
  const samples = new TopicSamples(settings, hooks.onTopics);
  const middleware = discoveryMiddleware({
    samples,
    selected: (topic) => !hooks.internalTopic(topic) && listed(topic),
    described: hooks.described,
  });
  return { samples, middleware };
}
