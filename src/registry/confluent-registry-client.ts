import type {
  RegisteredSchema,
  SchemaIdKind,
  SchemaLookup,
  SchemaRegistryClient,
} from './schema-registry-client';

export interface RegistryClientSettings {
  timeoutMs: number;
  cacheSize: number;
  /** How long "no such id" is believed before the registry is asked again (the id may be registered since). */
  refreshMs: number;
}

const SCHEMA_TYPES = new Set(['AVRO', 'PROTOBUF', 'JSON']);

/**
 * A client of the Confluent Schema Registry API (`GET /schemas/ids/{id}`), which Confluent's
 * registry serves and Apicurio's at /apis/ccompat/v7. Ids are immutable there, so a schema found is
 * kept (bounded); failures are not kept, so the next record asks again.
 */
export class ConfluentRegistryClient implements SchemaRegistryClient {
  private readonly found = new Map<number, SchemaLookup>();
  private readonly unknown = new Map<number, number>();
  private readonly inFlight = new Map<number, Promise<SchemaLookup>>();
  private readonly base: string;

  constructor(
    url: string,
    private readonly settings: RegistryClientSettings,
  ) {
    this.base = url.replace(/\/+$/, '');
  }

  cached(id: number, idKind: SchemaIdKind = 'confluent'): SchemaLookup | undefined {
    if (idKind !== 'confluent') return undefined;
    const found = this.found.get(id);
    if (found !== undefined) return found;
    const at = this.unknown.get(id);
    if (at !== undefined && Date.now() - at < this.settings.refreshMs) return { kind: 'unknown', id };
    return undefined;
  }

  lookup(id: number, idKind: SchemaIdKind = 'confluent'): Promise<SchemaLookup> {
    if (idKind !== 'confluent')
      return Promise.resolve({
        kind: 'unavailable',
        reason: `${idKind} ids need Apicurio's own API, which this client does not speak`,
      });
    const known = this.cached(id, idKind);
    if (known !== undefined) return Promise.resolve(known);
    let flight = this.inFlight.get(id);
    if (flight === undefined) {
      flight = this.ask(id).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, flight);
    }
    return flight;
  }

  close(): void {
    this.found.clear();
    this.unknown.clear();
  }

  private async ask(id: number): Promise<SchemaLookup> {
    let response: Response;
    try {
      response = await fetch(`${this.base}/schemas/ids/${id}`, {
        headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json' },
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
    } catch (error) {
      return { kind: 'unavailable', reason: (error as Error).message };
    }
    if (response.status === 404) {
      await response.body?.cancel();
      this.remember(this.unknown, id, Date.now());
      return { kind: 'unknown', id };
    }
    if (!response.ok) {
      await response.body?.cancel();
      return { kind: 'unavailable', reason: `the registry answered ${response.status}` };
    }
    let body: { schema?: unknown; schemaType?: unknown; references?: unknown };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      return { kind: 'unavailable', reason: 'the registry answered something other than JSON' };
    }
    if (typeof body.schema !== 'string')
      return { kind: 'unavailable', reason: 'the registry answered without a schema' };
    const schemaType = body.schemaType === undefined ? 'AVRO' : body.schemaType;
    if (typeof schemaType !== 'string' || !SCHEMA_TYPES.has(schemaType))
      return { kind: 'unavailable', reason: `the registry answered an unknown schema type` };
    const schema: RegisteredSchema = {
      id,
      schemaType: schemaType as RegisteredSchema['schemaType'],
      schema: body.schema,
      references: Array.isArray(body.references) ? (body.references as RegisteredSchema['references']) : [],
    };
    const lookup: SchemaLookup = { kind: 'found', schema };
    this.unknown.delete(id);
    this.remember(this.found, id, lookup);
    return lookup;
  }

  private remember<V>(map: Map<number, V>, id: number, value: V): void {
    if (map.size >= this.settings.cacheSize) map.delete(map.keys().next().value!);
    map.set(id, value);
  }
}
