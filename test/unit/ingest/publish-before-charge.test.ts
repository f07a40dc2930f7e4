import type { Kafka } from 'kafkajs';
import { HttpServer } from '../../../src/http/http-server';
import { Cors } from '../../../src/ingest/cors';
import { PublishGate } from '../../../src/ingest/publish-gate';
import { Publisher } from '../../../src/ingest/publisher';
import type { PublisherAuth } from '../../../src/ingest/publisher-auth';
import { registerRestV3Routes } from '../../../src/ingest/rest-v3-routes';
import { createLogger } from '../../../src/observability/logger';
import { Pipeline } from '../../../src/pipeline/pipeline';
import { QuotaManager } from '../../../src/quotas/quota-manager';
import { resolveConfig } from '../../../src/config/load-config';

/** Connected, knows its cluster id, but cannot be asked about topics (a broker away). */
function unreachableTopics(): Kafka {
  const client = { connect: async () => undefined, disconnect: async () => undefined };
  const admin = {
    ...client,
    describeCluster: async () => ({ clusterId: 'c1', brokers: [], controller: 1 }),
    fetchTopicMetadata: async () => {
      throw Object.assign(new Error('Connection error: ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
    },
  };
  return {
    producer: () => ({ ...client, sendBatch: async () => [] }),
    admin: () => admin,
  } as unknown as Kafka;
}

test('a publish Kafka cannot be asked about is answered 503 before the key is charged', async () => {
  const config = resolveConfig({ kafka: { bootstrapServers: ['127.0.0.1:9092'] } }, 'test');
  const charged: number[] = [];
  const auth: PublisherAuth = {
    authenticate: () => ({
      name: 'k',
      mayPublish: () => true,
      mayUse: () => null,
      admit: (events) => {
        charged.push(events);
        return { ok: true };
      },
    }),
  };
  const publisher = new Publisher({
    kafka: unreachableTopics(),
    settings: config.ingest.producer,
    pipeline: () => new Pipeline([]),
    tracing: null,
    counted: () => undefined,
    logger: createLogger('silent'),
  });
  publisher.start();
  const http = await HttpServer.create({
    host: '127.0.0.1',
    port: 0,
    logger: createLogger('silent'),
    version: '0',
  });
  registerRestV3Routes(http.app, {
    publisher,
    gate: new PublishGate(auth, new QuotaManager(config.throttle), () => false),
    settings: config.ingest,
    cors: new Cors(config.ingest.cors),
  });
  await http.listen();
  try {
    await new Promise((resolve) => setImmediate(resolve));
    const answer = await fetch(`http://127.0.0.1:${http.port()}/v3/clusters/c1/topics/orders/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"value": {"data": 1}}',
    });
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('5');
    expect(await answer.json()).toMatchObject({ status: 503, kafka_error: 'NETWORK_EXCEPTION' });
    expect(charged).toEqual([]);
  } finally {
    await http.close();
    await publisher.stop();
  }
});
