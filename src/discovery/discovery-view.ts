import type { Sample, TopicSampling, TopicSamples } from './topic-samples';

/** A sampled topic as GET /discovery/topics lists it: what was seen, and the header names. */
export interface TopicSummary extends TopicSampling {
  headers: string[];
}

export interface TopicView {
  sampling: TopicSampling;
  samples: readonly Sample[];
}

/**
 * What the discovery routes read: this process's samples, or (with `workers` above 1) those of
 * every worker merged, since each worker samples only the connections it serves.
 */
export interface DiscoveryView {
  /** The sampled topics, most recently produced to first. */
  list(): Promise<TopicSummary[]>;
  /** A topic's samples; undefined when no worker has any. */
  get(topic: string): Promise<TopicView | undefined>;
}

/** A topic's samples with their bytes as base64, so that they cross a JSON channel (the cluster's IPC). */
export interface WireTopicView {
  sampling: TopicSampling;
  samples: { key: string | null; value: string | null; headers: { key: string; value: string | null }[] }[];
}

function summaryOf(samples: TopicSamples, sampling: TopicSampling): TopicSummary {
  const names = new Set<string>();
  for (const sample of samples.get(sampling.topic)?.samples ?? [])
    for (const header of sample.headers) names.add(header.key);
  return { ...sampling, headers: [...names] };
}

/** The samples of this process. */
export function localView(samples: TopicSamples): DiscoveryView {
  return {
    list: async () => samples.list().map((sampling) => summaryOf(samples, sampling)),
    get: async (topic) => samples.get(topic),
  };
}

const toBase64 = (bytes: Buffer | null) => (bytes === null ? null : bytes.toString('base64'));
const fromBase64 = (text: string | null) => (text === null ? null : Buffer.from(text, 'base64'));

export function toWire(view: TopicView | undefined): WireTopicView | null {
  if (view === undefined) return null;
  return {
    sampling: view.sampling,
    samples: view.samples.map((sample) => ({
      key: toBase64(sample.key),
      value: toBase64(sample.value),
      headers: sample.headers.map((header) => ({ key: header.key, value: toBase64(header.value) })),
    })),
  };
}

export function fromWire(wire: WireTopicView): TopicView {
  return {
    sampling: wire.sampling,
    samples: wire.samples.map((sample) => ({
      key: fromBase64(sample.key),
      value: fromBase64(sample.value),
      headers: sample.headers.map((header) => ({ key: header.key, value: fromBase64(header.value) })),
    })),
  };
}

/** One topic's sampling over several workers: counts added up, the latest time, header names united. */
function mergeSampling<T extends TopicSampling>(parts: readonly T[]): TopicSampling {
  return {
    topic: parts[0].topic,
    seen: parts.reduce((sum, part) => sum + part.seen, 0),
    sampled: parts.reduce((sum, part) => sum + part.sampled, 0),
    oversized: parts.reduce((sum, part) => sum + part.oversized, 0),
    lastSeenAt: parts.reduce((latest, part) => (part.lastSeenAt > latest ? part.lastSeenAt : latest), ''),
  };
}

/** Every worker's list as one: each topic once, most recently produced to first. */
export function mergeSummaries(lists: readonly (readonly TopicSummary[])[]): TopicSummary[] {
  const byTopic = new Map<string, TopicSummary[]>();
  for (const list of lists)
    for (const summary of list) {
      const parts = byTopic.get(summary.topic);
      if (parts === undefined) byTopic.set(summary.topic, [summary]);
      else parts.push(summary);
    }
  const merged = [...byTopic.values()].map((parts) => ({
    ...mergeSampling(parts),
    headers: [...new Set(parts.flatMap((part) => part.headers))],
  }));
  // ISO 8601 UTC times order as strings.
  return merged.sort((a, b) => (a.lastSeenAt < b.lastSeenAt ? 1 : a.lastSeenAt > b.lastSeenAt ? -1 : 0));
}

/** Every worker's samples of a topic as one: the draft is inferred from all of them. */
export function mergeTopicViews(views: readonly TopicView[]): TopicView | undefined {
  if (views.length === 0) return undefined;
  return {
    sampling: mergeSampling(views.map((view) => view.sampling)),
    samples: views.flatMap((view) => view.samples),
  };
}

/** What each worker gives the others, by name, and reads of it. */
export const DISCOVERY_TOPICS = 'discovery-topics';
export const DISCOVERY_TOPIC = 'discovery-topic';

/**
 * The samples of every worker, read through `gather` (every worker's part of DISCOVERY_TOPICS or
 * DISCOVERY_TOPIC, which each worker provides from its localView).
 */
export function mergedView(gather: (what: string, arg?: string) => Promise<unknown[]>): DiscoveryView {
  return {
    list: async () => mergeSummaries((await gather(DISCOVERY_TOPICS)) as TopicSummary[][]),
    get: async (topic) =>
      mergeTopicViews(((await gather(DISCOVERY_TOPIC, topic)) as WireTopicView[]).map(fromWire)),
  };
}
