/** Where a broker really is, as the cluster's metadata says. */
export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
}

export interface PortPlan {
  bootstrapPort: number;
  brokerPortBase: number;
  brokerPorts: Record<string, number>;
}

/**
 * What the gateway knows about the cluster behind it: each broker's real address and the gateway
 * port that stands for it, and topic ids to names (Produce v13 names topics by id only). It is fed
 * by every metadata response that passes through, so it follows the cluster as it changes.
 */
export class BrokerDirectory {
  private readonly brokers = new Map<number, BrokerEndpoint>();
  private readonly topicNames = new Map<string, string>();

  constructor(private readonly ports: PortPlan) {}

  /** Gateway port for a node id: an explicit mapping wins, otherwise base + node id. */
  gatewayPortFor(nodeId: number): number {
    return this.ports.brokerPorts[String(nodeId)] ?? this.ports.brokerPortBase + nodeId;
  }

  /** Records brokers and returns the node ids not seen before (their listeners must be opened). */
  update(endpoints: Iterable<BrokerEndpoint>): number[] {
    const added: number[] = [];
    for (const endpoint of endpoints) {
      const known = this.brokers.get(endpoint.nodeId);
      if (known === undefined) added.push(endpoint.nodeId);
      if (known === undefined || known.host !== endpoint.host || known.port !== endpoint.port) {
        this.brokers.set(endpoint.nodeId, {
          nodeId: endpoint.nodeId,
          host: endpoint.host,
          port: endpoint.port,
        });
      }
    }
    return added;
  }

  broker(nodeId: number): BrokerEndpoint | undefined {
    return this.brokers.get(nodeId);
  }

  all(): BrokerEndpoint[] {
    return [...this.brokers.values()];
  }

  rememberTopic(topicId: string, name: string): void {
    if (this.topicNames.get(topicId) !== name) this.topicNames.set(topicId, name);
  }

  topicName(topicId: string): string | undefined {
    return this.topicNames.get(topicId);
  }
}
