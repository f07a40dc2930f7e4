import type { ChannelContract } from './channel-contract';

const MEMO_LIMIT = 10_000;
/**
 * Kafka refuses longer topic names, but a Produce request may still carry one (its strings take up
 * to 32 KiB): such names are matched and not remembered, so the memo stays a few megabytes at most.
 */
const MAX_TOPIC_LENGTH = 249;

/**
 * Finds the contract for a topic. Exact topic names win over parameterised addresses; among
 * several, the most recently loaded spec wins. Immutable: the store swaps in a new index when
 * specs change, so a produce request sees one consistent set from start to end.
 */
export class ContractIndex {
  private readonly exact = new Map<string, ChannelContract>();
  private readonly patterns: ChannelContract[] = [];
  /** Address matches are remembered per topic name (bounded), so each name is matched once. */
  private readonly memo = new Map<string, ChannelContract | null>();
  /** CloudEvents type → the topics whose contract in force carries it. */
  private readonly eventTopics = new Map<string, string[]>();

  constructor(contractsInLoadOrder: readonly ChannelContract[]) {
    for (let i = contractsInLoadOrder.length - 1; i >= 0; i--) {
      const contract = contractsInLoadOrder[i];
      if (contract.pattern === null) {
        if (!this.exact.has(contract.topic)) this.exact.set(contract.topic, contract);
      } else {
        this.patterns.push(contract);
      }
    }
    // Only contracts in force count: a channel whose topic a later spec took over routes nothing.
    // A parameterised address is not a topic one can write to, so it routes nothing either.
    for (const [topic, contract] of this.exact) {
      for (const type of new Set(contract.messages.flatMap((message) => message.eventTypes))) {
        const topics = this.eventTopics.get(type);
        if (topics === undefined) this.eventTopics.set(type, [topic]);
        else topics.push(topic);
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
      if (topic.length <= MAX_TOPIC_LENGTH) {
        if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
        this.memo.set(topic, found);
      }
    }
    return found ?? undefined;
  }

  /** The topics whose channel declares a message carrying this CloudEvents type. */
  topicsForEventType(type: string): readonly string[] {
    return this.eventTopics.get(type) ?? [];
  }

  /** How many topic names are remembered now. */
  rememberedTopics(): number {
    return this.memo.size;
  }
}
