import { EventEmitter } from 'node:events';
import { Counter, Registry } from 'prom-client';
import { ClusterWorker } from '../../../src/cluster/cluster-worker';
import {
  ANSWER,
  COLLECT,
  PART,
  REQUEST,
  WORKER_LISTENING,
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
  return { worker, sent, channel, registry };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("a worker's side of the cluster", () => {
  test('says it answers the primary, and later that its gateway started', () => {
    const { worker, sent } = workerOnChannel();
    expect(sent).toEqual([{ type: WORKER_LISTENING }]);
    worker.started();
    expect(sent[1]).toEqual({ type: WORKER_STARTED });
  });

  test('gives the primary its registry, what it was told to provide, and null for anything else', async () => {
    const { worker, sent, channel } = workerOnChannel();
    worker.provide('things', (arg) => ({ asked: arg }));
    channel.emit('message', { type: COLLECT, id: 7, what: 'metrics' });
    channel.emit('message', { type: COLLECT, id: 8, what: 'things', arg: 'x' });
    channel.emit('message', { type: COLLECT, id: 9, what: 'unknown' });
    await settle();
    expect(sent.slice(1)).toEqual(
      expect.arrayContaining([
        {
          type: PART,
          id: 7,
          data: [
            expect.objectContaining({
              name: 'requests_total',
              values: [expect.objectContaining({ value: 5 })],
            }),
          ],
        },
        { type: PART, id: 8, data: { asked: 'x' } },
        { type: PART, id: 9, data: null },
      ]),
    );
  });

  test('a provider that fails gives null rather than no answer', async () => {
    const { worker, sent, channel } = workerOnChannel();
    worker.provide('broken', () => {
      throw new Error('no');
    });
    channel.emit('message', { type: COLLECT, id: 3, what: 'broken' });
    await settle();
    expect(sent[1]).toEqual({ type: PART, id: 3, data: null });
  });

  test("serves GET /metrics with every worker's registry merged, matched by request id", async () => {
    const { worker, sent, channel, registry } = workerOnChannel();
    const exposition = worker.exposition();
    expect(exposition.contentType).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    const first = exposition.metrics();
    const second = exposition.metrics();
    const [a, b] = sent.slice(1) as { type: string; id: number; what: string }[];
    expect(a).toMatchObject({ type: REQUEST, what: 'metrics' });
    const part = await registry.getMetricsAsJSON();
    channel.emit('message', { type: ANSWER, id: b.id, parts: [part, part] });
    channel.emit('message', { type: ANSWER, id: a.id, parts: null, error: 'no worker is running' });
    await expect(second).resolves.toContain('requests_total 10');
    await expect(first).rejects.toThrow('cannot gather what the workers hold: no worker is running');
  });

  test('ignores messages that are not its own', () => {
    const { sent, channel } = workerOnChannel();
    for (const message of [
      null,
      'text',
      { type: 'prom-client:getMetricsReq' },
      { type: ANSWER, id: 123, parts: [] },
    ])
      channel.emit('message', message);
    expect(sent).toHaveLength(1);
  });
});
