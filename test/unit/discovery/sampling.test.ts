import { discoverySampling } from '../../../src/discovery/discovery-sampling';
import { Reservoir } from '../../../src/discovery/reservoir';
import { TopicSamples } from '../../../src/discovery/topic-samples';
import { Pipeline } from '../../../src/pipeline/pipeline';

const limits = { samplesPerTopic: 10, maxTopics: 3, maxSampleBytes: 100 };
const record = (value: string, headers: { key: string; value: Buffer | null }[] = []) => ({
  key: null,
  value: Buffer.from(value),
  headers,
});

describe('Reservoir (Algorithm R)', () => {
  it('keeps the first items, then each later one with probability capacity/n', () => {
    const reservoir = new Reservoir<number>(3, () => 0.99);
    for (let i = 0; i < 3; i++) reservoir.put(reservoir.offer(), i);
    expect(reservoir.items()).toEqual([0, 1, 2]);
    // The 4th item with random 0.99 draws slot 3: not kept.
    expect(reservoir.offer()).toBe(-1);
    expect(reservoir.seen).toBe(4);
  });

  it('samples uniformly: every item of the stream is kept about equally often', () => {
    const counts = new Array<number>(20).fill(0);
    const runs = 20_000;
    for (let run = 0; run < runs; run++) {
      const reservoir = new Reservoir<number>(5);
      for (let i = 0; i < 20; i++) {
        const slot = reservoir.offer();
        if (slot >= 0) reservoir.put(slot, i);
      }
      for (const item of reservoir.items()) counts[item]++;
    }
    // Each item is kept with probability 5/20.
    for (const count of counts) expect(Math.abs(count / runs - 0.25)).toBeLessThan(0.02);
  });
});

describe('TopicSamples', () => {
  it('keeps its own copy of a record, in one allocation', () => {
    const samples = new TopicSamples(limits);
    const value = Buffer.from('{"a":1}');
    samples.offer('t', { key: Buffer.from('k'), value, headers: [{ key: 'h', value: Buffer.from('v') }] });
    value.fill(0);
    const [kept] = samples.get('t')!.samples;
    expect(kept.value!.toString()).toBe('{"a":1}');
    expect(kept.key!.buffer).toBe(kept.value!.buffer);
    expect(kept.headers).toEqual([{ key: 'h', value: Buffer.from('v') }]);
  });

  it('counts but does not keep records larger than maxSampleBytes', () => {
    const samples = new TopicSamples(limits);
    samples.offer('t', record('x'.repeat(101)));
    samples.offer('t', record('x'.repeat(90), [{ key: 'abc', value: Buffer.from('12345678') }]));
    samples.offer('t', record('{}'));
    expect(samples.get('t')!.sampling).toMatchObject({ seen: 1, sampled: 1, oversized: 2 });
  });

  it('holds at most samplesPerTopic records per topic and maxTopics topics, dropping the least recently produced to', () => {
    const counts: number[] = [];
    const samples = new TopicSamples(limits, (count) => counts.push(count));
    for (let i = 0; i < 50; i++) samples.offer('a', record(String(i)));
    samples.offer('b', record('1'));
    samples.offer('c', record('1'));
    samples.offer('a', record('1'));
    samples.offer('d', record('1'));
    expect(samples.list().map((t) => t.topic)).toEqual(['d', 'a', 'c']);
    expect(samples.get('a')!.sampling).toMatchObject({ seen: 51, sampled: 10 });
    expect(counts).toEqual([1, 2, 3, 3]);
  });
});

describe('the discovery middleware', () => {
  const hooks = {
    described: (topic: string) => topic === 'described',
    internalTopic: (topic: string) => topic.startsWith('_'),
  };

  it('is not there when discovery is off', () => {
    expect(discoverySampling({ enabled: false, topics: [], ...limits }, hooks)).toBeNull();
  });

  it('wants listed topics that no contract describes, never internal ones', () => {
    const on = discoverySampling({ enabled: true, topics: ['orders', '/^audit\\./'], ...limits }, hooks)!;
    const wants = (topic: string) => on.middleware.wants!(topic);
    expect(['orders', 'audit.x', 'other', 'described'].map(wants)).toEqual([true, true, false, false]);
    const all = discoverySampling({ enabled: true, topics: [], ...limits }, hooks)!;
    expect(['orders', 'described', '__consumer_offsets'].map((t) => all.middleware.wants!(t))).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('refuses a regex it cannot use, naming the setting', () => {
    expect(() => discoverySampling({ enabled: true, topics: ['/(/'], ...limits }, hooks)).toThrow(
      /discovery\.topics: \/\(\//,
    );
  });

  it('samples the HTTP door through the pipeline without changing any verdict', async () => {
    const on = discoverySampling({ enabled: true, topics: [], ...limits }, hooks)!;
    const pipeline = new Pipeline([on.middleware]);
    const context = {
      door: 'http' as const,
      clientId: null,
      clientAddress: '127.0.0.1',
      acks: -1,
      transactionalId: null,
      apiVersion: 0,
    };
    const judged = await pipeline.judge(
      [{ topic: 'orders', key: null, value: Buffer.from('{}'), headers: [] }],
      context,
    );
    expect(judged[0]).toMatchObject({ rejected: null, dropped: false, added: null, outcome: 'unvalidated' });
    expect(on.samples.get('orders')!.samples).toHaveLength(1);
  });
});
