/**
 * What the validation engine asks a schema registry and what it gets back. Records carry a schema
 * id; the engine needs the registered schema for it, or to know that there is none, or that the
 * registry could not be asked. Lookups never throw: every failure is one of these answers.
 */

export type SchemaType = 'AVRO' | 'PROTOBUF' | 'JSON';

/**
 * Which id a record carries: Confluent framing (and Apicurio's ccompat API) uses the registry's
 * schema id; Apicurio's own framing carries a global id (one per artifact version) or a content id.
 */
export type SchemaIdKind = 'confluent' | 'globalId' | 'contentId';

export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

export interface RegisteredSchema {
  id: number;
  schemaType: SchemaType;
  schema: string;
  references: SchemaReference[];
  /** The kind of id `id` is. */
  idKind: SchemaIdKind;
}

export type SchemaLookup =
  | { kind: 'found'; schema: RegisteredSchema }
  | { kind: 'unknown'; id: number }
  | { kind: 'unavailable'; reason: string };

export interface SchemaRegistryClient {
  /** The schema registered under `id`, fetched from the registry unless cached. Never rejects. */
  lookup(id: number, idKind?: SchemaIdKind): Promise<SchemaLookup>;
  /**
   * Synchronous cache probe for the hot path: a cached answer, or undefined when only `lookup`
   * can tell. A stale cached schema is still returned (and refreshed in the background).
   */
  cached(id: number, idKind?: SchemaIdKind): SchemaLookup | undefined;
  /** Aborts requests in flight and drops the cache; later lookups answer `unavailable`. */
  close(): void;
}
