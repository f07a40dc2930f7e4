import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Consumer, Kafka, KafkaConfig } from 'kafkajs';
import type { GatewayConfig } from '../../config/gateway-config';
import type { Logger } from '../../observability/logger';
import { nameMatcher } from '../../pipeline/filter/name-matcher';
import type { ConsumedMessage } from './tap-record';

export type TapListener = (topic: string, partition: number, message: ConsumedMessage) => void;

/**
 * Reads the mirrored topics back from the brokers (what subscribers see is what Kafka holds) with
 * a consumer group of its own that starts at the latest offsets and never commits. Topics that
 * appear later are picked up by a periodic check that restarts the subscription.
 */
export class TapConsumer {
  private readonly kafka: Kafka;
  private readonly matches: (topic: string) => boolean;
  private consumer: Consumer | null = null;
  private subscribed = '';
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private refreshing: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: GatewayConfig,
    private readonly logger: Logger,
    private readonly onMessage: TapListener,
  ) {
    // Loaded only when the tap mirrors topics: the client is a sizeable part of the heap the
    // proxy's garbage collector would otherwise walk for nothing.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const kafkajs = require('kafkajs') as typeof import('kafkajs');
    const tls = config.kafka.tls;
    const kafkaConfig: KafkaConfig = {
      clientId: 'event-gateway-tap',
      brokers: config.kafka.bootstrapServers,
      logLevel: kafkajs.logLevel.NOTHING,
      ssl: tls.enabled
        ? {
            ca: tls.ca ? [readFileSync(tls.ca, 'utf8')] : undefined,
            cert: tls.cert ? readFileSync(tls.cert, 'utf8') : undefined,
            key: tls.key ? readFileSync(tls.key, 'utf8') : undefined,
            rejectUnauthorized: tls.rejectUnauthorized,
            servername: tls.servername,
          }
        : undefined,
    };
    this.kafka = new kafkajs.Kafka(kafkaConfig);
    this.matches = nameMatcher(config.tap.topics);
  }

  start(): void {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), this.config.tap.topicRefreshMs);
    this.timer.unref();
  }

  private refresh(): void {
    this.refreshing = this.refreshing
      .then(() => this.resubscribe())
      .catch((error: Error) => {
        this.logger.warn({ err: error.message }, 'tap: cannot read the mirrored topics');
      });
  }

  private async resubscribe(): Promise<void> {
    if (this.stopped) return;
    const admin = this.kafka.admin();
    await admin.connect();
    let topics: string[];
    try {
      topics = (await admin.listTopics()).filter((t) => this.matches(t)).sort();
    } finally {
      await admin.disconnect();
    }
    const key = topics.join('\n');
    if (key === this.subscribed || this.stopped) return;
    await this.consumer?.disconnect();
    this.consumer = null;
    this.subscribed = key;
    if (topics.length === 0) return;
    const consumer = this.kafka.consumer({
      groupId: `${this.config.tap.groupIdPrefix}${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
      allowAutoTopicCreation: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        this.onMessage(topic, partition, message);
      },
    });
    this.consumer = consumer;
    this.logger.info({ topics }, 'tap: mirroring topics');
  }

  /** Resolves once the consumer has joined its group and been assigned partitions (tests wait on it). */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.refreshing;
    while (Date.now() < deadline) {
      const consumer = this.consumer;
      if (consumer !== null) {
        const description = await consumer.describeGroup().catch(() => null);
        if (description?.state === 'Stable') return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      await this.refreshing;
    }
    throw new Error('the tap consumer did not join its group in time');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    await this.consumer?.disconnect();
  }
}
