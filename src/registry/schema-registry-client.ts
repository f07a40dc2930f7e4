/** A schema as the registry holds it. */
export interface RegisteredSchema {
  id: number;
  schemaType: 'AVRO' | 'PROTOBUF' | 'JSON';
  schema: string;
  references: { name: string; subject: string; version: number }[];
}

/** What the registry said about an id: its schema, that it has none, or nothing (it could not be asked). */
export type SchemaLookup =
  | { kind: 'found'; schema: RegisteredSchema }
  | { kind: 'unknown'; id: number }
  | { kind: 'unavailable'; reason: string };

/** Which of a registry's numberings an id in a record is. */
export type SchemaIdKind = 'confluent' | 'globalId' | 'contentId';

export interface SchemaRegistryClient {
  /** Asks the registry (or its cache) about an id. Never rejects: failures are `unavailable`. */
  lookup(id: number, idKind?: SchemaIdKind): Promise<SchemaLookup>;
  /** What the cache knows now, without asking: for the produce path, which must not wait when it need not. */
  cached(id: number, idKind?: SchemaIdKind): SchemaLookup | undefined;
  close(): void;
}
