/** What the connection reports as traffic flows (metrics hang off this; declared here so that metrics need nothing from the proxy). */
export interface ConnectionObserver {
  opened(): void;
  closed(): void;
  /** A client request arrived. */
  request(apiKey: number): void;
  /** The broker answered a forwarded request after `seconds`. */
  brokerResponse(apiKey: number, seconds: number): void;
  bytes(direction: 'client_to_broker' | 'broker_to_client', count: number): void;
}
