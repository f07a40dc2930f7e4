import { EventEmitter } from 'node:events';
import { Counter, Registry } from 'prom-client';
import { ClusterWorker } from '../../../src/cluster/cluster-worker';
import {
  METRICS_ANSWER,
  METRICS_COLLECT,
  METRICS_READY,
  METRICS_REQUEST,
  WORKER_STARTED,
  type ClusterMessage,
} from '../../../src/cluster/cluster-messages';

/** A worker whose IPC channel is an event emitter the test plays the primary on. */
function workerOnChannel() {
  const sent: ClusterMessage[] = [];
  const channel = new EventEmitter();
  const worker = new ClusterWorker(2, 3, (message) => sent.push(message));
  const registry = new Registry();
  new Counter({ name: 'requests_total', help: 'h', registers: [registry] }).inc(5);
  worker.listen(registry, channel as unknown as NodeJS.Process);
  return { worker, sent, channel };
}

describe("a worker's side of the cluster", () => {
  test('says it can answer for its metrics, and later that its gateway started', () => {
    const { worker, sent } = workerOnChannel();
    expect(sent).toEqual([{ type: METRICS_READY }]);
    worker.started();
    expect(sent[1]).toEqual({ type: WORKER_STARTED });
  });

  test('answers the primary with its own registry', async () => {
    const { sent, channel } = workerOnChannel();
    channel.emit('message', { type: METRICS_COLLECT, id: 7 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent[1]).toMatchObject({
      type: 'event-gateway:metrics-part',
      id: 7,
      metrics: [
        expect.objectContaining({ name: 'requests_total', values: [expect.objectContaining({ value: 5 })] }),
      ],
    });
  });

  test("serves GET /metrics with the primary's aggregate, matched by request id", async () => {
    const { worker, sent, channel } = workerOnChannel();
    const exposition = worker.exposition();
    expect(exposition.contentType).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    const first = exposition.metrics();
    const second = exposition.metrics();
    const [a, b] = sent.slice(1) as { type: string; id: number }[];
    expect(a.type).toBe(METRICS_REQUEST);
    channel.emit('message', { type: METRICS_ANSWER, id: b.id, text: 'second' });
    channel.emit('message', { type: METRICS_ANSWER, id: a.id, text: null, error: 'no worker is running' });
    await expect(second).resolves.toBe('second');
    await expect(first).rejects.toThrow("cannot aggregate the workers' metrics: no worker is running");
  });

  test('ignores messages that are not its own', () => {
    const { sent, channel } = workerOnChannel();
    for (const message of [
      null,
      'text',
      { type: 'prom-client:getMetricsReq' },
      { type: METRICS_ANSWER, id: 123, text: 'x' },
    ])
      channel.emit('message', message);
    expect(sent).toHaveLength(1);
  });
});
