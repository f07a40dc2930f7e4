import type { ChannelContract } from './channel-contract';
import { compileContracts } from './compile-contracts';
import { ContractIndex } from './contract-index';
import { SpecError, type SpecDiagnostic } from './spec-error';
import { sharedSpecParser, type SpecParsing } from './spec-parser';
import type { SpecOutline } from './spec-outline';

/** What the store tells about a loaded spec. */
export interface SpecSummary {
  id: string;
  asyncapi: string;
  title: string;
  version: string;
  source: 'file' | 'api';
  loadedAt: string;
  /** The name of the token that uploaded it (never the token); absent for files. */
  loadedBy?: string;
  /** The stored revision it was applied from (its ETag); absent for files. */
  revision?: string;
  channels: {
    channel: string;
    topic: string;
    messages: string[];
    failWhenInvalid?: boolean;
    observe?: boolean;
  }[];
  warnings: SpecDiagnostic[];
}

interface LoadedSpec {
  summary: SpecSummary;
  text: string;
  contracts: ChannelContract[];
}

/** Checked documents kept for their put; more than this in flight at once are parsed again. */
const MAX_CHECKED = 32;

interface Compiled {
  outline: SpecOutline;
  contracts: ChannelContract[];
}

function summarize(
  id: string,
  { outline, contracts }: Compiled,
  source: 'file' | 'api',
  { by, revision }: { by?: string; revision?: string },
): SpecSummary {
  return {
    id,
    asyncapi: outline.asyncapi,
    title: outline.title,
    version: outline.version,
    source,
    loadedAt: new Date().toISOString(),
    ...(by !== undefined && { loadedBy: by }),
    ...(revision !== undefined && { revision }),
    channels: contracts.map((c) => ({
      channel: c.channel,
      topic: c.topic,
      messages: c.messages.map((m) => m.name),
      ...(c.failWhenInvalid === undefined ? {} : { failWhenInvalid: c.failWhenInvalid }),
      ...(c.observe === undefined ? {} : { observe: c.observe }),
    })),
    warnings: outline.warnings,
  };
}

export const SPEC_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The AsyncAPI documents in force. A change is parsed and compiled completely before anything is
 * swapped, and the swap is one assignment: a produce request validates against either the old
 * set or the new one, never a mixture, and a refused document changes nothing.
 */
export class SpecStore {
  private readonly specs = new Map<string, LoadedSpec>();
  private index = new ContractIndex([]);
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: (() => void)[] = [];
  /** Documents checked and not yet put, by id and text: uploads in flight are parsed once. */
  private readonly checked = new Map<string, Compiled>();

  /** `parse` defaults to the gateway's parser thread (see WorkerSpecParser). */
  constructor(private readonly parse: SpecParsing = sharedSpecParser.parse) {}

  /** The contracts for the next produce request. */
  contracts(): ContractIndex {
    return this.index;
  }

  /**
   * The topics whose contracts declare messages of this CloudEvents type (by message name or
   * `x-cloudevents-type`), from the same index produce requests see.
   */
  topicsForEventType(type: string): readonly string[] {
    return this.index.topicsForEventType(type);
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  size(): number {
    return this.specs.size;
  }

  list(): SpecSummary[] {
    return [...this.specs.values()].map((spec) => spec.summary);
  }

  get(id: string): { summary: SpecSummary; text: string } | undefined {
    const spec = this.specs.get(id);
    return spec && { summary: spec.summary, text: spec.text };
  }

  /** Adds or replaces a spec. Resolves to whether it was new; rejects with SpecError and changes nothing when refused. */
  put(
    id: string,
    text: string,
    source: 'file' | 'api',
    stored: { by?: string; revision?: string; validated?: boolean } = {},
  ): Promise<{ created: boolean; summary: SpecSummary }> {
    // Uploads are applied in arrival order even though parsing is asynchronous.
    const run = this.queue.then(() => this.load(id, text, source, stored));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Parses and compiles a document as `put` would, without installing it: a change is checked
   * before it is stored for every instance. The result is kept for the `put` that usually follows;
   * the summary is the one the spec would have.
   */
  check(id: string, text: string): Promise<SpecSummary> {
    const run = this.queue.then(async () => {
      const compiled = await this.compile(id, text);
      if (this.checked.size >= MAX_CHECKED) this.checked.delete(this.checked.keys().next().value!);
      this.checked.set(`${id}\n${text}`, compiled);
      return summarize(id, compiled, 'api', {});
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  delete(id: string): boolean {
    if (!this.specs.delete(id)) return false;
    this.rebuild();
    return true;
  }

  private async load(
    id: string,
    text: string,
    source: 'file' | 'api',
    { by, revision, validated }: { by?: string; revision?: string; validated?: boolean },
  ): Promise<{ created: boolean; summary: SpecSummary }> {
    const key = `${id}\n${text}`;
    const compiled = this.checked.get(key) ?? (await this.compile(id, text, validated));
    const { contracts } = compiled;
    this.checked.delete(key);
    const summary = summarize(id, compiled, source, { by, revision });
    const created = !this.specs.has(id);
    // Re-inserting moves the spec to the end: the latest upload wins a topic claimed twice.
    this.specs.delete(id);
    this.specs.set(id, { summary, text, contracts });
    this.rebuild();
    return { created, summary };
  }

  private async compile(id: string, text: string, validated = false): Promise<Compiled> {
    if (!SPEC_ID_PATTERN.test(id)) {
      throw new SpecError('invalid spec id', [
        { path: '', message: `'${id}' must match ${SPEC_ID_PATTERN.source}` },
      ]);
    }
    const outline = await this.parse(text, id, validated);
    return { outline, contracts: compileContracts(id, outline) };
  }

  private rebuild(): void {
    this.index = new ContractIndex([...this.specs.values()].flatMap((spec) => spec.contracts));
    for (const listener of this.listeners) listener();
  }
}
