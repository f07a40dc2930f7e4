import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SpecStore } from './asyncapi/spec-store';
import { decodeBinaryValue, hasBinaryValues } from './asyncapi/binary-view';
import type { GatewayConfig } from './config/gateway-config';
import { configuredTokens, isLoopback, resolveConfig } from './config/load-config';
import { AccessControl } from './http/access';
import { HttpServer } from './http/http-server';
import { registerHealthRoutes } from './http/health-routes';
import { registerSpecRoutes, SPEC_KIND, type StoredSpec } from './http/spec-routes';
import { registerPatternRoutes } from './http/pattern-routes';
import { registerThrottleRoutes, THROTTLE_ID, THROTTLE_KIND } from './http/throttle-routes';
import { registerBrokerRoutes } from './http/broker-routes';
import { findConsoleAssets, registerConsoleRoutes } from './console/console-routes';
import { createKafkaClient } from './kafka/kafka-client';
import { Publisher } from './ingest/publisher';
import { PublishGate } from './ingest/publish-gate';
import { OPEN_DOOR } from './ingest/publisher-auth';
import { registerRestV3Routes } from './ingest/rest-v3-routes';
import { Cors } from './ingest/cors';
import { CloudEventRouter } from './ingest/cloudevent-router';
import { registerCloudEventsRoutes } from './ingest/cloudevents-routes';
import { ApiKeys } from './ingest/api-keys';
import { registerApiKeyRoutes } from './ingest/api-key-routes';
import { Subscriptions } from './subscriptions/subscriptions';
import { registerSubscriptionRoutes } from './subscriptions/subscription-routes';
import { registerSyncRoutes } from './subscriptions/sync-routes';
import { SecretBox } from './subscriptions/secret-box';
import { TargetPolicy } from './subscriptions/target-policy';
import { KafkaStateLog } from './state/kafka-state-log';
import { MemoryStateLog } from './state/memory-state-log';
import type { StateEntry } from './state/state-ledger';
import { StateStore } from './state/state-store';
import { TapConsumer } from './tap/tap-consumer';
import { headerList } from './http/tap/tap-record';
import { TapServer } from './http/tap/tap-server';
import { createLogger, type Logger } from './observability/logger';
import { GatewayMetrics } from './observability/metrics';
import { GATEWAY_VERSION } from './observability/gateway-version';
import { ProduceTracing } from './pipeline/produce-tracing';
import { createTracer } from './observability/tracer';
import type { Tracer } from '@opentelemetry/api';
import { RateLimitedLog } from './observability/rate-limited-log';
import { loadMiddlewares } from './pipeline/load-middlewares';
import { builtinMiddlewares } from './pipeline/builtin-middlewares';
import { createSchemaRegistryClient } from './registry/schema-registry-client';
import { SchemaRegistries } from './serdes/schema-registries';
import { Pipeline } from './pipeline/pipeline';
import { QuotaManager } from './quotas/quota-manager';
import { observes, type ObservedObserver, type TaggedObserver } from './pipeline/validation-middleware';
import { validateRecord } from './asyncapi/record-validator';
import { fetchClusterMetadata } from './proxy/cluster-metadata';
import { discoverySampling } from './discovery/discovery-sampling';
import { registerDiscoveryRoutes } from './discovery/discovery-routes';
import { DISCOVERY_TOPIC, DISCOVERY_TOPICS, localView, mergedView, toWire } from './discovery/discovery-view';
import { Gateway } from './proxy/gateway';
import type { FrameTap } from './proxy/proxy-connection';
import { createApiHandlers } from './proxy/handlers';
import type { ProduceObserver } from './proxy/handlers/produce';
import { ClusterWorker } from './cluster/cluster-worker';
import { resolveWorkerCount } from './cluster/worker-count';
import { WORKER_SLOT_ENV, WorkerSupervisor } from './cluster/worker-supervisor';

export interface RunningGateway {
  gateway: Gateway;
  http: HttpServer;
  specs: SpecStore;
  metrics: GatewayMetrics;
  /** Produce quotas and connection limits in force (PUT /throttle replaces them). */
  quotas: QuotaManager;
  /** The consumer behind the WebSocket tap; null when no topic is mirrored. */
  tap: TapConsumer | null;
  logger: Logger;
  stop(): Promise<void>;
}

