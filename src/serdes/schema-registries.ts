import type { SchemaRegistryClient } from '../registry/schema-lookup';
import { SchemaIdJudge, type SchemaIdSettings } from './schema-id-judge';

export interface SchemaRegistrySettings extends SchemaIdSettings {
  /** The registry to ask; absent: the one a spec's Kafka server binding names, if `fromSpecs`. */
  url?: string;
  vendor: 'confluent' | 'apicurio';
  /**
   * Whether a spec's `schemaRegistryUrl` is used when `url` is not set. Off by default: it would let
   * whoever uploads a spec choose where the gateway sends requests.
   */
  fromSpecs: boolean;
}

/** Builds a client for a registry at `url` (the registry room's client, or a stand-in in tests). */
export type SchemaRegistryConnector = (url: string, vendor: string) => SchemaRegistryClient;

/**
 * The registries the gateway checks schema ids against: one client and one judge per registry URL,
 * made on first use and kept until the gateway stops.
 */
export class SchemaRegistries {
  private readonly judges = new Map<string, SchemaIdJudge>();
  private readonly clients: SchemaRegistryClient[] = [];

  constructor(
    private readonly settings: SchemaRegistrySettings,
    private readonly connect: SchemaRegistryConnector,
    private readonly onUnavailable: (reason: string) => void = () => {},
  ) {}

  /** The judge for a channel's records, or undefined when no registry applies (ids are then not resolved). */
  judgeFor(contract: {
    schemaRegistry?: { url: string; vendor: string | undefined };
  }): SchemaIdJudge | undefined {
    const url = this.settings.url ?? (this.settings.fromSpecs ? contract.schemaRegistry?.url : undefined);
    if (url === undefined) return undefined;
    let judge = this.judges.get(url);
    if (judge === undefined) {
      const vendor =
        this.settings.url === undefined
          ? (contract.schemaRegistry?.vendor ?? this.settings.vendor)
          : this.settings.vendor;
      const client = this.connect(url, vendor);
      this.clients.push(client);
      judge = new SchemaIdJudge(client, this.settings, this.onUnavailable);
      this.judges.set(url, judge);
    }
    return judge;
  }

  close(): void {
    for (const client of this.clients) client.close();
    this.clients.length = 0;
    this.judges.clear();
  }
}
