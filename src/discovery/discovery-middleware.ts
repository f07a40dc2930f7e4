import type { Middleware, ProduceContext } from '../pipeline/middleware';
import type { TopicSamples } from './topic-samples';

export interface DiscoveryMiddlewareOptions {
  samples: TopicSamples;
  /** Whether the configuration asks for the topic to be sampled. */
  selected: (topic: string) => boolean;
  /** Whether a contract in force describes the topic: such topics are not sampled. */
  described: (topic: string) => boolean;
}

/** Topic names decided once; a client making up names only ever costs a cleared cache. */
const MAX_REMEMBERED = 10_000;

/**
 * Samples the records of undescribed topics for schema discovery. It never judges a record, so
 * it never changes what is forwarded; `wants` keeps the topics it does not sample undecoded. It
 * runs after the configured middlewares: records they drop are not seen.
 */
export function discoveryMiddleware(options: DiscoveryMiddlewareOptions): Middleware {
  const { samples, selected, described } = options;
  const remembered = new Map<string, boolean>();
  const isSelected = (topic: string): boolean => {
    let answer = remembered.get(topic);
    if (answer === undefined) {
      if (remembered.size >= MAX_REMEMBERED) remembered.clear();
      answer = selected(topic);
      remembered.set(topic, answer);
    }
    return answer;
  };
  // Both doors make one context per request: the clock is read once per request, since a clock
  // read costs several times what sampling a record does.
  let lastContext: ProduceContext | null = null;
  let now = 0;
  return {
    name: 'discovery',
    wants: (topic) => isSelected(topic) && !described(topic),
    // Refused records are sampled too: they are what producers send, and with
    // topicsWithoutSpec: reject every record of an undescribed topic is refused.
    onRecord(record, _verdict, context) {
      if (context !== lastContext) {
        lastContext = context;
        now = Date.now();
      }
      samples.offer(record.topic, record, now);
    },
  };
}
