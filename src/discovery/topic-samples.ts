import { Reservoir } from './reservoir';

export interface SampleHeader {
  key: string;
  value: Buffer | null;
}

/** A produced record as kept for inference: its own copy of the bytes, nothing else. */
export interface Sample {
  key: Buffer | null;
  value: Buffer | null;
  headers: SampleHeader[];
}

/** The parts of a produced record sampling reads (the pipeline's buffers are views: copied when kept). */
export interface SampledRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly { key: string; value: Buffer | null }[];
}

export interface SamplingLimits {
  /** Records kept per topic (the reservoir's size). */
  samplesPerTopic: number;
  /** Topics sampled at once; a new one pushes out the topic least recently produced to. */
  maxTopics: number;
  /** A record whose key, value and headers together are larger is not sampled (only counted). */
  maxSampleBytes: number;
}

export interface TopicSampling {
  topic: string;
  /** Records offered, whether kept or not (oversized ones not included). */
  seen: number;
  /** Records kept. */
  sampled: number;
  /** Records too large to sample. */
  oversized: number;
  /** When a record of the topic was last offered. */
  lastSeenAt: string;
}

class TopicReservoir {
  readonly reservoir: Reservoir<Sample>;
  oversized = 0;
  lastSeen = 0;

  constructor(capacity: number) {
    this.reservoir = new Reservoir(capacity);
  }
}

/** Bytes a record takes in a sample. */
function sizeOf(record: SampledRecord): number {
  let size = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const header of record.headers) size += header.key.length + (header.value?.length ?? 0);
  return size;
}

/**
 * A record's bytes copied into one allocation of their own: pooled small buffers (Buffer.from)
 * would each keep a shared 8 KiB slab alive for as long as the sample is kept.
 */
function copyOf(record: SampledRecord, size: number): Sample {
  const bytes = Buffer.allocUnsafeSlow(size);
  let at = 0;
  const take = (part: Buffer | null): Buffer | null => {
    if (part === null) return null;
    part.copy(bytes, at);
    at += part.length;
    return bytes.subarray(at - part.length, at);
  };
  const key = take(record.key);
  const value = take(record.value);
  const headers = record.headers.map((header) => ({ key: header.key, value: take(header.value) }));
  return { key, value, headers };
}

/**
 * Samples of produced records per topic, for schema discovery: a reservoir per topic, at most
 * `maxTopics` topics. What a record costs is one counter and one random number once its topic's
 * reservoir is full (about 40 ns); a copy of its bytes only when it is kept.
 */
export class TopicSamples {
  /** In order of the last record offered: the first is the one to push out. */
  private readonly topics = new Map<string, TopicReservoir>();
  /** The topic last offered a record: already at the young end, so a run of its records moves nothing. */
  private youngest: string | null = null;

  constructor(
    private readonly limits: SamplingLimits,
    /** Told the number of topics with samples whenever it changes. */
    private readonly onTopics: (count: number) => void = () => undefined,
  ) {}

  /** `now` is when the record was produced; callers read the clock once per request, not per record. */
  offer(topic: string, record: SampledRecord, now = Date.now()): void {
    let entry = this.topics.get(topic);
    if (entry === undefined) {
      entry = new TopicReservoir(this.limits.samplesPerTopic);
      if (this.topics.size >= this.limits.maxTopics) {
        this.topics.delete(this.topics.keys().next().value!);
      }
      this.topics.set(topic, entry);
      this.onTopics(this.topics.size);
    } else if (topic !== this.youngest) {
      this.topics.delete(topic);
      this.topics.set(topic, entry);
    }
    this.youngest = topic;
    entry.lastSeen = now;
    const size = sizeOf(record);
    if (size > this.limits.maxSampleBytes) {
      entry.oversized++;
      return;
    }
    const slot = entry.reservoir.offer();
    if (slot >= 0) entry.reservoir.put(slot, copyOf(record, size));
  }

  /** The topics with samples, most recently produced to first. */
  list(): TopicSampling[] {
    return [...this.topics].reverse().map(([topic, entry]) => ({
      topic,
      seen: entry.reservoir.seen,
      sampled: entry.reservoir.items().length,
      oversized: entry.oversized,
      lastSeenAt: new Date(entry.lastSeen).toISOString(),
    }));
  }

  /** The samples of a topic, and what was seen; undefined when the topic has none. */
  get(topic: string): { sampling: TopicSampling; samples: readonly Sample[] } | undefined {
    const entry = this.topics.get(topic);
    if (entry === undefined) return undefined;
    const samples = entry.reservoir.items();
    return {
      sampling: {
        topic,
        seen: entry.reservoir.seen,
        sampled: samples.length,
        oversized: entry.oversized,
        lastSeenAt: new Date(entry.lastSeen).toISOString(),
      },
      samples,
    };
  }
}
