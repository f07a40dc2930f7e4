import type { SchemaIdKind, SchemaLookup, SchemaRegistryClient } from '../registry/schema-lookup';
import { avroReadable, compileSchema, type BinaryFormat, type CompiledSchema } from './binary-codec';

/** What a record's schema id comes to: the schema to check its bytes with, or why it is refused. */
export type IdVerdict = { schema: CompiledSchema } | { error: string; unavailable?: true };

export interface SchemaIdSettings {
  /** `identical`: the registered schema must be the contract's; `readable`: the contract's must be able to read it (Avro). */
  compatibility: 'identical' | 'readable';
  /** When the registry cannot be asked: refuse the record, tag it, or check it with the contract's schema alone. */
  unavailable: 'reject' | 'tag' | 'pass';
  /** Most verdicts remembered per contract schema. */
  cacheSize: number;
}

const ANSWER_MS = 1_000;

const KIND_INDEX: Record<SchemaIdKind, number> = { confluent: 0, globalId: 1, contentId: 2 };

const REGISTRY_TYPES: Record<BinaryFormat, string> = { avro: 'AVRO', protobuf: 'PROTOBUF' };

/**
 * Judges the schema ids records carry against a registry. On the produce path it answers from
 * what is already known (`judge`, synchronous); an id not yet known is looked up meanwhile, and
 * the caller awaits `settled()` and judges again. Schema ids are immutable in a registry, so a
 * verdict about one, once reached, is kept (bounded); only "unknown" and "unavailable" are asked again.
 */
export class SchemaIdJudge {
  private readonly compiled = new Map<number, CompiledSchema | string>();
  private readonly verdicts = new WeakMap<CompiledSchema, Map<number, IdVerdict>>();
  private readonly inFlight = new Map<number, Promise<SchemaLookup>>();
  /** Lookups answered since they were started, for the caller's second look (the client may not cache failures). */
  private readonly answered = new Map<number, { lookup: SchemaLookup; at: number }>();
  private waiting: Promise<unknown>[] = [];
  /** True once a verdict of this check was "registry unavailable" (the caller applies the policy). */
  unavailableSeen = false;

  constructor(
    private readonly client: SchemaRegistryClient,
    private readonly settings: SchemaIdSettings,
    private readonly onUnavailable: (reason: string) => void = () => {},
  ) {}

  /** Whether this check is the second look of a record that waited for lookups. */
  private again = false;

  /**
   * Starts a check of one record: forgets what the previous one waited for and saw. `again`: the
   * record waited for the lookups its first check started, whose answers it may now use even
   * when the client keeps none (unknown, unavailable); a new record asks anew instead.
   */
  begin(again = false): void {
    this.waiting = [];
    this.unavailableSeen = false;
    this.again = again;
  }

  /** Lookups the check started; await them, then judge the record again. */
  pending(): Promise<unknown>[] {
    return this.waiting;
  }

  judge(id: number, kind: SchemaIdKind, contract: CompiledSchema): IdVerdict | undefined {
    // A number, not a string: judging a record of a known id allocates nothing.
    const key = id * 3 + KIND_INDEX[kind];
    let byId = this.verdicts.get(contract);
    const known = byId?.get(key);
    if (known !== undefined) return known;
    const lookup = this.client.cached(id, kind) ?? this.recentAnswer(key);
    if (lookup === undefined) {
      this.ask(id, kind, key);
      return undefined;
    }
    switch (lookup.kind) {
      case 'unknown':
        return { error: `unknown schema id ${id}` };
      case 'unavailable':
        this.onUnavailable(lookup.reason);
        if (this.settings.unavailable === 'pass') return { schema: contract };
        this.unavailableSeen = true;
        return {
          error: `schema registry unavailable (${lookup.reason}); schema id ${id} not checked`,
          unavailable: true,
        };
    }
    const verdict = this.verdictFor(lookup.schema.schemaType, lookup.schema.schema, id, key, contract);
    if (byId === undefined) {
      byId = new Map();
      this.verdicts.set(contract, byId);
    }
    if (byId.size >= this.settings.cacheSize) byId.clear();
    byId.set(key, verdict);
    return verdict;
  }

  private verdictFor(
    schemaType: string,
    text: string,
    id: number,
    key: number,
    contract: CompiledSchema,
  ): IdVerdict {
    if (schemaType !== REGISTRY_TYPES[contract.format])
      return {
        error: `schema ${id} is not the contract's schema (it is ${schemaType}, the contract ${contract.format})`,
      };
    let registered = this.compiled.get(key);
    if (registered === undefined) {
      try {
        registered = compileSchema(contract.format, contract.format === 'avro' ? JSON.parse(text) : text);
      } catch (error) {
        registered = `schema ${id} cannot be read: ${(error as Error).message}`;
      }
      if (this.compiled.size >= this.settings.cacheSize) this.compiled.clear();
      this.compiled.set(key, registered);
    }
    if (typeof registered === 'string') return { error: registered };
    if (registered.canonical === contract.canonical) return { schema: contract };
    // The record was written with the registered schema: readable means its bytes are checked with that one.
    if (this.settings.compatibility === 'readable' && avroReadable(contract, registered))
      return { schema: registered };
    return {
      error:
        this.settings.compatibility === 'readable'
          ? `schema ${id} is not the contract's schema and the contract's cannot read it`
          : `schema ${id} is not the contract's schema`,
    };
  }

  /** An answer the client may not keep (unknown, unavailable) serves the records that waited for it, briefly. */
  private recentAnswer(key: number): SchemaLookup | undefined {
    if (!this.again) return undefined;
    const answer = this.answered.get(key);
    if (answer === undefined) return undefined;
    if (Date.now() - answer.at <= ANSWER_MS) return answer.lookup;
    this.answered.delete(key);
    return undefined;
  }

  private ask(id: number, kind: SchemaIdKind, key: number): void {
    let flight = this.inFlight.get(key);
    if (flight === undefined) {
      flight = this.client
        .lookup(id, kind)
        .catch((error: unknown): SchemaLookup => ({ kind: 'unavailable', reason: (error as Error).message }))
        .then((lookup) => {
          this.inFlight.delete(key);
          if (this.answered.size >= this.settings.cacheSize) this.answered.clear();
          this.answered.set(key, { lookup, at: Date.now() });
          return lookup;
        });
      this.inFlight.set(key, flight);
    }
    this.waiting.push(flight);
  }
}
