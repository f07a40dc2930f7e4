import type { Logger } from '../observability/logger';
import { StaleRevisionError, StateUnavailableError, withTimeout } from './state-errors';
import { StateLedger, stateKey, type Applied, type StateEntry, type StateRecordValue } from './state-ledger';
import type { StateLog } from './state-log';

export { StaleRevisionError, StateUnavailableError } from './state-errors';

export interface StateStoreOptions {
  /** How long a write may wait for Kafka's acknowledgement and for being applied here. */
  writeTimeoutMs: number;
  /** Kinds whose past revisions are kept (as `<kind>.revision` documents), and how many. */
  history?: Record<string, number>;
}

export interface WriteOptions {
  /** Only if the document is at this revision (HTTP If-Match). */
  ifMatch?: string;
  /** Only if there is no such document yet (HTTP If-None-Match: *). */
  ifNoneMatch?: boolean;
  by?: string;
}

export type StateListener = (change: Applied) => void | Promise<void>;

/** A past revision of a document, as `GET .../revisions` lists it. */
export interface RevisionInfo {
  revision: string;
  updatedAt: string;
  by?: string;
}

const RECENT_RESULTS = 1024;

/**
 * Gateway state kept in a log (a compacted Kafka topic) and applied by every instance: each reads
 * the log from the beginning at start, then follows it. A write answers once the log has it
 * (acks=all) and this instance has applied it, so its caller reads what it wrote.
 */
export class StateStore {
  private readonly ledger = new StateLedger();
  private readonly listeners = new Map<string, StateListener[]>();
  /** Outcomes of the latest records by offset, for the writer that waits on one. */
  private readonly recent = new Map<number, Applied | null>();
  private readonly waiters = new Map<number, ((applied: Applied | null) => void)[]>();
  private appliedOffset = -1;
  private loaded = false;
  private stopped = false;

  constructor(
    private readonly log: StateLog,
    private readonly options: StateStoreOptions,
    private readonly logger: Logger,
  ) {}

  /** Called for every change of `kind`, in log order; the next record waits for it. */
  onChange(kind: string, listener: StateListener): void {
    const list = this.listeners.get(kind) ?? [];
    list.push(listener);
    this.listeners.set(kind, list);
  }

  get<T = unknown>(kind: string, id: string): StateEntry<T> | undefined {
    return this.ledger.get(kind, id) as StateEntry<T> | undefined;
  }

  list<T = unknown>(kind: string): StateEntry<T>[] {
    return this.ledger.list(kind) as StateEntry<T>[];
  }

  revisions(kind: string, id: string): RevisionInfo[] {
    const prefix = `${id}/`;
    return this.ledger
      .list(`${kind}.revision`)
      .filter((entry) => entry.id.startsWith(prefix))
      .map((entry) => ({
        revision: entry.id.slice(prefix.length),
        updatedAt: entry.updatedAt,
        ...(entry.by !== undefined && { by: entry.by }),
      }))
      .sort((a, b) => Number(b.revision) - Number(a.revision));
  }

  revision<T = unknown>(kind: string, id: string, revision: string): StateEntry<T> | undefined {
    return this.ledger.get(`${kind}.revision`, `${id}/${revision}`) as StateEntry<T> | undefined;
  }

  /** For /readyz: whether the whole log has been read and is being followed. */
  health(): { ready: boolean; detail: string } {
    if (!this.loaded)
      return { ready: false, detail: `failing: loading (${this.appliedOffset + 1} records read)` };
    const following = this.log.following();
    if (!following.ok) return { ready: false, detail: `failing: ${following.detail}` };
    return { ready: true, detail: `${following.detail} at offset ${this.appliedOffset}` };
  }

