import { compileContracts } from '../../../src/asyncapi/compile-contracts';
import { ContractIndex } from '../../../src/asyncapi/contract-index';
import type { SpecOutline } from '../../../src/asyncapi/spec-outline';
import { growth, LINEAR_BOUND } from '../support/growth';

function index(...addresses: string[]): ContractIndex {
  const outline: SpecOutline = {
    asyncapi: '3.0.0',
    title: 't',
    version: '1',
    warnings: [],
    channels: addresses.map((address, i) => ({
      id: `c${i}`,
      topic: address,
      failWhenInvalid: undefined,
      messages: [],
    })),
  };
  return new ContractIndex(compileContracts('s', outline));
}

const channelOf = (contracts: ContractIndex, topic: string) => contracts.lookup(topic)?.channel ?? null;

describe('channel addresses with parameters', () => {
  it('matches each parameter to a non-empty run that ends where the next literal text starts', () => {
    const contracts = index('user.{userId}.signedup', '{env}-orders.{region}', 'a.{x}{y}.b', '{a}.{b}.v1');
    expect(channelOf(contracts, 'user.42.signedup')).toBe('c0');
    expect(channelOf(contracts, 'user..signedup')).toBeNull();
    expect(channelOf(contracts, 'user.42.signedup.x')).toBeNull();
    // The last parameter runs to the address's final literal text, so it may contain it.
    expect(channelOf(contracts, 'user.4.2.signedup')).toBe('c0');
    expect(channelOf(contracts, 'eu-west-orders.1')).toBe('c1');
    expect(channelOf(contracts, '-orders.1')).toBeNull();
    expect(channelOf(contracts, 'a.xy.b')).toBe('c2');
    expect(channelOf(contracts, 'a.x.b')).toBeNull();
    expect(channelOf(contracts, 'x.y.z.v1')).toBe('c3');
    expect(channelOf(contracts, 'x.v1.v1')).toBe('c3');
    expect(channelOf(contracts, '..v1')).toBeNull();
    expect(channelOf(index('{a}.x.{b}'), 'p.q.x.r')).toBe('c0');
    expect(channelOf(index('{a}.{b}.{c}'), 'x..y.z')).toBe('c0');
    expect(channelOf(index('{a}.{b}.{c}'), 'x..')).toBeNull();
  });

  it('takes time linear in the topic name, whatever the topic', () => {
    const contracts = index('{a}.{b}.{c}.v1', 'other.{x}');
    let unique = 0;
    // A new name every time: a remembered answer would hide the matching.
    const lookup = (name: string) => contracts.lookup(`${name}${unique++}`);
    expect(growth((n) => lookup('.'.repeat(n)), 100)).toBeLessThan(LINEAR_BOUND());
    expect(growth((n) => lookup(`${'.'.repeat(n)}.v`), 100)).toBeLessThan(LINEAR_BOUND());
    expect(growth((n) => lookup(`${'a.'.repeat(n)}.v`), 100)).toBeLessThan(LINEAR_BOUND());
    const suffixed = (name: string) => contracts.lookup(`${name}${unique++}.v1`);
    expect(growth((n) => suffixed('.'.repeat(n)), 100)).toBeLessThan(LINEAR_BOUND());
    expect(growth((n) => suffixed('x'.repeat(n)), 100)).toBeLessThan(LINEAR_BOUND());
  });

  it('remembers a bounded number of topic names, and none longer than Kafka allows', () => {
    const contracts = index('t.{x}');
    for (let i = 0; i < 50_000; i++) contracts.lookup(`t.${i}`);
    expect(contracts.rememberedTopics()).toBeLessThanOrEqual(10_000);
    const before = contracts.rememberedTopics();
    expect(contracts.lookup(`t.${'x'.repeat(30_000)}`)?.channel).toBe('c0');
    expect(contracts.rememberedTopics()).toBe(before);
  });
});
