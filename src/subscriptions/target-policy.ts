import * as dns from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { addressEntryProblem, addressMatcher } from '../quotas/client-address';

/** The code of the error `TargetPolicy.lookup` fails with when a target resolves to an address it refuses. */
export const TARGET_REFUSED = 'EGW_TARGET_REFUSED';

/** How `lookup` asks DNS; `dns.lookup` unless a test puts its own answers in. */
export type Resolver = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

/** The longest DNS name; anything longer is no host, and bounds the work done on hostile input. */
const MAX_HOST_LENGTH = 253;
/** The longest IP literal worth parsing: a full IPv6 address with an embedded IPv4 and a zone id. */
const MAX_IP_LENGTH = 64;
const HOST_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Addresses that reach the machine the gateway runs on, or its cloud provider's instance metadata
 * (credentials included), rather than anything on the network. They are only reachable when an
 * entry inside their block names them: `*` or `0.0.0.0/0` was meant for "anything out there".
 * The most specific block comes first, so that allowing link-local does not allow the metadata
 * address inside it.
 */
const GUARDED_BLOCKS: readonly { cidr: string; what: string }[] = [
  { cidr: '169.254.169.254/32', what: 'a cloud metadata address' },
  { cidr: 'fd00:ec2::254/128', what: 'a cloud metadata address' },
  { cidr: '100.100.100.200/32', what: 'a cloud metadata address' },
  { cidr: '169.254.0.0/16', what: 'a link-local address' },
  { cidr: 'fe80::/10', what: 'a link-local address' },
];
const GUARDED_HOSTS = new Set(['metadata.google.internal']);

interface Block {
  ip: string;
  family: 4 | 6;
  prefix: number;
}

interface GuardedBlock {
  block: Block;
  what: string;
  contains: (ip: string) => boolean;
  /** The entries that lie inside the block, and so name it explicitly. */
  allowedBy: (ip: string) => boolean;
}

/** Why `entry` cannot be an entry of subscriptions.allowedTargets, or null when it can. */
export function targetEntryProblem(entry: string): string | null {
  if (entry === '*') return null;
  const shown = quote(entry);
  if (entry.length > MAX_HOST_LENGTH + 2)
    return `${shown} is too long for a host name, IP address or CIDR block`;
  if (/^[\d.]+$|[:/]/.test(entry)) return addressEntryProblem(entry);
  const name = entry.startsWith('*.') ? entry.slice(2) : entry;
  if (!isHostName(name.toLowerCase()))
    return `${shown} is not '*', a host name, '*.' and a domain, an IP address or a CIDR block`;
  return null;
}

/**
 * Which hosts subscriptions may deliver to (subscriptions.allowedTargets). A host name entry trusts
 * DNS for that name; IP and CIDR entries restrict the addresses any name resolves to. `problem`
 * judges a URL when a subscription is stored; `lookup` judges every connection, so that a name
 * that later resolves somewhere else (DNS rebinding) still cannot reach what is not allowed.
 */
export class TargetPolicy {
  private readonly anyHost: boolean;
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly hasAddressEntries: boolean;
  private readonly addressAllowed: (ip: string) => boolean;
  private readonly guarded: GuardedBlock[];

  constructor(
    allowedTargets: readonly string[],
    private readonly resolver: Resolver = dns.lookup,
  ) {
    const addresses: string[] = [];
    for (const entry of allowedTargets) {
      const problem = targetEntryProblem(entry);
      if (problem !== null) throw new Error(`subscriptions.allowedTargets: ${problem}`);
      if (entry === '*') continue;
      if (addressEntryProblem(entry) === null) addresses.push(entry);
      else if (entry.startsWith('*.')) this.suffixes.push(normalizeHost(entry.slice(1)));
      else this.hosts.add(normalizeHost(entry));
    }
    this.anyHost = allowedTargets.includes('*');
    this.hasAddressEntries = addresses.length > 0;
    const blocks = addresses.map(parseBlock);
    this.addressAllowed = addressMatcher(blocks.map(blockText));
    this.guarded = GUARDED_BLOCKS.map(({ cidr, what }) => {
      const block = parseBlock(cidr);
      const contains = addressMatcher([cidr]);
      const inside = blocks.filter(
        (b) => b.family === block.family && b.prefix >= block.prefix && contains(b.ip),
      );
      return { block, what, contains, allowedBy: addressMatcher(inside.map(blockText)) };
    });
  }

