import { SpecError } from '../../../src/asyncapi/spec-error';
import { SpecStore } from '../../../src/asyncapi/spec-store';
import { CloudEventRouter } from '../../../src/ingest/cloudevent-router';

/** An AsyncAPI 3 document with one channel per topic, each carrying the given messages. */
function spec(channels: Record<string, { name?: string; extension?: unknown }[]>): string {
  const lines = ['asyncapi: 3.0.0', 'info: {title: orders, version: 1.0.0}', 'channels:'];
  Object.entries(channels).forEach(([topic, messages], c) => {
    lines.push(`  c${c}:`, `    address: '${topic}'`, '    messages:');
    messages.forEach(({ name, extension }, m) => {
      lines.push(`      m${m}:`, '        payload: {type: object}');
      if (name !== undefined) lines.push(`        name: '${name}'`);
      if (extension !== undefined) lines.push(`        x-cloudevents-type: ${JSON.stringify(extension)}`);
    });
  });
  return `${lines.join('\n')}\n`;
}

async function storeWith(...documents: string[]): Promise<SpecStore> {
  const store = new SpecStore();
  for (const [i, text] of documents.entries()) await store.put(`spec-${i}`, text, 'api');
  return store;
}

describe('CloudEvents routing', () => {
  jest.setTimeout(30_000);

  it('tries the configured table first, in order, with trailing * as a prefix match', async () => {
    const store = await storeWith(spec({ 'orders.from-contract': [{ name: 'com.example.order.created' }] }));
    const router = new CloudEventRouter(
      [
        { type: 'com.example.order.created', topic: 'orders.created' },
        { type: 'com.example.order.*', topic: 'orders.other' },
        { type: 'com.example.*', topic: 'example' },
        { type: 'exact.only', topic: 'exact' },
        { type: 'a*b', topic: 'star-inside' },
      ],
      store,
    );
    expect(router.route('com.example.order.created')).toEqual({ topic: 'orders.created' });
    expect(router.route('com.example.order.cancelled')).toEqual({ topic: 'orders.other' });
    expect(router.route('com.example.order.')).toEqual({ topic: 'orders.other' });
    expect(router.route('com.example.invoice')).toEqual({ topic: 'example' });
    expect(router.route('exact.only.not')).toMatchObject({ error: expect.stringMatching(/no topic/) });
    expect(router.route('a*b')).toEqual({ topic: 'star-inside' });
    expect(router.route('axb')).toMatchObject({ error: expect.any(String) });
    expect(new CloudEventRouter([{ type: '*', topic: 'all' }], store).route('anything')).toEqual({
      topic: 'all',
    });
  });

  it('finds the topic whose contract declares the type by message name or x-cloudevents-type', async () => {
    const store = await storeWith(
      spec({
        'orders.created': [{ name: 'com.example.order.created' }],
        'orders.shipped': [{ name: 'orderShipped', extension: 'com.example.order.shipped' }],
      }),
    );
    const router = new CloudEventRouter([], store);
    expect(router.route('com.example.order.created')).toEqual({ topic: 'orders.created' });
    expect(router.route('com.example.order.shipped')).toEqual({ topic: 'orders.shipped' });
    expect(router.route('orderShipped')).toEqual({ topic: 'orders.shipped' });
    const none = router.route('com.example.order.lost');
    expect(none).toEqual({ error: expect.stringContaining('"com.example.order.lost"') });
    expect(store.topicsForEventType('com.example.order.created')).toEqual(['orders.created']);
  });

  it('refuses a type several contracts declare on different topics, unless the table decides', async () => {
    const store = await storeWith(
      spec({ 'orders.eu': [{ name: 'com.example.order.created' }] }),
      spec({
        'orders.us': [{ name: 'x', extension: 'com.example.order.created' }],
        'orders.us.again': [
          { name: 'com.example.order.created' },
          { extension: 'com.example.order.created' },
        ],
      }),
    );
    const ambiguous = new CloudEventRouter([], store).route('com.example.order.created');
    expect('error' in ambiguous && ambiguous.error).toMatch(/ambiguous/);
    for (const topic of ['orders.eu', 'orders.us', 'orders.us.again']) {
      expect('error' in ambiguous && ambiguous.error).toContain(`'${topic}'`);
    }
    const decided = new CloudEventRouter([{ type: 'com.example.order.created', topic: 'orders.eu' }], store);
    expect(decided.route('com.example.order.created')).toEqual({ topic: 'orders.eu' });
  });

  it('counts only the contract in force for a topic, and not parameterised channels', async () => {
    const store = await storeWith(
      spec({ shared: [{ name: 'com.example.old' }], 'user.{id}.events': [{ name: 'com.example.user' }] }),
      spec({ shared: [{ name: 'com.example.new' }] }),
    );
    const router = new CloudEventRouter([], store);
    expect(router.route('com.example.new')).toEqual({ topic: 'shared' });
    expect(router.route('com.example.old')).toMatchObject({ error: expect.any(String) });
    expect(router.route('com.example.user')).toMatchObject({ error: expect.any(String) });
  });

  it('follows specs as they are replaced and deleted', async () => {
    const store = await storeWith(spec({ 'orders.v1': [{ name: 'com.example.order' }] }));
    const router = new CloudEventRouter([], store);
    expect(router.route('com.example.order')).toEqual({ topic: 'orders.v1' });
    await store.put('spec-0', spec({ 'orders.v2': [{ extension: 'com.example.order' }] }), 'api');
    expect(router.route('com.example.order')).toEqual({ topic: 'orders.v2' });
    store.delete('spec-0');
    expect(router.route('com.example.order')).toMatchObject({ error: expect.any(String) });
  });

  it('refuses a document whose x-cloudevents-type is not a non-empty string, keeping the old routes', async () => {
    const store = await storeWith(spec({ orders: [{ name: 'com.example.order' }] }));
    for (const extension of [7, '', ['a']]) {
      const attempt = store.put('spec-0', spec({ other: [{ extension }] }), 'api');
      await expect(attempt).rejects.toBeInstanceOf(SpecError);
      await attempt.catch((error: SpecError) =>
        expect(error.diagnostics[0]).toMatchObject({ code: 'extension-type' }),
      );
    }
    expect(new CloudEventRouter([], store).route('com.example.order')).toEqual({ topic: 'orders' });
  });

  it('does not echo a huge type back whole', async () => {
    const router = new CloudEventRouter([], await storeWith());
    const answer = router.route('t'.repeat(1 << 20));
    expect('error' in answer && answer.error.length).toBeLessThan(500);
  });
});
