import { normalizeIp } from './client-address';

/**
 * Counts open client connections per IP address and refuses those over the limit. Connections are
 * counted even while no limit is set, so that a limit introduced by a reload applies to the
 * connections already open and not only to those opened after it.
 */
export class ConnectionLimiter {
  private readonly counts = new Map<string, number>();

  constructor(
    private limit: number | undefined,
    private readonly refused?: (address: string, limit: number) => void,
  ) {}

  setLimit(limit: number | undefined): void {
    this.limit = limit;
  }

  /** Counts a new connection from `address`; false (and nothing counted) when it is over the limit. */
  open(address: string): boolean {
    const ip = normalizeIp(address);
    const count = this.counts.get(ip) ?? 0;
    if (this.limit !== undefined && count >= this.limit) {
      this.refused?.(ip, this.limit);
      return false;
    }
    this.counts.set(ip, count + 1);
    return true;
  }

  /** A connection `open` admitted has closed. */
  closed(address: string): void {
    const ip = normalizeIp(address);
    const count = this.counts.get(ip);
    if (count === undefined) return;
    if (count <= 1) this.counts.delete(ip);
    else this.counts.set(ip, count - 1);
  }

  /** Open connections from `address`, or from every address when none is given. */
  count(address?: string): number {
    if (address !== undefined) return this.counts.get(normalizeIp(address)) ?? 0;
    let total = 0;
    for (const count of this.counts.values()) total += count;
    return total;
  }
}