  /** Why the gateway may not deliver to `url`, or null when it may (its addresses are judged again on connecting). */
  problem(url: URL): string | null {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return `the scheme ${quote(url.protocol)} is not http or https`;
    const host = stripBrackets(url.hostname);
    const ip = canonicalIp(host);
    if (ip !== null) return this.addressProblem(ip);
    const name = normalizeHost(host);
    if (name.length > MAX_HOST_LENGTH) return `the host ${quote(host)} is longer than a DNS name may be`;
    if (!isHostName(name)) return `the host ${quote(host)} is not a DNS name`;
    if (GUARDED_HOSTS.has(name) && !this.hosts.has(name))
      return `the host ${quote(name)} is a cloud metadata service; only an entry naming it allows it`;
    if (this.nameAllowed(name)) return null;
    // Only the addresses the name resolves to can say whether it is allowed; `lookup` judges them.
    if (this.hasAddressEntries) return null;
    return `the host ${quote(name)} is not in subscriptions.allowedTargets`;
  }

  /**
   * `problem`, and for a name, the addresses it resolves to now: a subscription to a name that
   * resolves where it may not go (a metadata service behind an allowed name, or `*`) is refused
   * when it is stored, not first found out when a delivery is refused. A name that does not
   * resolve yet is left to `lookup`.
   */
  async storedProblem(url: URL, timeoutMs = 2_000): Promise<string | null> {
    const problem = this.problem(url);
    if (problem !== null) return problem;
    const host = stripBrackets(url.hostname);
    if (canonicalIp(host) !== null) return null;
    const addresses = await new Promise<dns.LookupAddress[]>((resolve) => {
      const timer = setTimeout(() => resolve([]), timeoutMs);
      this.resolver(host, { all: true }, (error, found) => {
        clearTimeout(timer);
        resolve(error === null ? found : []);
      });
    });
    for (const { address } of addresses) {
      const refused = this.addressProblem(address, host);
      if (refused !== null) return `the host ${quote(host)} resolves to ${refused}`;
    }
    return null;
  }

  /** Why the gateway may not connect to `address` for `hostname` (a name, or the address itself), or null. */
  addressProblem(address: string, hostname?: string): string | null {
    const ip = canonicalIp(stripBrackets(address));
    if (ip === null) return `${quote(address)} is not an IP address`;
    for (const guarded of this.guarded) {
      if (!guarded.contains(ip)) continue;
      if (guarded.allowedBy(ip)) return null;
      return `${ip} is ${guarded.what}; only an entry naming it (or a block inside ${guarded.block.ip}/${guarded.block.prefix}) allows it`;
    }
    if (this.anyHost || this.addressAllowed(ip)) return null;
    if (hostname !== undefined && canonicalIp(stripBrackets(hostname)) === null) {
      const name = normalizeHost(hostname);
      if (name.length <= MAX_HOST_LENGTH && this.nameAllowed(name)) return null;
    }
    return `${ip} is not in subscriptions.allowedTargets`;
  }

