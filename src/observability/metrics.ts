import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Topics beyond this many distinct names share the label value "_other", so series stay bounded. */
const MAX_TOPIC_LABELS = 1000;

/**
 * The gateway's Prometheus metrics (docs/metrics.md lists them). One registry per gateway, so that
 * tests and embedded use do not share global state.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly records: Counter<'topic' | 'outcome'>;
  readonly specsLoaded: Gauge;
  private readonly topics = new Set<string>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.records = new Counter({
      name: 'event_gateway_records_total',
      help: 'Produced records by topic and validation outcome (valid, invalid_tagged, invalid_rejected, unvalidated)',
      labelNames: ['topic', 'outcome'],
      registers: [this.registry],
    });
    this.specsLoaded = new Gauge({
      name: 'event_gateway_specs_loaded',
      help: 'AsyncAPI documents in force',
      registers: [this.registry],
    });
  }

  /** The label value for a topic: its name while fewer than MAX_TOPIC_LABELS names were seen. */
  topicLabel(topic: string): string {
    if (this.topics.has(topic)) return topic;
    if (this.topics.size >= MAX_TOPIC_LABELS) return '_other';
    this.topics.add(topic);
    return topic;
  }

  countRecords(topic: string, outcome: string, count = 1): void {
    this.records.inc({ topic: this.topicLabel(topic), outcome }, count);
  }
}
