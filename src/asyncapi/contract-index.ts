import type { ChannelContract } from './channel-contract';

const MEMO_LIMIT = 10_000;

/**
 * Finds the contract for a topic. Exact topic names win over parameterised addresses; among
 * several, the most recently loaded spec wins. Immutable: the store swaps in a new index when
 * specs change, so a produce request sees one consistent set from start to end.
 */
export class ContractIndex {
  private readonly exact = new Map<string, ChannelContract>();
  private readonly patterns: ChannelContract[] = [];
  /** Pattern matches are remembered per topic name (bounded), so a regex runs once per topic. */
  private readonly memo = new Map<string, ChannelContract | null>();

  constructor(contractsInLoadOrder: readonly ChannelContract[]) {
    for (let i = contractsInLoadOrder.length - 1; i >= 0; i--) {
      const contract = contractsInLoadOrder[i];
      if (contract.pattern === null) {
        if (!this.exact.has(contract.topic)) this.exact.set(contract.topic, contract);
      } else {
        this.patterns.push(contract);
      }
    }
  }

  get empty(): boolean {
    return this.exact.size === 0 && this.patterns.length === 0;
  }

  lookup(topic: string): ChannelContract | undefined {
    const exact = this.exact.get(topic);
    if (exact !== undefined || this.patterns.length === 0) return exact;
    let found = this.memo.get(topic);
    if (found === undefined) {
      found = this.patterns.find((contract) => contract.pattern!.test(topic)) ?? null;
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      this.memo.set(topic, found);
    }
    return found ?? undefined;
  }
}
