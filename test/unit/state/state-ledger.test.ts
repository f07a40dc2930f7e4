import fc from 'fast-check';
import { StateLedger, type StateRecordValue } from '../../../src/state/state-ledger';

interface LogRecord {
  offset: string;
  key: string;
  value: Buffer | null;
}

function value(document: unknown, extra: Partial<StateRecordValue> = {}): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, document, updatedAt: '2026-01-01T00:00:00.000Z', ...extra }));
}

function replay(log: readonly LogRecord[]): StateLedger {
  const ledger = new StateLedger();
  for (const record of log) ledger.apply(record.offset, record.key, record.value);
  return ledger;
}

function snapshot(ledger: StateLedger, ids: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const id of ids) {
    const entry = ledger.get('spec', id);
    if (entry !== undefined) out[id] = { document: entry.document, revision: entry.revision };
  }
  return out;
}

/** What compaction leaves: each key's latest record, in offset order; tombstones may be gone too. */
function compact(log: readonly LogRecord[], dropTombstones: boolean): LogRecord[] {
  const last = new Map<string, LogRecord>();
  for (const record of log) last.set(record.key, record);
  return [...last.values()]
    .filter((record) => !(dropTombstones && record.value === null))
    .sort((a, b) => Number(a.offset) - Number(b.offset));
}

describe('StateLedger', () => {
  test('a write based on the current revision applies; the same base a second time is refused', () => {
    const ledger = new StateLedger();
    expect(ledger.apply('0', 'spec/a', value('one'))?.outcome).toBe('applied');
    expect(ledger.apply('1', 'spec/a', value('two', { base: '0' }))?.outcome).toBe('applied');
    const second = ledger.apply('2', 'spec/a', value('three', { base: '0' }));
    expect(second?.outcome).toBe('refused');
    expect(second?.reason).toBe("'a' is at revision 1, not 0");
    expect(ledger.get('spec', 'a')).toMatchObject({ document: 'two', revision: '1' });
    expect(ledger.needingRestatement().map((e) => e.id)).toEqual(['a']);
    expect(ledger.apply('3', 'spec/a', value('two', { restores: '1' }))?.outcome).toBe('unchanged');
    expect(ledger.needingRestatement()).toEqual([]);
  });

  test('create-only writes, tombstones and unreadable records', () => {
    const ledger = new StateLedger();
    expect(ledger.apply('0', 'spec/a', value('x', { base: null }))?.outcome).toBe('applied');
    expect(ledger.apply('1', 'spec/a', value('y', { base: null }))?.outcome).toBe('refused');
    expect(ledger.apply('2', 'spec/a', null)?.outcome).toBe('deleted');
    // Based on a revision that was deleted since: refused, though nothing exists now.
    expect(ledger.apply('3', 'spec/a', value('w', { base: '0' }))?.outcome).toBe('refused');
    // A key this reading never saw: its base was compacted away, so it applied when written.
    expect(ledger.apply('4', 'spec/b', value('v', { base: '17' }))?.outcome).toBe('applied');
    expect(ledger.get('spec', 'a')).toBeUndefined();
    expect(ledger.apply('5', 'spec/a', Buffer.from('not json'))?.outcome).toBe('ignored');
    expect(ledger.apply('6', 'no-separator', value('z'))).toBeNull();
    expect(ledger.apply('7', null, value('z'))).toBeNull();
  });

  test('after compaction every instance still reads the state it read before', () => {
    const ids = ['a', 'b'];
    const op = fc.record({
      id: fc.constantFrom(...ids),
      kind: fc.constantFrom(
        'put',
        'put-if-match-current',
        'put-if-match-stale',
        'create',
        'delete',
        'delete-if-match-current',
        'delete-if-match-stale',
      ),
      doc: fc.integer({ min: 0, max: 5 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.boolean(), (ops, dropTombstones) => {
        const log: LogRecord[] = [];
        const live = new StateLedger();
        const append = (key: string, v: Buffer | null) => {
          const record = { offset: String(log.length), key, value: v };
          log.push(record);
          return live.apply(record.offset, record.key, record.value);
        };
        for (const { id, kind, doc } of ops) {
          const current = live.get('spec', id);
          let result;
          if (kind === 'delete') result = append(`spec/${id}`, null);
          else if (kind.startsWith('delete-if-match')) {
            const base =
              kind === 'delete-if-match-current' ? (current?.revision ?? '999') : String(log.length + 7);
            result = append(`spec/${id}`, value(null, { base, deleted: true }));
            // What the deleting writer does once its marker applied.
            if (result?.outcome === 'deleted') append(`spec/${id}`, null);
          } else if (kind === 'put') result = append(`spec/${id}`, value(doc));
          else if (kind === 'create') result = append(`spec/${id}`, value(doc, { base: null }));
          else {
            const base =
              kind === 'put-if-match-current' ? (current?.revision ?? '999') : String(log.length + 7);
            result = append(`spec/${id}`, value(doc, { base }));
          }
          // What the losing writer does at once.
          if (result?.outcome === 'refused') {
            const entry = result.entry;
            append(
              `spec/${id}`,
              entry === undefined ? null : value(entry.document, { restores: entry.revision }),
            );
          }
        }
        const expected = snapshot(live, ids);
        expect(snapshot(replay(log), ids)).toEqual(expected);
        expect(snapshot(replay(compact(log, dropTombstones)), ids)).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});
