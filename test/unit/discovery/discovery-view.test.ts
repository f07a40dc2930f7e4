import {
  DISCOVERY_TOPICS,
  fromWire,
  localView,
  mergedView,
  toWire,
} from '../../../src/discovery/discovery-view';
import { draftAsyncApi } from '../../../src/discovery/draft-asyncapi';
import { TopicSamples } from '../../../src/discovery/topic-samples';

const limits = { samplesPerTopic: 10, maxTopics: 10, maxSampleBytes: 1000 };
const record = (value: string, headers: { key: string; value: Buffer | null }[] = []) => ({
  key: Buffer.from('k'),
  value: Buffer.from(value),
  headers,
});

/** Two workers' samples, and a gather that hands out each one's part as the cluster would (over JSON). */
function twoWorkers() {
  const workers = [new TopicSamples(limits), new TopicSamples(limits)];
  const views = workers.map(localView);
  const gather = async (what: string, arg?: string): Promise<unknown[]> => {
    const parts = await Promise.all(
      views.map(async (view) => (what === DISCOVERY_TOPICS ? view.list() : toWire(await view.get(arg!)))),
    );
    return parts.filter((part) => part !== null).map((part) => JSON.parse(JSON.stringify(part)) as unknown);
  };
  return { workers, merged: mergedView(gather) };
}

describe('discovery over several workers', () => {
  test('lists each topic once, with counts added up, header names united, latest first', async () => {
    const { workers, merged } = twoWorkers();
    workers[0].offer(
      'orders',
      record('{"id":1}', [{ key: 'trace', value: null }]),
      Date.parse('2026-01-01T00:00:01Z'),
    );
    workers[1].offer(
      'orders',
      record('{"id":2}', [{ key: 'tenant', value: Buffer.from('t') }]),
      Date.parse('2026-01-01T00:00:03Z'),
    );
    workers[1].offer('orders', record('{"id":3}'), Date.parse('2026-01-01T00:00:04Z'));
    workers[0].offer('lamps', record('{"on":true}'), Date.parse('2026-01-01T00:00:02Z'));

    expect(await merged.list()).toEqual([
      {
        topic: 'orders',
        seen: 3,
        sampled: 3,
        oversized: 0,
        lastSeenAt: '2026-01-01T00:00:04.000Z',
        headers: ['trace', 'tenant'],
      },
      {
        topic: 'lamps',
        seen: 1,
        sampled: 1,
        oversized: 0,
        lastSeenAt: '2026-01-01T00:00:02.000Z',
        headers: [],
      },
    ]);
  });

  test("a topic's draft is inferred from every worker's samples, bytes intact across the channel", async () => {
    const { workers, merged } = twoWorkers();
    workers[0].offer('orders', record('{"id":1}', [{ key: 'tenant', value: Buffer.from([0xff, 0x00]) }]));
    workers[1].offer('orders', record('{"id":"x","note":"ü"}'));
    const view = await merged.get('orders');
    expect(view?.sampling).toMatchObject({ topic: 'orders', seen: 2, sampled: 2 });
    expect(view?.samples.map((s) => s.value?.toString())).toEqual(
      expect.arrayContaining(['{"id":1}', '{"id":"x","note":"ü"}']),
    );
    expect(view?.samples.flatMap((s) => s.headers).find((h) => h.key === 'tenant')?.value).toEqual(
      Buffer.from([0xff, 0x00]),
    );
    // What one worker saw alone would not describe the other's records.
    const draft = JSON.stringify(draftAsyncApi(view!.sampling, view!.samples));
    expect(draft).toContain('"note"');
    expect(await merged.get('unknown')).toBeUndefined();
  });

  test('a sample survives the trip to the wire and back', () => {
    const samples = new TopicSamples(limits);
    samples.offer('t', { key: null, value: Buffer.from('v'), headers: [{ key: 'h', value: null }] });
    const view = samples.get('t')!;
    expect(fromWire(JSON.parse(JSON.stringify(toWire(view))))).toEqual({
      sampling: view.sampling,
      samples: [{ key: null, value: Buffer.from('v'), headers: [{ key: 'h', value: null }] }],
    });
    expect(toWire(undefined)).toBeNull();
  });
});
