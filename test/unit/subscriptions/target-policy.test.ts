import type { LookupAddress } from 'node:dns';
import {
  TARGET_REFUSED,
  TargetPolicy,
  targetEntryProblem,
  type Resolver,
} from '../../../src/subscriptions/target-policy';
import { growth, LINEAR_BOUND } from '../support/growth';

const problem = (policy: TargetPolicy, url: string) => policy.problem(new URL(url));

/** A resolver that answers every name with `addresses`, as a hostile or rebinding DNS server could. */
const answering =
  (...addresses: string[]): Resolver =>
  (_hostname, _options, callback) =>
    process.nextTick(
      callback,
      null,
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
    );

interface Looked {
  error: NodeJS.ErrnoException | null;
  address: string | LookupAddress[];
  family?: number;
}

function lookup(policy: TargetPolicy, hostname: string, all = false): Promise<Looked> {
  return new Promise((resolve) =>
    policy.lookup(hostname, { all }, (error, address, family) => resolve({ error, address, family })),
  );
}

describe('TargetPolicy.problem', () => {
  it('allows exact host names, subdomains of wildcard entries, IPs and CIDR blocks', () => {
    const policy = new TargetPolicy([
      'hooks.example.com',
      '*.partner.test',
      '10.0.0.0/8',
      '192.0.2.7',
      '2001:db8::/32',
    ]);
    expect(problem(policy, 'https://hooks.example.com/in')).toBeNull();
    expect(problem(policy, 'https://HOOKS.Example.COM./in')).toBeNull();
    expect(problem(policy, 'https://a.partner.test/')).toBeNull();
    expect(problem(policy, 'https://a.b.partner.test/')).toBeNull();
    expect(problem(policy, 'http://10.1.2.3:8080/')).toBeNull();
    expect(problem(policy, 'http://192.0.2.7/')).toBeNull();
    expect(problem(policy, 'http://[2001:db8::1]/')).toBeNull();

    expect(problem(policy, 'http://11.0.0.1/')).toMatch(/11.0.0.1 is not in subscriptions.allowedTargets/);
    expect(problem(policy, 'http://192.0.2.8/')).not.toBeNull();
    const names = new TargetPolicy(['hooks.example.com', '*.partner.test']);
    expect(problem(names, 'https://partner.test/')).toMatch(
      /"partner.test" is not in subscriptions.allowedTargets/,
    );
    expect(problem(names, 'https://evilpartner.test/')).not.toBeNull();
    expect(problem(names, 'https://hooks.example.com.evil.test/')).not.toBeNull();
    expect(problem(names, 'http://10.1.2.3/')).not.toBeNull();
    expect(problem(policy, 'ftp://hooks.example.com/')).toMatch(/scheme/);
  });

  it('leaves a name to its addresses when there are address entries, and refuses it when there are none', () => {
    expect(problem(new TargetPolicy(['10.0.0.0/8']), 'http://internal.svc/')).toBeNull();
    expect(problem(new TargetPolicy(['hooks.example.com']), 'http://internal.svc/')).not.toBeNull();
  });

  it('allows any host with *, but not link-local or cloud metadata addresses', () => {
    const policy = new TargetPolicy(['*']);
    expect(problem(policy, 'https://anything.example/')).toBeNull();
    expect(problem(policy, 'http://127.0.0.1/')).toBeNull();
    expect(problem(policy, 'http://169.254.169.254/latest/meta-data/')).toMatch(
      /169.254.169.254 is a cloud metadata address/,
    );
    // The URL parser turns these into 169.254.169.254, and so must the policy.
    expect(problem(policy, 'http://0xA9FEA9FE/')).toMatch(/metadata/);
    expect(problem(policy, 'http://2852039166/')).toMatch(/metadata/);
    expect(problem(policy, 'http://[::ffff:169.254.169.254]/')).toMatch(
      /169.254.169.254 is a cloud metadata/,
    );
    expect(problem(policy, 'http://[fd00:ec2::254]/')).toMatch(/metadata/);
    expect(problem(policy, 'http://100.100.100.200/')).toMatch(/metadata/);
    expect(problem(policy, 'http://169.254.1.1/')).toMatch(/link-local/);
    expect(problem(policy, 'http://[fe80::1]/')).toMatch(/link-local/);
    expect(problem(policy, 'http://[::ffff:169.254.1.1]/')).toMatch(/link-local/);
    expect(problem(policy, 'http://metadata.google.internal/')).toMatch(/metadata service/);
    expect(problem(policy, 'http://Metadata.Google.Internal./')).toMatch(/metadata service/);
  });

  it('allows link-local and metadata addresses only to entries inside their blocks', () => {
    expect(problem(new TargetPolicy(['0.0.0.0/0', '::/0']), 'http://169.254.1.1/')).not.toBeNull();
    expect(problem(new TargetPolicy(['0.0.0.0/0']), 'http://[::ffff:169.254.169.254]/')).not.toBeNull();
    expect(problem(new TargetPolicy(['169.254.0.0/16']), 'http://169.254.1.1/')).toBeNull();
    // Allowing link-local is not allowing the credentials service inside it.
    expect(problem(new TargetPolicy(['169.254.0.0/16']), 'http://169.254.169.254/')).not.toBeNull();
    expect(problem(new TargetPolicy(['169.254.169.254']), 'http://169.254.169.254/')).toBeNull();
    expect(problem(new TargetPolicy(['169.254.169.254/32']), 'http://[::ffff:a9fe:a9fe]/')).toBeNull();
    expect(problem(new TargetPolicy(['::ffff:169.254.169.254']), 'http://169.254.169.254/')).toBeNull();
    expect(problem(new TargetPolicy(['fd00:ec2::254']), 'http://[fd00:ec2::254]/')).toBeNull();
    expect(problem(new TargetPolicy(['fe80::/64']), 'http://[fe80::1]/')).toBeNull();
    expect(
      problem(new TargetPolicy(['*.google.internal']), 'http://metadata.google.internal/'),
    ).not.toBeNull();
    expect(
      problem(new TargetPolicy(['metadata.google.internal']), 'http://metadata.google.internal/'),
    ).toBeNull();
  });

  it('refuses hostile hosts with a short message, in time linear in their length', () => {
    const policy = new TargetPolicy(['*', '*.example.com', '10.0.0.0/8']);
    for (const host of [
      '.'.repeat(100_000),
      `${'a.'.repeat(50_000)}example.com`,
      `${'a'.repeat(100_000)}.example.com`,
    ]) {
      const reason = problem(policy, `http://${host}/`);
      expect(reason).not.toBeNull();
      expect(reason!.length).toBeLessThan(200);
    }
    expect(problem(policy, 'http://a..b/')).toMatch(/not a DNS name/);
    const dots = (n: number) => policy.problem(new URL(`http://${'a.'.repeat(n)}example.com/`));
    expect(growth(dots, 200)).toBeLessThan(LINEAR_BOUND());
    const lookups = (n: number) => policy.lookup(':.'.repeat(n), {}, () => undefined);
    expect(growth(lookups, 200)).toBeLessThan(LINEAR_BOUND());
  });
});

