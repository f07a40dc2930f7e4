import type { ThrottleConfig, ThrottleQuota } from '../../../src/config/gateway-config';
import { ConfigError } from '../../../src/config/load-config';
import {
  QuotaManager,
  throttleProblems,
  type ProduceUsage,
  type QuotaObserver,
} from '../../../src/quotas/quota-manager';

function quota(partial: Partial<ThrottleQuota> & Pick<ThrottleQuota, 'name' | 'kind'>): ThrottleQuota {
  return { shared: false, hardLimit: false, ...partial };
}

function settings(quotas: ThrottleQuota[], extra: Partial<ThrottleConfig> = {}): ThrottleConfig {
  return { quotas, maxThrottleMs: 60_000, maxBuckets: 10_000, ...extra };
}

/** A manager on a clock the test moves by hand. */
function managerWith(config: ThrottleConfig, observer?: QuotaObserver) {
  const clock = { now: 0 };
  const manager = new QuotaManager(config, { now: () => clock.now, observer });
  return { manager, clock };
}

function usage(
  clientId: string | null,
  topics: Record<string, number | [bytes: number, records: number]>,
  clientAddress = '10.0.0.1',
): ProduceUsage {
  return {
    clientId,
    clientAddress,
    topics: Object.entries(topics).map(([topic, weight]) =>
      typeof weight === 'number'
        ? { topic, bytes: weight, records: 1 }
        : { topic, bytes: weight[0], records: weight[1] },
    ),
  };
}

