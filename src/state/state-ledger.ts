/**
 * The state every instance derives from the state topic, and the one rule by which it does.
 *
 * The topic has one partition, so every instance sees every change in the same order. A change
 * carries the revision it was based on (`base`): the record applies only when that is still the
 * document's revision when the record is read, so of two instances racing with the same If-Match
 * the first in the log wins everywhere and the other is refused everywhere, with no coordinator.
 * A document's revision is the offset of the record that wrote it.
 *
 * Compaction keeps only a key's latest record, so an instance that starts later may find a
 * conditional write without the record it was based on. Two rules keep its reading the same:
 * - A refused write is followed by a record restating the outcome: the winner (`restores`, a no-op
 *   now, and the same document at the same revision for a later reader) or a tombstone. So the
 *   latest record of a key, the one compaction keeps, is never a refused write.
 * - A conditional write to a key this reading has seen no record of is therefore one that
 *   applied, and applies.
 */

/** A document as the store holds it. */
export interface StateEntry<T = unknown> {
  kind: string;
  id: string;
  document: T;
  /** The offset of the record that wrote it: the ETag. */
  revision: string;
  updatedAt: string;
  /** The name of the token that changed it, when tokens are named. */
  by?: string;
}

/** The value of a record on the state topic (JSON); a delete is a tombstone (no value). */
export interface StateRecordValue {
  v: 1;
  document: unknown;
  updatedAt: string;
  by?: string;
  /** Absent: unconditional. null: only if the document does not exist. Else: only at that revision. */
  base?: string | null;
  /** A restatement of the document at this revision (see above). */
  restores?: string;
  /**
   * A conditional delete: it is decided by the log like any conditional write (a tombstone carries
   * no condition), and its writer follows it with a tombstone once it applied, for compaction.
   */
  deleted?: true;
}

export type ApplyOutcome = 'applied' | 'deleted' | 'refused' | 'unchanged' | 'ignored';

export interface Applied {
  outcome: ApplyOutcome;
  kind: string;
  id: string;
  /** The document in force after the record (undefined when there is none). */
  entry: StateEntry | undefined;
  /** What the refused write was based on, for its writer's 412. */
  reason?: string;
}

const KEY_SEPARATOR = '/';

export function stateKey(kind: string, id: string): string {
  return `${kind}${KEY_SEPARATOR}${id}`;
}

export function parseStateKey(key: string): { kind: string; id: string } | null {
  const at = key.indexOf(KEY_SEPARATOR);
  if (at <= 0 || at === key.length - 1) return null;
  return { kind: key.slice(0, at), id: key.slice(at + 1) };
}

function parseValue(value: Buffer): StateRecordValue | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { v?: unknown }).v !== 1) return null;
  return parsed as StateRecordValue;
}

export class StateLedger {
  private readonly entries = new Map<string, Map<string, StateEntry>>();
  /** Keys whose latest record was refused: they need a restatement. */
  private readonly refusedLatest = new Set<string>();
  /** Keys this reading has seen a record of. */
  private readonly seen = new Set<string>();

  get(kind: string, id: string): StateEntry | undefined {
    return this.entries.get(kind)?.get(id);
  }

  list(kind: string): StateEntry[] {
    return [...(this.entries.get(kind)?.values() ?? [])];
  }

  count(kind: string): number {
    return this.entries.get(kind)?.size ?? 0;
  }

  /** Keys whose latest record is a refused write, with what to restate (undefined: a tombstone). */
  needingRestatement(): { kind: string; id: string; entry: StateEntry | undefined }[] {
    return [...this.refusedLatest].map((key) => {
      const { kind, id } = parseStateKey(key)!;
      return { kind, id, entry: this.get(kind, id) };
    });
  }

  /** Applies one record of the topic, in offset order. Records it cannot read are ignored. */
  apply(offset: string, key: Buffer | string | null, value: Buffer | null): Applied | null {
    if (key === null) return null;
    const keyText = typeof key === 'string' ? key : key.toString('utf8');
    const parsed = parseStateKey(keyText);
    if (parsed === null) return null;
    const { kind, id } = parsed;
    let byId = this.entries.get(kind);
    const current = byId?.get(id);
    const seenBefore = this.seen.has(keyText);
    this.seen.add(keyText);
    if (value === null) {
      this.refusedLatest.delete(keyText);
      if (current === undefined) return { outcome: 'unchanged', kind, id, entry: undefined };
      byId!.delete(id);
      return { outcome: 'deleted', kind, id, entry: undefined };
    }
    const record = parseValue(value);
    if (record === null) return { outcome: 'ignored', kind, id, entry: current };
    const make = (revision: string): StateEntry => ({
      kind,
      id,
      document: record.document,
      revision,
      updatedAt: record.updatedAt,
      ...(record.by !== undefined && { by: record.by }),
    });
    const install = (entry: StateEntry): void => {
      if (byId === undefined) {
        byId = new Map();
        this.entries.set(kind, byId);
      }
      byId.set(id, entry);
    };
    if (record.restores !== undefined) {
      this.refusedLatest.delete(keyText);
      if (current?.revision === record.restores) return { outcome: 'unchanged', kind, id, entry: current };
      if (current !== undefined) return { outcome: 'ignored', kind, id, entry: current };
      // Read after compaction: the winner's own record is gone and this stands in for it.
      const entry = make(record.restores);
      install(entry);
      return { outcome: 'applied', kind, id, entry };
    }
    if (record.base !== undefined) {
      const expected = record.base;
      const actual = current?.revision ?? null;
      const compactedAway = expected !== null && current === undefined && !seenBefore;
      if (expected !== actual && !compactedAway) {
        this.refusedLatest.add(keyText);
        return {
          outcome: 'refused',
          kind,
          id,
          entry: current,
          reason:
            expected === null
              ? `'${id}' already exists (revision ${actual})`
              : actual === null
                ? `'${id}' no longer exists`
                : `'${id}' is at revision ${actual}, not ${expected}`,
        };
      }
    }
    this.refusedLatest.delete(keyText);
    if (record.deleted) {
      if (current === undefined) return { outcome: 'unchanged', kind, id, entry: undefined };
      byId!.delete(id);
      return { outcome: 'deleted', kind, id, entry: undefined };
    }
    const entry = make(offset);
    install(entry);
    return { outcome: 'applied', kind, id, entry };
  }
}
