import type { IncomingHttpHeaders } from 'node:http';
import pino from 'pino';
import { ApiError } from '../../../src/http/api-error';
import {
  API_KEY_KIND,
  ApiKeys,
  apiKeyProblems,
  hashSecret,
  newSecret,
  type PublisherKey,
  type StoredApiKey,
} from '../../../src/ingest/api-keys';
import { MemoryStateLog } from '../../../src/state/memory-state-log';
import { StateStore } from '../../../src/state/state-store';
import { CapturedLogs } from '../../support/captured-logs';
import { growth, LINEAR_BOUND } from '../support/growth';

const LOCAL = '127.0.0.1';

interface Setup {
  state: StateStore;
  keys: ApiKeys;
  logs: CapturedLogs;
  clock: { now: number };
  /** Stores a key with a fresh secret and returns the secret. */
  store(name: string, settings: Omit<StoredApiKey, 'secretHash'>, secret?: string): Promise<string>;
}

async function setup(workers?: number): Promise<Setup> {
  const logs = new CapturedLogs();
  const logger = pino({ level: 'info' }, logs);
  const state = new StateStore(new MemoryStateLog(), { writeTimeoutMs: 1_000 }, logger);
  const clock = { now: 0 };
  const keys = new ApiKeys(state, { logger, now: () => clock.now, workers });
  await state.start();
  return {
    state,
    keys,
    logs,
    clock,
    async store(name, settings, secret = newSecret()) {
      await state.put<StoredApiKey>(API_KEY_KIND, name, { ...settings, secretHash: hashSecret(secret) });
      return secret;
    },
  };
}

