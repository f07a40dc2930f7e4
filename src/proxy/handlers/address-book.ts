import type { BrokerEndpoint } from '../broker-directory';

/**
 * What the response handlers need from the gateway: where each broker appears to clients, and a
 * way to report brokers and topic ids they saw so that listeners and lookups follow the cluster.
 */
export interface AddressBook {
  readonly advertisedHost: string;
  gatewayPortFor(nodeId: number): number;
  /** Resolves once every broker in `endpoints` has a listening gateway port (undefined: nothing new). */
  registerBrokers(endpoints: BrokerEndpoint[]): Promise<void> | undefined;
  rememberTopic(topicId: string, name: string): void;
  topicName(topicId: string): string | undefined;
}

/** A broker address as a response carries it, in whichever field names its API uses. */
export interface AddressField {
  host: string;
  port: number;
}

/**
 * Points every address at the gateway. Returns the real endpoints so the caller can register them
 * before the rewritten response reaches the client.
 */
export function rewriteAddresses<T extends AddressField>(
  book: AddressBook,
  entries: readonly T[],
  nodeIdOf: (entry: T) => number,
): BrokerEndpoint[] {
  const seen: BrokerEndpoint[] = [];
  for (const entry of entries) {
    const nodeId = nodeIdOf(entry);
    if (nodeId < 0) continue;
    seen.push({ nodeId, host: entry.host, port: entry.port });
    entry.host = book.advertisedHost;
    entry.port = book.gatewayPortFor(nodeId);
  }
  return seen;
}

/** Hands back `payload` once the brokers behind it can be reached through the gateway. */
export function afterRegistering(
  book: AddressBook,
  endpoints: BrokerEndpoint[],
  payload: Buffer,
): Buffer | Promise<Buffer> {
  const pending = endpoints.length > 0 ? book.registerBrokers(endpoints) : undefined;
  return pending === undefined ? payload : pending.then(() => payload);
}
