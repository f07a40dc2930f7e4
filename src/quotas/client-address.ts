import { BlockList, isIP } from 'node:net';

const IPV4_MAPPED = '::ffff:';

/**
 * The IP address a quota or connection limit counts a client by. A dual-stack listener reports
 * IPv4 clients as IPv4-mapped IPv6 addresses (::ffff:10.0.0.1); they are the same client as
 * 10.0.0.1 and must share its count.
 */
export function normalizeIp(address: string): string {
  if (address.startsWith(IPV4_MAPPED) && isIP(address.slice(IPV4_MAPPED.length)) === 4)
    return address.slice(IPV4_MAPPED.length);
  return address;
}

/** The IP address of a connection's `host:port` (the form connections report their client by). */
export function ipOfHostPort(hostPort: string): string {
  const at = hostPort.lastIndexOf(':');
  return normalizeIp(at < 0 ? hostPort : hostPort.slice(0, at));
}

/** Why `entry` is not an IP address or CIDR block (an allow list's entry), or null when it is one. */
export function addressEntryProblem(entry: string): string | null {
  const [ip, prefix, extra] = entry.split('/');
  const family = isIP(ip);
  const bits = family === 6 ? 128 : 32;
  if (family === 0 || extra !== undefined) return `'${entry}' is not an IP address or CIDR block`;
  if (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits))
    return `'${entry}' has a prefix length outside 0-${bits}`;
  return null;
}

/**
 * Matches client addresses against IPs and CIDR blocks (entries addressEntryProblem accepts). An
 * IPv4-mapped address is matched as the IPv4 client it is.
 */
export function addressMatcher(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [ip, prefix] = entry.split('/');
    const type = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(prefix), type);
  }
  return (address) => {
    const ip = normalizeIp(address);
    const family = isIP(ip);
    return family !== 0 && list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  };
}