describe('quota manager', () => {
  it('lets everything pass without quotas, and says it is inactive', () => {
    const { manager } = managerWith(settings([]));
    expect(manager.active).toBe(false);
    expect(manager.admitProduce(usage('any', { t: 1e9 }))).toEqual({ verdict: 'pass', throttleMs: 0 });
  });

  it('throttles a client id over its byte rate by the time its debt takes to pay back', () => {
    const { manager, clock } = managerWith(
      settings([quota({ name: 'per-client', kind: 'clientId', bytesPerSecond: 1000 })]),
    );
    expect(manager.admitProduce(usage('a', { t: 1000 })).verdict).toBe('pass');
    expect(manager.admitProduce(usage('a', { t: 500 }))).toMatchObject({ verdict: 'delay', throttleMs: 500 });
    // Another client id has a bucket of its own.
    expect(manager.admitProduce(usage('b', { t: 1000 })).verdict).toBe('pass');
    clock.now = 500;
    expect(manager.admitProduce(usage('a', { t: 250 }))).toMatchObject({ verdict: 'delay', throttleMs: 250 });
    clock.now = 10_000;
    expect(manager.admitProduce(usage('a', { t: 1000 })).verdict).toBe('pass');
  });

  it('counts records per second, and the stricter of bytes and records decides', () => {
    const { manager } = managerWith(
      settings([quota({ name: 'both', kind: 'clientId', bytesPerSecond: 1000, recordsPerSecond: 10 })]),
    );
    expect(manager.countsRecords).toBe(true);
    expect(manager.admitProduce(usage('a', { t: [100, 10] })).verdict).toBe('pass');
    expect(manager.admitProduce(usage('a', { t: [100, 20] }))).toMatchObject({ throttleMs: 2000 });
  });

  it('uses the configured burst instead of one second of rate', () => {
    const { manager } = managerWith(
      settings([quota({ name: 'bursty', kind: 'clientId', bytesPerSecond: 100, burstBytes: 1000 })]),
    );
    expect(manager.admitProduce(usage('a', { t: 1000 })).verdict).toBe('pass');
    expect(manager.admitProduce(usage('a', { t: 100 }))).toMatchObject({ throttleMs: 1000 });
  });

  it('charges topic quotas with each topic’s share of the request', () => {
    const { manager } = managerWith(
      settings([quota({ name: 'orders', kind: 'topic', match: ['orders'], bytesPerSecond: 1000 })]),
    );
    expect(manager.admitProduce(usage('a', { orders: 1500, other: 1e6 }))).toMatchObject({
      verdict: 'delay',
      throttleMs: 500,
    });
  });

  it('matches client addresses by IP and CIDR, IPv4-mapped addresses included', () => {
    const { manager } = managerWith(
      settings([
        quota({
          name: 'office',
          kind: 'clientAddress',
          match: ['192.168.0.0/16', '10.1.2.3'],
          bytesPerSecond: 100,
        }),
      ]),
    );
    expect(manager.admitProduce(usage('a', { t: 200 }, '192.168.7.7')).throttleMs).toBe(1000);
    expect(manager.admitProduce(usage('a', { t: 200 }, '::ffff:10.1.2.3')).throttleMs).toBe(1000);
    expect(manager.admitProduce(usage('a', { t: 200 }, '10.1.2.4')).verdict).toBe('pass');
  });

  it('applies the first matching quota of a kind, so specific ones override a catch-all', () => {
    const { manager } = managerWith(
      settings([
        quota({ name: 'batch-jobs', kind: 'clientId', match: ['/^batch-/'], bytesPerSecond: 100 }),
        quota({ name: 'everyone', kind: 'clientId', bytesPerSecond: 10_000 }),
      ]),
    );
    expect(manager.admitProduce(usage('batch-7', { t: 200 }))).toMatchObject({
      throttleMs: 1000,
      quota: { name: 'batch-jobs' },
    });
    expect(manager.admitProduce(usage('web', { t: 200 })).verdict).toBe('pass');
  });

  it('applies quotas of every kind and reports the one that asked for the longest delay', () => {
    const delayed: [string, number][] = [];
    const exceeded: [string, string, string][] = [];
    const { manager } = managerWith(
      settings([
        quota({ name: 'client', kind: 'clientId', bytesPerSecond: 1000 }),
        quota({ name: 'topic', kind: 'topic', bytesPerSecond: 500 }),
      ]),
      {
        delayed: (q, ms) => delayed.push([q.name, ms]),
        exceeded: (q, entity, action) => exceeded.push([q.name, entity, action]),
      },
    );
    expect(manager.admitProduce(usage('a', { t: 1500 }))).toMatchObject({
      verdict: 'delay',
      throttleMs: 2000,
      quota: { name: 'topic' },
    });
    expect(delayed).toEqual([['topic', 2000]]);
    expect(exceeded).toEqual([
      ['client', 'a', 'delayed'],
      ['topic', 't', 'delayed'],
    ]);
  });

  it('shares one bucket between the entities of a shared quota', () => {
    const { manager } = managerWith(
      settings([
        quota({
          name: 'all-batch',
          kind: 'clientId',
          match: ['/^batch-/'],
          shared: true,
          bytesPerSecond: 100,
        }),
      ]),
    );
    expect(manager.admitProduce(usage('batch-1', { t: 100 })).verdict).toBe('pass');
    expect(manager.admitProduce(usage('batch-2', { t: 100 })).throttleMs).toBe(1000);
    expect(manager.bucketCount()).toBe(1);
  });

  it('counts producers without a client id as one entity', () => {
    const { manager } = managerWith(settings([quota({ name: 'c', kind: 'clientId', bytesPerSecond: 100 })]));
    manager.admitProduce(usage(null, { t: 100 }));
    expect(manager.admitProduce(usage(null, { t: 100 })).throttleMs).toBe(1000);
  });

  it('caps the throttle time at maxThrottleMs and keeps the rest of the debt', () => {
    const { manager, clock } = managerWith(
      settings([quota({ name: 'c', kind: 'clientId', bytesPerSecond: 100 })], { maxThrottleMs: 3000 }),
    );
    expect(manager.admitProduce(usage('a', { t: 1100 })).throttleMs).toBe(3000);
    clock.now = 3000;
    expect(manager.admitProduce(usage('a', { t: 0 })).throttleMs).toBe(3000);
    clock.now = 10_000;
    expect(manager.admitProduce(usage('a', { t: 0 })).verdict).toBe('pass');
  });

  describe('hard limits', () => {
    const hard = () =>
      managerWith(
        settings([
          quota({ name: 'strict', kind: 'clientId', bytesPerSecond: 1000, hardLimit: true }),
          quota({ name: 'topics', kind: 'topic', bytesPerSecond: 1_000_000 }),
        ]),
      );

    it('let a request through while the bucket is not in debt, even one that overdraws it, without delay', () => {
      const { manager } = hard();
      expect(manager.admitProduce(usage('a', { t: 3000 }))).toEqual({ verdict: 'pass', throttleMs: 0 });
    });

    it('refuse requests while in debt, say when to retry, and charge nothing for them', () => {
      const { manager, clock } = hard();
      manager.admitProduce(usage('a', { t: 3000 }));
      const refused = manager.admitProduce(usage('a', { t: 10 }));
      expect(refused).toEqual({
        verdict: 'reject',
        throttleMs: 2000,
        quota: expect.objectContaining({ name: 'strict' }),
        reason: "client id 'a' is over the produce quota 'strict' (1000 bytes/s); retry in 2000 ms",
      });
      clock.now = 1999;
      expect(manager.admitProduce(usage('a', { t: 10 })).verdict).toBe('reject');
      clock.now = 2000;
      expect(manager.admitProduce(usage('a', { t: 10 })).verdict).toBe('pass');
    });

    it('charge no other quota for a refused request', () => {
      const { manager } = managerWith(
        settings([
          quota({ name: 'strict', kind: 'clientId', bytesPerSecond: 1000, hardLimit: true }),
          quota({ name: 'topic', kind: 'topic', bytesPerSecond: 1000 }),
        ]),
      );
      manager.admitProduce(usage('a', { t: 1500 }));
      for (let i = 0; i < 5; i++)
        expect(manager.admitProduce(usage('a', { t: 1000 })).verdict).toBe('reject');
      // The topic bucket holds only the first request's debt.
      expect(manager.admitProduce(usage('b', { t: 0 }))).toMatchObject({ verdict: 'delay', throttleMs: 500 });
    });
  });

  describe('buckets', () => {
    it('keep at most maxBuckets per quota, dropping the least recently used', () => {
      const { manager } = managerWith(
        settings([quota({ name: 'c', kind: 'clientId', bytesPerSecond: 100 })], { maxBuckets: 2 }),
      );
      manager.admitProduce(usage('a', { t: 150 }));
      manager.admitProduce(usage('b', { t: 100 }));
      manager.admitProduce(usage('a', { t: 0 }));
      manager.admitProduce(usage('c', { t: 100 }));
      expect(manager.bucketCount()).toBe(2);
      // 'b' was the least recently used and went; 'a' still owes.
      expect(manager.admitProduce(usage('a', { t: 0 }))).toMatchObject({ verdict: 'delay', throttleMs: 500 });
      expect(manager.admitProduce(usage('b', { t: 100 })).verdict).toBe('pass');
    });

    it('are forgotten once idle and full again', () => {
      const { manager, clock } = managerWith(
        settings([quota({ name: 'c', kind: 'clientId', bytesPerSecond: 100 })]),
      );
      for (const id of ['a', 'b', 'c']) manager.admitProduce(usage(id, { t: 100 }));
      expect(manager.bucketCount()).toBe(3);
      clock.now = 20_000;
      manager.admitProduce(usage('d', { t: 1 }));
      expect(manager.bucketCount()).toBe(1);
    });
  });

  describe('update', () => {
    it('keeps the debts of quotas that keep their name, with the new rate', () => {
      const { manager, clock } = managerWith(
        settings([quota({ name: 'c', kind: 'clientId', bytesPerSecond: 100 })]),
      );
      manager.admitProduce(usage('a', { t: 300 }));
      clock.now = 1000;
      manager.update(settings([quota({ name: 'c', kind: 'clientId', bytesPerSecond: 1000 })]));
      // -200 + 100 = -100, paid back at 1000/s.
      expect(manager.admitProduce(usage('a', { t: 0 })).throttleMs).toBe(100);
    });

    it('starts renamed or new quotas with full buckets and applies new match lists', () => {
      const { manager } = managerWith(
        settings([quota({ name: 'c', kind: 'clientId', bytesPerSecond: 100 })]),
      );
      manager.admitProduce(usage('a', { t: 300 }));
      manager.update(settings([quota({ name: 'd', kind: 'clientId', match: ['a'], bytesPerSecond: 100 })]));
      expect(manager.admitProduce(usage('a', { t: 100 })).verdict).toBe('pass');
      expect(manager.admitProduce(usage('b', { t: 1e6 })).verdict).toBe('pass');
    });

    it('refuses unsound settings and keeps the ones in force', () => {
      const { manager } = managerWith(
        settings([quota({ name: 'c', kind: 'clientId', bytesPerSecond: 100 })]),
      );
      expect(() => manager.update(settings([quota({ name: 'x', kind: 'clientId' })]))).toThrow(ConfigError);
      expect(manager.config.quotas.map((q) => q.name)).toEqual(['c']);
    });

    it('changes the connection limit without forgetting open connections', () => {
      const refused: string[] = [];
      const { manager } = managerWith(settings([]), {
        connectionRefused: (address) => refused.push(address),
      });
      expect(manager.connections.open('::ffff:10.0.0.1')).toBe(true);
      expect(manager.connections.open('10.0.0.1')).toBe(true);
      manager.update(settings([], { maxConnectionsPerAddress: 2 }));
      expect(manager.connections.open('10.0.0.1')).toBe(false);
      expect(manager.connections.open('10.0.0.2')).toBe(true);
      manager.connections.closed('10.0.0.1');
      expect(manager.connections.open('10.0.0.1')).toBe(true);
      expect(refused).toEqual(['10.0.0.1']);
      expect(manager.connections.count()).toBe(3);
    });
  });

  it('names every problem a schema cannot catch', () => {
    expect(
      throttleProblems(
        settings([
          quota({ name: 'a', kind: 'clientId' }),
          quota({ name: 'a', kind: 'topic', bytesPerSecond: 1, burstRecords: 5, match: ['/(/'] }),
          quota({
            name: 'b',
            kind: 'clientAddress',
            recordsPerSecond: 1,
            burstBytes: 5,
            match: ['10.0.0.0/33', 'host'],
          }),
        ]),
      ),
    ).toEqual([
      'throttle.quotas.0: needs bytesPerSecond, recordsPerSecond or both',
      "throttle.quotas.1.name: 'a' is already the name of throttle.quotas.0",
      'throttle.quotas.1.burstRecords: only applies with recordsPerSecond',
      expect.stringMatching(/^throttle\.quotas\.1\.match\.0: Invalid regular expression/),
      'throttle.quotas.2.burstBytes: only applies with bytesPerSecond',
      "throttle.quotas.2.match.0: '10.0.0.0/33' has a prefix length outside 0-32",
      "throttle.quotas.2.match.1: 'host' is not an IP address or CIDR block",
    ]);
  });
});