describe('targetEntryProblem', () => {
  it('accepts the forms of entry and explains the others', () => {
    for (const entry of [
      '*',
      'hooks.example.com',
      '*.example.com',
      'localhost',
      '10.0.0.0/8',
      '::1',
      'fe80::/10',
    ])
      expect(targetEntryProblem(entry)).toBeNull();
    expect(targetEntryProblem('10.0.0.0/33')).toMatch(/prefix length/);
    expect(targetEntryProblem('hooks.example.com:8080')).toMatch(/not an IP address/);
    expect(targetEntryProblem('*example.com')).toMatch(/not '\*', a host name/);
    expect(targetEntryProblem('a.*.example.com')).not.toBeNull();
    expect(targetEntryProblem('https://hooks.example.com')).not.toBeNull();
    expect(targetEntryProblem('1.2.3')).not.toBeNull();
    expect(targetEntryProblem(':'.repeat(100_000))!.length).toBeLessThan(200);
    expect(() => new TargetPolicy(['10.0.0.0/8', 'bad entry'])).toThrow(
      /subscriptions.allowedTargets: "bad entry"/,
    );
  });

  it('judges entries in time linear in their length', () => {
    for (const unit of ['.', ':', 'a.', '1.', '*.', '/'])
      expect(growth((n) => targetEntryProblem(unit.repeat(n)), 200)).toBeLessThan(LINEAR_BOUND());
  });
});

describe('TargetPolicy.lookup', () => {
  it('refuses localhost when only 10.0.0.0/8 is allowed, naming the address', async () => {
    const { error } = await lookup(new TargetPolicy(['10.0.0.0/8']), 'localhost');
    expect(error?.code).toBe(TARGET_REFUSED);
    expect(error?.message).toMatch(/"localhost" resolved to 127\.0\.0\.1: 127\.0\.0\.1 is not in/);
  });

  it('answers as dns.lookup does, one address or all of them', async () => {
    const policy = new TargetPolicy(['localhost']);
    expect(await lookup(policy, 'localhost')).toEqual({ error: null, address: '127.0.0.1', family: 4 });
    const all = await lookup(policy, 'localhost', true);
    expect(all.error).toBeNull();
    expect(all.address).toContainEqual({ address: '127.0.0.1', family: 4 });
    expect((await lookup(new TargetPolicy(['127.0.0.0/8']), 'localhost')).error).toBeNull();
  });

  it('refuses names not allowed before asking DNS', async () => {
    const resolver = jest.fn<void, Parameters<Resolver>>();
    const { error } = await lookup(new TargetPolicy(['hooks.example.com'], resolver), 'other.example.com');
    expect(error?.code).toBe(TARGET_REFUSED);
    expect(resolver).not.toHaveBeenCalled();
    const metadata = await lookup(new TargetPolicy(['*'], resolver), 'metadata.google.internal.');
    expect(metadata.error?.code).toBe(TARGET_REFUSED);
    expect(resolver).not.toHaveBeenCalled();
  });

  it('refuses an allowed name that resolves to a metadata or link-local address, mapped IPv6 included', async () => {
    for (const address of [
      '169.254.169.254',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      'fe80::1%eth0',
      'fd00:ec2::254',
    ]) {
      const policy = new TargetPolicy(['*', 'hooks.example.com'], answering('192.0.2.1', address));
      const { error } = await lookup(policy, 'hooks.example.com', true);
      expect(error?.code).toBe(TARGET_REFUSED);
      expect(error?.message).toContain(address);
    }
    const allowed = new TargetPolicy(['hooks.example.com'], answering('203.0.113.9'));
    expect((await lookup(allowed, 'hooks.example.com')).address).toBe('203.0.113.9');
  });

  it('never throws, whatever it is given', async () => {
    const policy = new TargetPolicy(['10.0.0.0/8']);
    for (const host of ['', ':'.repeat(100_000), '[', '%', '\u0000', 'a'.repeat(300)]) {
      const { error } = await lookup(policy, host);
      expect(error).not.toBeNull();
    }
  });
});