/** Loads the spec files named in the configuration; a broken one stops the start with its diagnostics. */
async function loadSpecFiles(store: SpecStore, config: GatewayConfig, logger: Logger): Promise<void> {
  for (const entry of config.asyncapi.specs) {
    const file = typeof entry === 'string' ? entry : entry.file;
    const id =
      (typeof entry === 'string' ? undefined : entry.id) ??
      path.basename(file).replace(/\.(ya?ml|json)$/i, '');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`asyncapi.specs: cannot read ${file}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const { summary } = await store.put(id, text, 'file');
      logger.info({ spec: id, file, channels: summary.channels.map((c) => c.topic) }, 'AsyncAPI spec loaded');
    } catch (error) {
      throw new Error(`asyncapi.specs: ${file}: ${(error as Error).message}`, { cause: error });
    }
  }
}

export interface StartOptions {
  /** Overrides the configured tracer (tests use an in-memory exporter). */
  tracer?: Tracer;
  /** Sees every frame the gateway proxies (fixture capture, debugging tools). */
  frameTap?: FrameTap;
  /** Set when this process is one of `workers: n`: metrics are merged across workers, quotas divided. */
  worker?: ClusterWorker;
}

/** Wires the parts together and starts listening; used by the CLI and by tests. */
export async function startGateway(
  config: GatewayConfig,
  logger = createLogger(config.logging.level),
  options: StartOptions = {},
): Promise<RunningGateway> {
  const worker = options.worker;
  const metrics = new GatewayMetrics({ worker: worker?.slot });
  worker?.listen(metrics.registry);
  const specs = new SpecStore();
  specs.onChange(() => metrics.specsLoaded.set(specs.size()));
  await loadSpecFiles(specs, config, logger);

  const invalidLog = new RateLimitedLog(logger);
  const logTagged: TaggedObserver = (record, context, errors) => {
    invalidLog.warn(
      `tagged:${context.clientId}:${record.topic}`,
      {
        clientId: context.clientId,
        client: context.clientAddress,
        topic: record.topic,
        partition: record.partition,
        errors,
      },
      'invalid record forwarded with a validation error header',
    );
  };
  const logObserved: ObservedObserver = (record, context, errors) => {
    invalidLog.warn(
      `observed:${context.clientId}:${record.topic}`,
      {
        clientId: context.clientId,
        client: context.clientAddress,
        topic: record.topic,
        partition: record.partition,
        errors,
      },
      'invalid record forwarded unchanged: its channel is in observe mode',
    );
  };
  const observeProduce: ProduceObserver = {
    counted(tally) {
      for (const { topic, outcome, count } of tally) metrics.countRecords(topic, outcome, count);
    },
    rejected(context, topic, partition, rejection, description) {
      invalidLog.warn(
        `rejected:${context.clientId}:${topic}`,
        {
          clientId: context.clientId,
          client: context.clientAddress,
          topic,
          partition,
          errorCode: rejection.errorCode,
          reason: description,
        },
        'produce request refused',
      );
    },
  };
  const registryConfig = config.schemaRegistry;
  const registries =
    registryConfig.url !== undefined || registryConfig.fromSpecs
      ? new SchemaRegistries(
          registryConfig,
          (url, vendor) =>
            createSchemaRegistryClient({
              url,
              vendor: vendor === 'apicurio' ? 'apicurio' : 'confluent',
              timeoutMs: registryConfig.timeoutMs,
              cacheSize: registryConfig.cacheSize,
              refreshMs: registryConfig.refreshMs,
              unknownTtlMs: registryConfig.unknownTtlMs,
              logger,
              lookups: metrics.schemaRegistryLookups,
            }),
          (reason) => {
            metrics.schemaRegistryUnavailable.inc();
            invalidLog.warn('schema-registry', { reason }, 'schema registry unavailable');
          },
        )
      : undefined;
  const tracer = options.tracer
    ? { tracer: options.tracer, shutdown: async () => undefined }
    : createTracer(config.tracing);
  const tracing = config.tracing.enabled
    ? new ProduceTracing({ tracer: tracer.tracer, inject: config.tracing.injectTraceparent })
    : undefined;
  const configured = await loadMiddlewares(
    config.pipeline.middlewares,
    builtinMiddlewares({
      specs,
      validation: { ...config.asyncapi, registries, registryUnavailable: config.schemaRegistry.unavailable },
      onTagged: logTagged,
      onObserved: logObserved,
    }),
    { logger },
  );
  // `_` starts Kafka's own topics (__consumer_offsets, __transaction_state) and the gateway's.
  const internalTopic = (topic: string) => topic.startsWith('_') || topic === config.state.topic;
  const discovery = discoverySampling(config.discovery, {
    described: (topic) => specs.contracts().lookup(topic) !== undefined,
    internalTopic,
    onTopics: (count) => metrics.discoveryTopics.set(count),
  });
  // Tracing reads every record's trace context, so it runs first and sees every topic; discovery
  // runs last, seeing what the configured middlewares let through.
  const middlewares = [
    ...(tracing ? [tracing.middleware()] : []),
    ...configured,
    ...(discovery ? [discovery.middleware] : []),
  ];
  const pipeline = new Pipeline(middlewares, {
    contractFor: (topic) => specs.contracts().lookup(topic),
    maxDecompressedBytes: config.pipeline.maxDecompressedBytes,
    tallyRecords: true,
  });

  const throttleLog = new RateLimitedLog(logger);
  const quotas = new QuotaManager(config.throttle, {
    workers: worker?.workers,
    observer: {
      exceeded(quota, entity, action, throttleMs) {
        metrics.throttledRequests.inc({ quota: quota.name, action });
        if (action === 'rejected') {
          throttleLog.warn(
            `quota:${quota.name}:${entity}`,
            { quota: quota.name, kind: quota.kind, entity, throttleMs },
            'produce request refused: hard quota exhausted',
          );
        }
      },
      delayed: (quota, throttleMs) => metrics.throttleTime.observe({ quota: quota.name }, throttleMs / 1000),
      connectionRefused(address, limit) {
        metrics.connectionsRefused.inc();
        throttleLog.warn(
          `connections:${address}`,
          { client: address, limit },
          'connection refused: too many open connections from this address',
        );
      },
    },
  });

  const stateStore = new StateStore(
    config.state.enabled
      ? new KafkaStateLog(
          createKafkaClient(config, 'event-gateway-state'),
          {
            topic: config.state.topic,
            groupIdPrefix: config.state.groupIdPrefix,
            writeTimeoutMs: config.state.writeTimeoutMs,
          },
          logger,
        )
      : new MemoryStateLog(),
    { writeTimeoutMs: config.state.writeTimeoutMs, history: { [SPEC_KIND]: config.state.keepRevisions } },
    logger,
  );
  // Before the store starts, so stored keys are applied as the state topic is read.
  const apiKeys = new ApiKeys(stateStore, { logger, workers: worker?.workers });
  const targetPolicy = new TargetPolicy(config.subscriptions.allowedTargets);
  const secrets =
    config.subscriptions.secretsKey === undefined ? null : new SecretBox(config.subscriptions.secretsKey);
  const subscriptions = config.subscriptions.enabled
    ? new Subscriptions({
        state: stateStore,
        kafka: createKafkaClient(config, 'event-gateway-subscriptions'),
        settings: config.subscriptions,
        policy: targetPolicy,
        secrets,
        metrics,
        logger,
        internalTopic,
      })
    : null;
  stateStore.onChange(SPEC_KIND, async (change) => {
    if (specs.get(change.id)?.summary.source === 'file') {
      logger.warn(
        { spec: change.id },
        'a stored spec has the id of a spec loaded from a file here; the file wins',
      );
      return;
    }
    if (change.outcome === 'deleted') {
      specs.delete(change.id);
      return;
    }
    const entry = change.entry as StateEntry<StoredSpec>;
    // Stored specs passed the parser's rulesets when they were accepted; each instance still
    // compiles them itself.
    await specs.put(change.id, entry.document.text, 'api', {
      by: entry.by,
      revision: entry.revision,
      validated: true,
    });
  });
  stateStore.onChange(THROTTLE_KIND, (change) => {
    if (change.id !== THROTTLE_ID) return;
    quotas.update(
      change.outcome === 'deleted'
        ? config.throttle
        : resolveConfig({ ...config, throttle: change.entry!.document }, 'stored throttle settings').throttle,
    );
  });

  const gateway = new Gateway({
    config,
    logger,
    fetchMetadata: fetchClusterMetadata,
    frameTap: options.frameTap,
    connectionObserver: metrics.connectionObserver(),
    connectionGate: quotas.connections,
    handlers: (g) =>
      createApiHandlers(g, { pipeline: () => pipeline, produceObserver: observeProduce, tracing, quotas }),
  });
  let started = false;
  const readinessChecks = (): { ready: boolean; checks: Record<string, string> } => {
    const checks: Record<string, string> = {};
    let ready = started;
    checks.listening = String(started);
    // Behind SASL-only listeners the gateway cannot ask for metadata itself; a broker refusing it
    // for want of credentials still counts as an answer.
    const age = Date.now() - gateway.brokerAnsweredAt;
    const within = config.readiness.brokerAnswerWithinMs;
    if (gateway.brokerAnsweredAt > 0 && age <= within) {
      checks.brokers = `answered ${age} ms ago; ${gateway.directory.all().length} known`;
    } else {
      ready = false;
      checks.brokers =
        gateway.brokerAnsweredAt === 0
          ? 'failing: no broker has answered yet'
          : `failing: no broker answered for ${age} ms (limit ${within} ms)`;
    }
    checks.specs = `${specs.size()} loaded`;
    const stored = stateStore.health();
    if (!stored.ready) ready = false;
    checks.state = stored.detail;
    if (tapConsumer !== null) {
      const tapHealth = tapConsumer.health();
      if (!tapHealth.running) ready = false;
      checks.tap = tapHealth.running ? tapHealth.detail : `failing: ${tapHealth.detail}`;
    }
    return { ready, checks };
  };
  const http = await HttpServer.create({
    host: config.http.host,
    port: config.http.port,
    logger,
    version: GATEWAY_VERSION,
  });
  const access = new AccessControl(configuredTokens(config.http));
  if (access.open && !isLoopback(config.http.host)) {
    logger.warn(
      { host: config.http.host },
      'the HTTP API is served off loopback with no token (http.allowUnauthenticated): anyone who reaches it can change specs and quotas',
    );
  }
  registerHealthRoutes(http.app, {
    readiness: readinessChecks,
    metrics: worker?.exposition() ?? metrics.registry,
  });
  registerPatternRoutes(http.app);
  const localSamples = discovery ? localView(discovery.samples) : null;
  if (worker !== undefined && localSamples !== null) {
    // Each worker samples the connections it serves; the routes answer with every worker's.
    worker.provide(DISCOVERY_TOPICS, () => localSamples.list());
    worker.provide(DISCOVERY_TOPIC, async (topic) =>
      topic === undefined ? null : toWire(await localSamples.get(topic)),
    );
  }
  registerDiscoveryRoutes(http.app, {
    samples:
      localSamples === null
        ? null
        : worker === undefined
          ? localSamples
          : mergedView((what, arg) => worker.gather(what, arg)),
    described: (topic) => specs.contracts().lookup(topic) !== undefined,
    access,
  });
  registerSpecRoutes(http.app, {
    store: specs,
    state: stateStore,
    maxSpecBytes: config.asyncapi.maxSpecBytes,
    access,
    logger,
  });
  const publisher = config.ingest.enabled
    ? new Publisher({
        kafka: createKafkaClient(config, 'event-gateway-ingest'),
        settings: config.ingest.producer,
        pipeline: () => pipeline,
        tracing: tracing ?? null,
        counted: (topic, outcome) => metrics.countRecords(topic, outcome, 1, 'http'),
        logger,
      })
    : null;
  if (publisher !== null) {
    const gate = new PublishGate(config.ingest.requireApiKeys ? apiKeys : OPEN_DOOR, quotas, internalTopic);
    const cors = new Cors(config.ingest.cors);
    registerRestV3Routes(http.app, { publisher, gate, settings: config.ingest, cors });
    const router = new CloudEventRouter(config.ingest.cloudEvents.routes, specs);
    registerCloudEventsRoutes(http.app, { publisher, gate, router, settings: config.ingest, cors });
    if (subscriptions !== null)
      registerSyncRoutes(http.app, {
        subscriptions,
        publisher,
        gate,
        prefix: config.subscriptions.syncPathPrefix,
        maxBodyBytes: config.ingest.maxBodyBytes,
        metrics,
      });
  }
  if (subscriptions !== null)
    registerSubscriptionRoutes(http.app, {
      subscriptions,
      state: stateStore,
      policy: targetPolicy,
      secrets,
      syncAvailable: publisher !== null,
      syncPathPrefix: config.subscriptions.syncPathPrefix,
      internalTopic,
      statusTimeoutMs: config.subscriptions.statusTimeoutMs,
      access,
      logger,
    });
  registerApiKeyRoutes(http.app, { keys: apiKeys, state: stateStore, access, logger });
  registerThrottleRoutes(http.app, { quotas, config, access, stateStore, logger });
  registerBrokerRoutes(http.app, {
    access,
    brokers: () => ({
      bootstrap: `${gateway.advertisedHost}:${config.listeners.bootstrapPort}`,
      brokers: gateway.directory.all().map((broker) => ({
        ...broker,
        gateway: `${gateway.advertisedHost}:${gateway.directory.gatewayPortFor(broker.nodeId)}`,
      })),
    }),
  });
  registerConsoleRoutes(http.app, { dir: findConsoleAssets() });
  // A tap token, when set, is the one key to the tap; otherwise the API's tokens open it too.
  const tapAccess =
    config.tap.token === undefined
      ? access
      : new AccessControl([{ name: 'tap', role: 'read', token: config.tap.token }]);
  const tap = new TapServer({
    logger,
    maxBufferedBytes: config.tap.maxBufferedBytes,
    maxDroppedBeforeClose: config.tap.maxDroppedBeforeClose,
    maxReplayRecords: config.tap.maxReplayRecords,
    maxConcurrentReplays: config.tap.maxConcurrentReplays,
    authorize: (token) => tapAccess.identify(token) !== null,
    onClients: (count) => metrics.tapClients.set(count),
    onDropped: () => metrics.tapDropped.inc(),
    decoded(topic, message) {
      const contract = specs.contracts().lookup(topic);
      return hasBinaryValues(contract)
        ? decodeBinaryValue(contract, message.value, headerList(message.headers))
        : undefined;
    },
    observed(topic, record) {
      const contract = specs.contracts().lookup(topic);
      return contract !== undefined && observes(contract, config.asyncapi)
        ? validateRecord(contract, record)
        : null;
    },
  });
  if (config.tap.topics.length > 0) {
    http.upgrade('/ws', (request, socket, head, url) => tap.handleUpgrade(request, socket, head, url));
  }
  const tapConsumer =
    config.tap.topics.length > 0
      ? new TapConsumer(
          config,
          logger,
          (topic, partition, message) => tap.publish(topic, partition, message),
          { onRestart: (reason) => metrics.tapRestarts.inc({ reason }) },
        )
      : null;
  if (tapConsumer !== null) tap.useHistory(tapConsumer);
  await http.listen();
  try {
    // Stored specs and quotas are in force before the first produce request is accepted.
    await stateStore.start();
    await gateway.start();
    publisher?.start();
  } catch (error) {
    await publisher?.stop();
    await subscriptions?.stop();
    await gateway.stop().catch(() => undefined);
    await stateStore.stop();
    await http.close();
    throw error;
  }
  started = true;
  await tapConsumer?.start();
  return {
    gateway,
    http,
    specs,
    metrics,
    quotas,
    logger,
    tap: tapConsumer,
    async stop() {
      await tapConsumer?.stop();
      tap.close();
      await gateway.stop();
      await http.close();
      await subscriptions?.stop();
      await publisher?.stop();
      await stateStore.stop();
      await pipeline.close();
      await tracer.shutdown();
    },
  };
}

/**
 * Runs until SIGTERM or SIGINT, then drains in-flight requests and exits. With `workers` above 1
 * this process becomes the primary of a cluster and forks the workers, each of which runs here
 * again as a full gateway.
 */
export async function startGatewayProcess(config: GatewayConfig): Promise<void> {
  const workers = resolveWorkerCount(config.workers);
  if (workers > 1 && cluster.isPrimary) {
    const logger = createLogger(config.logging.level).child({ role: 'primary' });
    logger.info({ workers, pid: process.pid }, 'starting workers');
    new WorkerSupervisor({ workers, drainTimeoutMs: config.shutdown.drainTimeoutMs, logger }).start();
    return;
  }
  // Only a primary of ours sets the slot: a process manager that forks the gateway with
  // node:cluster itself (pm2's cluster mode) would never answer a worker's requests.
  const slot = process.env[WORKER_SLOT_ENV];
  const worker =
    cluster.isWorker && slot !== undefined && workers > 1
      ? new ClusterWorker(Number(slot), workers)
      : undefined;
  const root = createLogger(config.logging.level);
  if (cluster.isWorker && worker === undefined && workers > 1)
    root.warn(
      { workers },
      'started as a cluster worker by something else (a process manager): running as one gateway, workers ignored',
    );
  const running = await startGateway(config, worker ? root.child({ worker: worker.slot }) : root, { worker });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.logger.info({ signal }, 'shutting down: draining in-flight requests');
    running.stop().then(
      () => {
        running.logger.info('stopped');
        process.exit(0);
      },
      (error: Error) => {
        running.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // A worker whose primary is gone is ended by node:cluster itself, at once.
  worker?.started();
  // A rejection nobody awaited is a bug to log and fix, not a reason to drop every client's
  // connection with the process.
  process.on('unhandledRejection', (reason) =>
    running.logger.error({ err: reason }, 'a promise was rejected and nothing handled it'),
  );
}