  /** Reads the log to its end; resolves once everything stored is applied. */
  async start(timeoutMs = 120_000): Promise<void> {
    const last = await this.log.start((offset, key, value) => this.onRecord(offset, key, value));
    const deadline = Date.now() + timeoutMs;
    while (this.appliedOffset < last) {
      if (this.stopped) return;
      if (Date.now() > deadline) {
        throw new Error(
          `state: read ${this.appliedOffset + 1} of ${last + 1} records of ${this.log.name} in ${timeoutMs} ms`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.loaded = true;
    this.logger.info({ log: this.log.name, records: last + 1 }, 'state loaded');
    for (const { kind, id, entry } of this.ledger.needingRestatement()) this.restate(kind, id, entry);
  }

  private async onRecord(offset: number, key: Buffer | null, value: Buffer | null): Promise<void> {
    if (offset <= this.appliedOffset) return;
    const applied = this.ledger.apply(String(offset), key, value);
    if (applied !== null && (applied.outcome === 'applied' || applied.outcome === 'deleted')) {
      for (const listener of this.listeners.get(applied.kind) ?? []) {
        try {
          await listener(applied);
        } catch (error) {
          this.logger.error(
            { kind: applied.kind, id: applied.id, offset, err: (error as Error).message },
            'state: a stored change could not be applied here',
          );
        }
      }
    }
    this.appliedOffset = offset;
    this.recent.set(offset, applied);
    if (this.recent.size > RECENT_RESULTS) this.recent.delete(this.recent.keys().next().value!);
    const waiting = this.waiters.get(offset);
    if (waiting !== undefined) {
      this.waiters.delete(offset);
      for (const resolve of waiting) resolve(applied);
    }
  }

  /** Stores a document; resolves with it as applied here, or rejects (stale revision, Kafka unavailable). */
  async put<T>(kind: string, id: string, document: T, options: WriteOptions = {}): Promise<StateEntry<T>> {
    const current = this.ledger.get(kind, id);
    // `*`: whatever revision exists now, so a change made meanwhile still wins over this one.
    const ifMatch = options.ifMatch === '*' ? (current?.revision ?? '*') : options.ifMatch;
    // Refused here already what the log would refuse: it saves a write and a restatement.
    if (ifMatch !== undefined && current?.revision !== ifMatch) {
      throw new StaleRevisionError(
        current === undefined
          ? `'${id}' does not exist`
          : `'${id}' is at revision ${current.revision}, not ${ifMatch}`,
      );
    }
    if (options.ifNoneMatch && current !== undefined) {
      throw new StaleRevisionError(`'${id}' already exists (revision ${current.revision})`);
    }
    const value: StateRecordValue = {
      v: 1,
      document,
      updatedAt: new Date().toISOString(),
      ...(options.by !== undefined && { by: options.by }),
      ...(ifMatch !== undefined && { base: ifMatch }),
      ...(options.ifNoneMatch && { base: null }),
    };
    const applied = await this.write(stateKey(kind, id), Buffer.from(JSON.stringify(value)));
    if (applied === null || applied.outcome === 'ignored') {
      throw new StateUnavailableError(`the change to '${id}' was written but could not be read back`);
    }
    if (applied.outcome === 'refused') {
      this.restate(kind, id, applied.entry);
      throw new StaleRevisionError(applied.reason ?? `'${id}' changed meanwhile`);
    }
    const entry = applied.entry as StateEntry<T>;
    const keep = this.options.history?.[kind];
    if (keep !== undefined) await this.keepRevision(kind, entry, keep);
    return entry;
  }

  /** Deletes a document (a tombstone; with If-Match first a marker the log decides); false when there was none. */
  async delete(kind: string, id: string, options: WriteOptions = {}): Promise<boolean> {
    const current = this.ledger.get(kind, id);
    if (current === undefined) return false;
    const key = stateKey(kind, id);
    if (options.ifMatch === undefined) {
      await this.write(key, null);
      return true;
    }
    const base = options.ifMatch === '*' ? current.revision : options.ifMatch;
    if (current.revision !== base) {
      throw new StaleRevisionError(`'${id}' is at revision ${current.revision}, not ${base}`);
    }
    const marker: StateRecordValue = {
      v: 1,
      document: null,
      updatedAt: new Date().toISOString(),
      ...(options.by !== undefined && { by: options.by }),
      base,
      deleted: true,
    };
    const applied = await this.write(key, Buffer.from(JSON.stringify(marker)));
    if (applied === null || applied.outcome === 'ignored') {
      throw new StateUnavailableError(`the deletion of '${id}' was written but could not be read back`);
    }
    if (applied.outcome === 'refused') {
      this.restate(kind, id, applied.entry);
      throw new StaleRevisionError(applied.reason ?? `'${id}' changed meanwhile`);
    }
    // The marker decided it; the tombstone lets compaction forget the key. Without it (a crash
    // here) the marker stays the key's latest record and still reads as a deletion.
    await this.write(key, null).catch((error: Error) =>
      this.logger.warn({ kind, id, err: error.message }, 'state: cannot write the tombstone of a deletion'),
    );
    return true;
  }

  /** Writes one record with acks=all and waits until this instance has applied it. */
  private async write(key: string, value: Buffer | null): Promise<Applied | null> {
    if (!this.loaded || this.stopped) throw new StateUnavailableError('the state store is not running');
    const offset = await this.log.append(key, value, this.options.writeTimeoutMs);
    if (this.recent.has(offset)) return this.recent.get(offset)!;
    if (offset <= this.appliedOffset) return null;
    return withTimeout(
      new Promise<Applied | null>((resolve) => {
        const list = this.waiters.get(offset) ?? [];
        list.push(resolve);
        this.waiters.set(offset, list);
      }),
      this.options.writeTimeoutMs,
      'applying the change',
    );
  }

  /** Follows a refused write with the outcome it lost to, so compaction cannot keep the loser alone. */
  private restate(kind: string, id: string, entry: StateEntry | undefined): void {
    const value: StateRecordValue | null =
      entry === undefined
        ? null
        : {
            v: 1,
            document: entry.document,
            updatedAt: entry.updatedAt,
            ...(entry.by !== undefined && { by: entry.by }),
            restores: entry.revision,
          };
    this.write(stateKey(kind, id), value === null ? null : Buffer.from(JSON.stringify(value))).catch(
      (error: Error) =>
        this.logger.warn({ kind, id, err: error.message }, 'state: cannot restate a document'),
    );
  }

  /**
   * Keeps the new revision's document (before the write answers, so its caller finds it listed),
   * and drops revisions beyond the newest `keep` afterwards. Neither failing undoes the write.
   */
  private async keepRevision(kind: string, entry: StateEntry, keep: number): Promise<void> {
    const historyKind = `${kind}.revision`;
    const value: StateRecordValue = {
      v: 1,
      document: entry.document,
      updatedAt: entry.updatedAt,
      ...(entry.by !== undefined && { by: entry.by }),
    };
    try {
      await this.write(
        stateKey(historyKind, `${entry.id}/${entry.revision}`),
        Buffer.from(JSON.stringify(value)),
      );
    } catch (error) {
      this.logger.warn(
        { kind, id: entry.id, err: (error as Error).message },
        'state: cannot keep a past revision',
      );
      return;
    }
    const prune = async () => {
      for (const old of this.revisions(kind, entry.id).slice(keep)) {
        await this.write(stateKey(historyKind, `${entry.id}/${old.revision}`), null);
      }
    };
    prune().catch((error: Error) =>
      this.logger.warn({ kind, id: entry.id, err: error.message }, 'state: cannot drop old revisions'),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.log.stop();
  }
}
