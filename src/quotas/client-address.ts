import { isIP } from 'node:net';

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