function refusal(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw new Error(`expected an ApiError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a refusal');
}

const bearer = (secret: string): IncomingHttpHeaders => ({ authorization: `Bearer ${secret}` });

describe('ApiKeys', () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup();
  });
  afterEach(async () => {
    await s.state.stop();
  });

  describe('authenticate', () => {
    it('finds a key by Authorization: Bearer or X-API-Key', async () => {
      const secret = await s.store('orders', { grants: { topics: ['orders'] } });
      expect(newSecret()).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(s.keys.authenticate(bearer(secret), LOCAL).name).toBe('orders');
      expect(s.keys.authenticate({ authorization: `bearer ${secret}` }, LOCAL).name).toBe('orders');
      expect(s.keys.authenticate({ 'x-api-key': secret }, LOCAL).name).toBe('orders');
      expect(s.keys.authenticate({ authorization: 'Basic abc', 'x-api-key': secret }, LOCAL).name).toBe(
        'orders',
      );
    });

    it('refuses a missing or unknown key with 401 and a Bearer challenge, never quoting the key', async () => {
      const secret = await s.store('orders', { grants: { topics: ['orders'] } });
      for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer ' }]) {
        const error = refusal(() => s.keys.authenticate(headers, LOCAL));
        expect(error.status).toBe(401);
        expect(error.headers).toEqual({ 'www-authenticate': 'Bearer' });
        expect(error.message).toMatch(/API key is required/);
      }
      const wrong = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
      for (const headers of [bearer(wrong), { 'x-api-key': wrong }]) {
        const error = refusal(() => s.keys.authenticate(headers, LOCAL));
        expect(error.status).toBe(401);
        expect(error.headers).toEqual({ 'www-authenticate': 'Bearer' });
        expect(error.message).toBe('the API key is not valid');
      }
    });

    it('refuses a key used from outside allowFrom with 403 naming the address (IPv4, IPv6, IPv4-mapped)', async () => {
      const secret = await s.store('edge', {
        grants: { topics: ['orders'] },
        allowFrom: ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32'],
      });
      for (const address of ['10.1.2.3', '192.168.1.7', '2001:db8::1', '::ffff:10.9.9.9'])
        expect(s.keys.authenticate(bearer(secret), address).name).toBe('edge');
      for (const [address, shown] of [
        ['11.0.0.1', '11.0.0.1'],
        ['192.168.1.8', '192.168.1.8'],
        ['2001:db9::1', '2001:db9::1'],
        ['::ffff:11.0.0.1', '11.0.0.1'],
        ['not-an-address', 'not-an-address'],
      ]) {
        const error = refusal(() => s.keys.authenticate(bearer(secret), address));
        expect(error.status).toBe(403);
        expect(error.message).toBe(`API key 'edge' may not be used from client address "${shown}"`);
      }
    });
  });

  describe('grants', () => {
    let key: PublisherKey;
    beforeEach(async () => {
      const secret = await s.store('k', {
        grants: {
          topics: ['orders', '/^audit\\.[a-z]+$/'],
          sources: ['https://shop.example/orders', 'urn:shop:*'],
          types: ['com.shop.order.*', 'com.shop.ping'],
        },
      });
      key = s.keys.authenticate(bearer(secret), LOCAL);
    });

    it('allows topics by name and /regex/', () => {
      expect(
        ['orders', 'audit.eu', 'audit.EU', 'orders2', 'x.audit.eu'].map((t) => key.mayPublish(t)),
      ).toEqual([true, true, false, false, false]);
    });

    it('allows CloudEvents sources and types exactly or by prefix, naming what it refuses', () => {
      expect(key.mayUse('https://shop.example/orders', 'com.shop.order.created')).toBeNull();
      expect(key.mayUse('urn:shop:eu:1', 'com.shop.ping')).toBeNull();
      expect(key.mayUse('https://shop.example/orders/1', 'com.shop.ping')).toBe(
        `API key 'k' may not send events of source "https://shop.example/orders/1"`,
      );
      expect(key.mayUse('urn:shop:', 'com.shop.pingx')).toBe(
        `API key 'k' may not send events of type "com.shop.pingx"`,
      );
      expect(key.mayUse('urn:shop:', 'com.shop.order')).toMatch(/type "com.shop.order"/);
    });

    it('allows any source and type when the grants name none, and none when a list is empty', async () => {
      const any = s.keys.authenticate(bearer(await s.store('any', { grants: { topics: ['t'] } })), LOCAL);
      expect(any.mayUse('whatever', 'any.type')).toBeNull();
      const none = s.keys.authenticate(
        bearer(await s.store('none', { grants: { topics: ['t'], sources: [] } })),
        LOCAL,
      );
      expect(none.mayUse('whatever', 'any.type')).toMatch(/source/);
    });
  });

  describe('admit', () => {
    it('lets a second of events through, then refuses until the debt is paid back', async () => {
      const secret = await s.store('rated', { grants: { topics: ['t'] }, rate: { eventsPerSecond: 10 } });
      const key = s.keys.authenticate(bearer(secret), LOCAL);
      expect(key.admit(10, 0)).toEqual({ ok: true });
      expect(key.admit(1, 0)).toEqual({ ok: true }); // found the bucket at zero, not in debt
      expect(key.admit(1, 0)).toEqual({ ok: false, retryAfterSeconds: 1 });
      s.clock.now += 100; // pays back the one event of debt
      expect(key.admit(25, 0)).toEqual({ ok: true }); // larger than a burst: slow, not impossible
      expect(key.admit(1, 0)).toEqual({ ok: false, retryAfterSeconds: 3 }); // 25 events of debt at 10/s
      s.clock.now += 2_500;
      expect(key.admit(1, 0)).toEqual({ ok: true });
    });

    it('limits bytes, shares the buckets among every request of the key, and has no limit without a rate', async () => {
      const secret = await s.store('bytes', { grants: { topics: ['t'] }, rate: { bytesPerSecond: 1000 } });
      expect(s.keys.authenticate(bearer(secret), LOCAL).admit(1_000_000, 1500)).toEqual({ ok: true });
      // Another request, another lookup: the same key's debt (500 bytes: half a second).
      expect(s.keys.authenticate({ 'x-api-key': secret }, LOCAL).admit(1, 1)).toEqual({
        ok: false,
        retryAfterSeconds: 1,
      });
      const free = s.keys.authenticate(bearer(await s.store('free', { grants: { topics: ['t'] } })), LOCAL);
      for (let i = 0; i < 100; i++) expect(free.admit(1e6, 1e9)).toEqual({ ok: true });
    });

    it('holds an equal share of the rate in each of several workers', async () => {
      const worker = await setup(2);
      const secret = await worker.store('shared', {
        grants: { topics: ['t'] },
        rate: { eventsPerSecond: 10 },
      });
      const key = worker.keys.authenticate(bearer(secret), LOCAL);
      expect(key.admit(5, 0)).toEqual({ ok: true });
      expect(key.admit(1, 0)).toEqual({ ok: true }); // found the bucket at zero
      expect(key.admit(1, 0)).toEqual({ ok: false, retryAfterSeconds: 1 }); // 1 event of debt at 5/s
    });

    it('keeps a debt when the key is replaced', async () => {
      const secret = await s.store('r', { grants: { topics: ['t'] }, rate: { eventsPerSecond: 1 } });
      s.keys.authenticate(bearer(secret), LOCAL).admit(5, 0);
      await s.store('r', { grants: { topics: ['t', 'u'] }, rate: { eventsPerSecond: 2 } }, secret);
      expect(s.keys.authenticate(bearer(secret), LOCAL).admit(1, 0)).toEqual({
        ok: false,
        retryAfterSeconds: 2, // 4 events of debt at 2/s
      });
    });
  });

  describe('following the state', () => {
    it('applies a replaced key, a rotated secret and a deletion', async () => {
      const first = await s.store('k', { grants: { topics: ['a'] }, allowFrom: ['10.0.0.1'] });
      expect(s.keys.authenticate(bearer(first), '10.0.0.1').mayPublish('b')).toBe(false);

      await s.store('k', { grants: { topics: ['b'] } }, first);
      const replaced = s.keys.authenticate(bearer(first), '10.0.0.2');
      expect([replaced.mayPublish('a'), replaced.mayPublish('b')]).toEqual([false, true]);

      const second = await s.store('k', { grants: { topics: ['b'] } });
      expect(refusal(() => s.keys.authenticate(bearer(first), LOCAL)).status).toBe(401);
      expect(s.keys.authenticate(bearer(second), LOCAL).name).toBe('k');
      expect(s.keys.size).toBe(1);

      await s.state.delete(API_KEY_KIND, 'k');
      expect(refusal(() => s.keys.authenticate(bearer(second), LOCAL)).status).toBe(401);
      expect(s.keys.size).toBe(0);
    });

    it('applies the keys stored before it started', async () => {
      const log = new MemoryStateLog();
      const logger = pino({ level: 'silent' });
      const state = new StateStore(log, { writeTimeoutMs: 1_000 }, logger);
      const keys = new ApiKeys(state, { logger });
      await state.start();
      const secret = newSecret();
      await state.put(API_KEY_KIND, 'early', { secretHash: hashSecret(secret), grants: { topics: ['t'] } });
      expect(keys.authenticate(bearer(secret), LOCAL).name).toBe('early');
      await state.stop();
    });

    it('takes a stored key it cannot compile out of force, logging why', async () => {
      const secret = await s.store('k', { grants: { topics: ['a'] } });
      await s.state.put(API_KEY_KIND, 'k', {
        secretHash: hashSecret(secret),
        grants: { topics: ['/(a)\\1/'] },
      });
      expect(refusal(() => s.keys.authenticate(bearer(secret), LOCAL)).status).toBe(401);
      expect(s.logs.find((line) => line.apiKey === 'k')?.msg).toMatch(/cannot be used here/);
      await s.state.put(API_KEY_KIND, 'other', { grants: 'nonsense' });
      expect(s.keys.size).toBe(0);
    });
  });

  describe('hostile input', () => {
    it('refuses a 64 KiB key header with a 401, in time linear in its length', async () => {
      await s.store('k', { grants: { topics: ['t'] } });
      for (const headers of [bearer('x'.repeat(64 * 1024)), { 'x-api-key': 'x'.repeat(64 * 1024) }])
        expect(refusal(() => s.keys.authenticate(headers, LOCAL)).status).toBe(401);
      const attempt = (n: number) => {
        try {
          s.keys.authenticate({ authorization: `Bearer ${' '.repeat(n)}x${' '.repeat(n)}` }, LOCAL);
        } catch {
          // refused, as expected; only the time matters here
        }
      };
      expect(growth(attempt, 500)).toBeLessThan(LINEAR_BOUND());
    });

    it('matches topics against backtracking-prone /regex/ grants in linear time', async () => {
      const secret = await s.store('k', { grants: { topics: ['/^(a+)+$/', '/(a|aa)*c/', '/a*a*a*a*b/'] } });
      const key = s.keys.authenticate(bearer(secret), LOCAL);
      expect(key.mayPublish(`${'a'.repeat(30_000)}!`)).toBe(false);
      expect(growth((n) => key.mayPublish(`${'a'.repeat(n)}!`), 1_000)).toBeLessThan(LINEAR_BOUND());
    });

    it('matches long sources and types against prefixes in linear time, quoting them shortened', async () => {
      const secret = await s.store('k', {
        grants: { topics: ['t'], sources: ['a*', 'aa*', 'aaa*'], types: ['b*'] },
      });
      const key = s.keys.authenticate(bearer(secret), LOCAL);
      const reason = key.mayUse('b'.repeat(64 * 1024), 'b');
      expect(reason?.length).toBeLessThan(200);
      expect(growth((n) => key.mayUse('a'.repeat(n), `${'a'.repeat(n)}`), 1_000)).toBeLessThan(
        LINEAR_BOUND(),
      );
    });
  });
});

describe('apiKeyProblems', () => {
  it('names refused regexes, bad CIDRs and an empty rate', () => {
    expect(
      apiKeyProblems({
        grants: { topics: ['ok', '/(a)\\1/', '/(unclosed/'] },
        rate: {},
        allowFrom: ['10.0.0.0/8', '10.0.0.0/33', 'example.com', '::1/129', '1.2.3.4/8/9'],
      }),
    ).toEqual([
      expect.stringMatching(/^grants\.topics\.1: .*backreference/),
      expect.stringMatching(/^grants\.topics\.2: .*(invalid|unterminated|Unterminated)/i),
      'rate: needs eventsPerSecond, bytesPerSecond or both',
      "allowFrom.1: '10.0.0.0/33' has a prefix length outside 0-32",
      "allowFrom.2: 'example.com' is not an IP address or CIDR block",
      "allowFrom.3: '::1/129' has a prefix length outside 0-128",
      "allowFrom.4: '1.2.3.4/8/9' is not an IP address or CIDR block",
    ]);
    expect(apiKeyProblems({ grants: { topics: ['/^a+$/'] }, allowFrom: ['::ffff:10.0.0.0/104'] })).toEqual(
      [],
    );
  });
});
