import type { SpecStore } from '../asyncapi/spec-store';

/** One entry of `ingest.cloudEvents.routes`. */
export interface CloudEventRoute {
  /** An exact type, or a prefix followed by `*`. */
  type: string;
  topic: string;
}

export type RouteDecision = { topic: string } | { error: string };

const QUOTE_LIMIT = 200;

interface CompiledRoute {
  exact: boolean;
  /** The whole type when exact, else the prefix before the `*`. */
  text: string;
  topic: string;
}

/**
 * Decides which topic a CloudEvents type is written to: the configured table first, in order,
 * then the AsyncAPI contracts. The contracts are asked on every call, so routing follows a spec
 * the moment the store swaps it in.
 */
export class CloudEventRouter {
  private readonly routes: CompiledRoute[];

  constructor(
    routes: readonly CloudEventRoute[],
    private readonly specs: Pick<SpecStore, 'topicsForEventType'>,
  ) {
    this.routes = routes.map(({ type, topic }) =>
      type.endsWith('*')
        ? { exact: false, text: type.slice(0, -1), topic }
        : { exact: true, text: type, topic },
    );
  }

  route(type: string): RouteDecision {
    for (const route of this.routes) {
      if (route.exact ? type === route.text : type.startsWith(route.text)) return { topic: route.topic };
    }
    const topics = this.specs.topicsForEventType(type);
    if (topics.length === 1) return { topic: topics[0] };
    // A type can be as long as the body allows; the answer names it without echoing all of it.
    const named = JSON.stringify(type.length > QUOTE_LIMIT ? `${type.slice(0, QUOTE_LIMIT)}…` : type);
    if (topics.length === 0) {
      return {
        error:
          `no topic for CloudEvents type ${named}: no ingest.cloudEvents.routes entry matches it and ` +
          'no AsyncAPI contract declares a message of that type',
      };
    }
    return {
      error:
        `CloudEvents type ${named} is ambiguous: contracts declare it on topics ${topics.map((t) => `'${t}'`).join(', ')}; ` +
        'add an ingest.cloudEvents.routes entry to choose one',
    };
  }
}