  /**
   * `dns.lookup` for http.Agent and http.request: resolves `hostname`, and fails with code
   * EGW_TARGET_REFUSED, naming the address, when any address it resolves to is not allowed. A
   * mixed answer is refused whole rather than filtered, as it is what DNS rebinding looks like.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const all = options?.all === true;
    const answer = (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[] = []) => {
      if (error !== null) callback(error, all ? [] : '', undefined);
      else if (all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    };
    try {
      const early = this.hostProblem(String(hostname));
      if (early !== null) return process.nextTick(answer, refusal(early, hostname));
      this.resolver(hostname, { ...options, all: true }, (error, addresses) => {
        if (error !== null) return answer(error);
        if (addresses.length === 0)
          return answer(Object.assign(new Error(`no address for ${quote(hostname)}`), { code: 'ENOTFOUND' }));
        for (const { address } of addresses) {
          const problem = this.addressProblem(address, hostname);
          if (problem !== null)
            return answer(
              refusal(`${quote(hostname)} resolved to ${address}: ${problem}`, hostname, address),
            );
        }
        answer(null, addresses);
      });
    } catch (error) {
      // Hostile input must reach the caller as an error, never as an exception out of a socket's connect.
      process.nextTick(
        answer,
        typeof (error as Error)?.message === 'string' ? (error as Error) : new Error(String(error)),
      );
    }
  };

  /** What can be refused before asking DNS: names no answer could make allowed. */
  private hostProblem(hostname: string): string | null {
    const host = stripBrackets(hostname);
    if (canonicalIp(host) !== null) return null;
    const name = normalizeHost(host);
    if (name.length > MAX_HOST_LENGTH) return `${quote(host)} is longer than a DNS name may be`;
    if (!isHostName(name)) return `${quote(host)} is not a DNS name`;
    if (GUARDED_HOSTS.has(name) && !this.hosts.has(name))
      return `${quote(name)} is a cloud metadata service; only an entry naming it allows it`;
    if (this.anyHost || this.hasAddressEntries || this.nameAllowed(name)) return null;
    return `${quote(name)} is not in subscriptions.allowedTargets`;
  }

  private nameAllowed(name: string): boolean {
    if (this.anyHost || this.hosts.has(name)) return true;
    return this.suffixes.some((suffix) => name.length > suffix.length && name.endsWith(suffix));
  }
}

function refusal(message: string, hostname: string, address?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`target refused: ${message}`), { code: TARGET_REFUSED, hostname, address });
}

/** Host names compare without case and without the root's trailing dot. */
function normalizeHost(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function isHostName(name: string): boolean {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  return (
    bare.length > 0 &&
    bare.length <= MAX_HOST_LENGTH &&
    bare.split('.').every((label) => HOST_LABEL.test(label))
  );
}

const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/**
 * The address an IP literal connects to, in the form entries are matched in: without a zone id,
 * and an IPv4-mapped IPv6 address (however written: URLs write ::ffff:169.254.169.254 as
 * ::ffff:a9fe:a9fe) as the IPv4 address it reaches. Null when `text` is no IP address.
 */
function canonicalIp(text: string): string | null {
  if (text.length > MAX_IP_LENGTH) return null;
  const percent = text.indexOf('%');
  const ip = percent < 0 ? text : text.slice(0, percent);
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family !== 6) return null;
  if (!MAPPED.check(ip, 'ipv6')) return ip.toLowerCase();
  const groups = ipv6Groups(ip);
  const high = groups[6];
  const low = groups[7];
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** The eight 16-bit groups of an address isIP has accepted as IPv6 (an embedded IPv4 tail included). */
function ipv6Groups(ip: string): number[] {
  const parse = (part: string): number[] => {
    if (part === '') return [];
    const words: number[] = [];
    for (const word of part.split(':')) {
      if (word.includes('.')) {
        const [a, b, c, d] = word.split('.').map(Number);
        words.push((a << 8) | b, (c << 8) | d);
      } else words.push(parseInt(word, 16));
    }
    return words;
  };
  const gap = ip.indexOf('::');
  if (gap < 0) return parse(ip);
  const head = parse(ip.slice(0, gap));
  const tail = parse(ip.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** An entry addressEntryProblem accepts, as a block; an IPv4-mapped one as the IPv4 block it covers. */
function parseBlock(entry: string): Block {
  const [text, prefixText] = entry.split('/');
  const ip = canonicalIp(text) ?? text;
  const prefix = prefixText === undefined ? undefined : Number(prefixText);
  if (isIP(ip) === 4) {
    const mapped = isIP(text) === 6;
    if (mapped && prefix !== undefined && prefix < 96) return { ip: text.toLowerCase(), family: 6, prefix };
    return { ip, family: 4, prefix: prefix === undefined ? 32 : mapped ? prefix - 96 : prefix };
  }
  return { ip, family: 6, prefix: prefix ?? 128 };
}

function blockText(block: Block): string {
  return `${block.ip}/${block.prefix}`;
}

/** Quoted for a message, and shortened: hosts come from whoever stores a subscription. */
function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
