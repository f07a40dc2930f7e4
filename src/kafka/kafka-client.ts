import { readFileSync } from 'node:fs';
import type { Kafka, KafkaConfig } from 'kafkajs';
import type { GatewayConfig } from '../config/gateway-config';
import { registerKafkaJsCodecs } from '../protocol/records/kafkajs-codecs';
import { fixRequestQueueTimer, kafkaJsRequestQueue } from './request-queue-timer';

/**
 * A kafkajs client for the gateway's own use of the cluster (state, tap), set up as the proxy
 * reaches the brokers (TLS included), with every codec the proxy decodes: kafkajs alone reads
 * gzip only, and a client that meets another codec stops for good.
 */
export function createKafkaClient(config: GatewayConfig, clientId: string): Kafka {
  // Loaded on first use: the client is a sizeable part of the heap that a proxy which never needs
  // it would otherwise carry.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const kafkajs = require('kafkajs') as typeof import('kafkajs');
  registerKafkaJsCodecs(kafkajs, config.pipeline.maxDecompressedBytes);
  fixRequestQueueTimer(kafkaJsRequestQueue());
  const tls = config.kafka.tls;
  const kafkaConfig: KafkaConfig = {
    clientId,
    brokers: config.kafka.bootstrapServers,
    connectionTimeout: config.kafka.connectTimeoutMs,
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
  return new kafkajs.Kafka(kafkaConfig);
}
