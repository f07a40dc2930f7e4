import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { apiKeyInfo } from '../protocol/messages/generated/api-keys';
import type { ConnectionObserver } from './connection-observer';
import { SeriesHistogram, type HistogramSeries } from './series-histogram';

/** Topics beyond this many distinct names share the label value "_other", so series stay bounded. */
const MAX_TOPIC_LABELS = 1000;

/**
 * How often the event loop's delay is sampled for `nodejs_eventloop_lag_*`. prom-client's 10 ms
 * woke an idle gateway 100 times a second, about a third of its idle CPU; a tenth of that still
 * takes 150 samples between two scrapes 15 s apart, and a stall shows as the lateness of the sample
 * it holds up, whatever the interval.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * The gateway's Prometheus metrics (docs/metrics.md lists them). One registry per gateway, so that
 * tests and embedded use do not share global state.
 */
const apiLabel = (apiKey: number): string => apiKeyInfo(apiKey)?.name ?? `unknown_${apiKey & 0x7fff}`;

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly records: Counter<'topic' | 'outcome' | 'door'>;
  readonly specsLoaded: Gauge;
  readonly requests: Counter<'api_key'>;
  /** Observed once per forwarded request: a SeriesHistogram, cheaper per observation than prom-client's. */
  readonly requestDuration: SeriesHistogram;
  readonly bytes: Counter<'direction'>;
  readonly connections: Gauge<'side'>;
  readonly tapClients: Gauge;
  readonly tapDropped: Counter;
  readonly tapRestarts: Counter<'reason'>;
  readonly throttleTime: Histogram<'quota'>;
  readonly throttledRequests: Counter<'quota' | 'action'>;
  readonly connectionsRefused: Counter;
  readonly subscriptionDeliveries: Counter<'subscription' | 'outcome'>;
  readonly subscriptionAttempts: Counter<'subscription' | 'result'>;
  readonly subscriptionLatency: Histogram<'subscription'>;
  readonly subscriptionLag: Gauge<'subscription'>;
  readonly discoveryTopics: Gauge;
  /** Client connections accepted by this worker; only with `workers` above 1. */
  readonly workerConnections: Counter<'worker'> | null;
  readonly schemaRegistryLookups: Counter<'result'>;
  readonly schemaRegistryUnavailable: Counter;
  private readonly topics = new Set<string>();
  private readonly worker: number | undefined;

  /**
   * `worker`: this process's slot when it is one of several workers (`workers: n`); their
   * registries are merged for GET /metrics, so every metric says how it merges (docs/metrics.md).
   */
  constructor(options: { worker?: number } = {}) {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    this.worker = options.worker;
    this.workerConnections =
      options.worker === undefined
        ? null
        : new Counter({
            name: 'event_gateway_worker_connections_total',
            help: 'Client connections accepted, by worker (1..n): how connections spread over workers',
            labelNames: ['worker'],
            registers: [this.registry],
          });
    this.records = new Counter({
      name: 'event_gateway_records_total',
      help: 'Produced records by topic, validation outcome (valid, invalid_tagged, invalid_rejected, invalid_observed, unvalidated, dropped, refused, failed) and door (kafka, http)',
      labelNames: ['topic', 'outcome', 'door'],
      registers: [this.registry],
      collect: () => this.flushRecordCounts(),
    });
    this.requests = new Counter({
      name: 'event_gateway_requests_total',
      help: 'Client requests by Kafka API',
      labelNames: ['api_key'],
      registers: [this.registry],
      collect: () => this.flushProxyCounts(),
    });
    this.requestDuration = new SeriesHistogram(
      'event_gateway_request_duration_seconds',
      'Gateway-to-broker round trip of forwarded requests, by Kafka API',
      'api_key',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      [this.registry],
    );
    this.bytes = new Counter({
      name: 'event_gateway_bytes_total',
      help: 'Bytes proxied, by direction (client_to_broker, broker_to_client)',
      labelNames: ['direction'],
      registers: [this.registry],
      collect: () => this.flushProxyCounts(),
    });
    this.connections = new Gauge({
      name: 'event_gateway_connections',
      help: 'Open connections, by side (client, broker)',
      labelNames: ['side'],
      registers: [this.registry],
    });
    this.tapClients = new Gauge({
      name: 'event_gateway_tap_clients',
      help: 'WebSocket tap clients connected',
      registers: [this.registry],
    });
    this.tapDropped = new Counter({
      name: 'event_gateway_tap_dropped_total',
      help: 'Records not sent to a tap client because it was too slow',
      registers: [this.registry],
    });
    this.tapRestarts = new Counter({
      name: 'event_gateway_tap_restarts_total',
      help: "Restarts of the tap's consumer, by reason (crash, stuck)",
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.throttleTime = new Histogram({
      name: 'event_gateway_throttle_time_seconds',
      help: 'Throttle time given to produce requests over a quota, by the quota that asked for the longest',
      labelNames: ['quota'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.throttledRequests = new Counter({
      name: 'event_gateway_throttled_requests_total',
      help: 'Produce requests over a quota, by quota and action (delayed, rejected)',
      labelNames: ['quota', 'action'],
      registers: [this.registry],
    });
    this.schemaRegistryUnavailable = new Counter({
      name: 'event_gateway_schema_registry_unavailable_total',
      help: 'Record schema ids that could not be resolved because the schema registry could not be asked',
      registers: [this.registry],
    });
    this.connectionsRefused = new Counter({
      name: 'event_gateway_connections_refused_total',
      help: 'Client connections refused because their address had throttle.maxConnectionsPerAddress open',
      registers: [this.registry],
    });
    this.subscriptionDeliveries = new Counter({
      name: 'event_gateway_subscription_deliveries_total',
      help: 'Records a subscription is done with, by outcome (delivered, dead_lettered)',
      labelNames: ['subscription', 'outcome'],
      registers: [this.registry],
    });
    this.subscriptionAttempts = new Counter({
      name: 'event_gateway_subscription_attempts_total',
      help: 'Requests sent to subscription targets, by result (2xx, 3xx, 4xx, 5xx, timeout, unreachable, refused)',
      labelNames: ['subscription', 'result'],
      registers: [this.registry],
    });
    this.subscriptionLatency = new Histogram({
      name: 'event_gateway_subscription_delivery_latency_seconds',
      help: "From a record's timestamp to its target's 2xx answer",
      labelNames: ['subscription'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: [this.registry],
    });
    this.subscriptionLag = new Gauge({
      name: 'event_gateway_subscription_lag',
      help: 'Records not yet delivered in the partitions this instance delivers, by subscription (sum over instances for the total)',
      labelNames: ['subscription'],
      registers: [this.registry],
    });
    this.specsLoaded = new Gauge({
      name: 'event_gateway_specs_loaded',
      help: 'AsyncAPI documents in force',
      // Every worker holds the same specs: merged workers report one gateway's count, not n times it.
      aggregator: 'max',
      registers: [this.registry],
    });
    this.discoveryTopics = new Gauge({
      name: 'event_gateway_discovery_topics',
      help: 'Topics with samples for schema discovery (at most discovery.maxTopics)',
      // Each worker samples the connections it serves; the largest count stands for the gateway.
      aggregator: 'max',
      registers: [this.registry],
    });
    this.schemaRegistryLookups = new Counter({
      name: 'event_gateway_schema_registry_lookups_total',
      help: 'Schema id lookups, by result (cached, or from the registry: found, unknown, unavailable)',
      labelNames: ['result'],
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

  /**
   * Records counted since the last scrape, by door, topic label and outcome. Counted once per
   * produce request on the Kafka door: plain adds, moved into the counter when it is read, as the
   * request counts are. The topic label is taken when counting, so the map holds no more topics
   * than the counter's series do.
   */
  private readonly pendingRecords = {
    kafka: new Map<string, Map<string, number>>(),
    http: new Map<string, Map<string, number>>(),
  };

  countRecords(topic: string, outcome: string, count = 1, door: 'kafka' | 'http' = 'kafka'): void {
    const byTopic = this.pendingRecords[door];
    const label = this.topicLabel(topic);
    let byOutcome = byTopic.get(label);
    if (byOutcome === undefined) byTopic.set(label, (byOutcome = new Map()));
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + count);
  }

  private flushRecordCounts(): void {
    for (const door of ['kafka', 'http'] as const) {
      const byTopic = this.pendingRecords[door];
      for (const [topic, byOutcome] of byTopic) {
        for (const [outcome, count] of byOutcome) this.records.inc({ topic, outcome, door }, count);
      }
      byTopic.clear();
    }
  }

  /**
   * Requests and bytes counted by the proxy since the last scrape, by API key slot (256: keys
   * beyond the table). A prom-client counter hashes its labels on every increment; these are
   * plain adds on the path of every request and read, moved into the counters when they are read.
   */
  private readonly pendingRequests = new Float64Array(257);
  private pendingUpstreamBytes = 0;
  private pendingDownstreamBytes = 0;

  private flushProxyCounts(): void {
    const pending = this.pendingRequests;
    for (let slot = 0; slot < pending.length; slot++) {
      if (pending[slot] === 0) continue;
      this.requests.inc({ api_key: slot === 256 ? 'unknown' : apiLabel(slot) }, pending[slot]);
      pending[slot] = 0;
    }
    if (this.pendingUpstreamBytes > 0)
      this.bytes.inc({ direction: 'client_to_broker' }, this.pendingUpstreamBytes);
    if (this.pendingDownstreamBytes > 0)
      this.bytes.inc({ direction: 'broker_to_client' }, this.pendingDownstreamBytes);
    this.pendingUpstreamBytes = 0;
    this.pendingDownstreamBytes = 0;
  }

  /** The observer every proxied connection reports to. */
  connectionObserver(): ConnectionObserver {
    const durations: HistogramSeries[] = [];
    const clients = this.connections.labels('client');
    const brokers = this.connections.labels('broker');
    const accepted = this.workerConnections?.labels(String(this.worker)) ?? null;
    const pendingRequests = this.pendingRequests;
    return {
      opened() {
        clients.inc();
        brokers.inc();
        accepted?.inc();
      },
      closed() {
        clients.dec();
        brokers.dec();
      },
      request: (apiKey) => {
        // Unknown keys beyond the table share one series each; a client cannot mint unbounded labels.
        pendingRequests[apiKey >= 0 && apiKey < 256 ? apiKey : 256]++;
      },
      brokerResponse: (apiKey, seconds) => {
        const slot = apiKey >= 0 && apiKey < 256 ? apiKey : 256;
        (durations[slot] ??= this.requestDuration.of(slot === 256 ? 'unknown' : apiLabel(apiKey))).observe(
          seconds,
        );
      },
      bytes: (direction, count) => {
        if (direction === 'client_to_broker') this.pendingUpstreamBytes += count;
        else this.pendingDownstreamBytes += count;
      },
    };
  }
}
