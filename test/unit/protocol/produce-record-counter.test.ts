import fc from 'fast-check';
import { ProduceRecordCounter } from '../../../src/protocol/produce-record-counter';
import { readRecordBatches } from '../../../src/protocol/records';
import { produceFrame } from '../support/produce-frames';
import { batchOfValues } from '../support/record-batches';

function batch(records: number, valueBytes: number): Buffer {
  return batchOfValues(Array.from({ length: records }, (_, i) => Buffer.alloc(valueBytes, i)));
}

/** A legacy (magic 1) message: offset, size, CRC, magic, attributes, timestamp, key, value. */
function legacyMessage(value: Buffer): Buffer {
  const body = Buffer.alloc(4 + 1 + 1 + 8 + 4 + 4 + value.length);
  body.writeInt8(1, 4);
  body.writeInt32BE(-1, 14);
  body.writeInt32BE(value.length, 18);
  value.copy(body, 22);
  const head = Buffer.alloc(12);
  head.writeInt32BE(body.length, 8);
  return Buffer.concat([head, body]);
}

/** What the pipeline counts for a topic nobody reads: nothing for a partition it cannot read. */
function pipelineCount(records: Buffer | null): number {
  if (records === null) return 0;
  try {
    return readRecordBatches(records).reduce(
      (sum, view) => sum + (view.magic === 2 ? view.recordsCount : 1),
      0,
    );
  } catch {
    return 0;
  }
}

/** A Produce payload whose topic t has one partition per entry of topics[t]. */
function request(
  version: number,
  topics: (Buffer | null)[][],
  options: { clientId?: string | null; transactionalId?: string | null } = {},
): Buffer {
  const partitions = topics.flatMap((list, t) =>
    list.map((records, p) => ({ topic: `topic-${t}`, partition: p, records })),
  );
  const clientId = options.clientId === undefined ? 'counter' : options.clientId;
  return produceFrame(version, partitions, -1, clientId, options.transactionalId ?? null);
}

function countInPieces(version: number, payload: Buffer, cuts: number[]): ProduceRecordCounter {
  const counter = new ProduceRecordCounter(version);
  let at = 0;
  for (const cut of [...cuts.map((c) => c % (payload.length + 1))].sort((a, b) => a - b)) {
    counter.push(payload.subarray(at, Math.max(at, cut)));
    at = Math.max(at, cut);
  }
  counter.push(payload.subarray(at));
  return counter;
}

describe('ProduceRecordCounter', () => {
  it.each([3, 7, 8, 9, 12, 13])('counts v2 batches and legacy messages of Produce v%i', (version) => {
    const payload = request(
      version,
      [
        [Buffer.concat([batch(3, 10), batch(5, 1)]), null],
        [legacyMessage(Buffer.from('old')), batch(1, 0)],
      ],
      { transactionalId: 'tx-1' },
    );
    const counter = countInPieces(version, payload, []);
    expect(counter.complete).toBe(true);
    expect(counter.records).toBe(3 + 5 + 1 + 1);
  });

  it('counts nothing for a partition whose data ends inside a batch, as the pipeline does', () => {
    const whole = batch(4, 8);
    const payload = request(9, [
      [Buffer.concat([batch(2, 1), whole.subarray(0, whole.length - 3)]), batch(6, 1)],
    ]);
    const counter = countInPieces(9, payload, []);
    expect(counter.complete).toBe(true);
    expect(counter.records).toBe(6);
  });

  it('counts nothing for a batch with a negative record count', () => {
    const broken = batch(2, 1);
    broken.writeInt32BE(-5, 57);
    const counter = countInPieces(12, request(12, [[broken, batch(1, 1)]]), []);
    expect(counter.records).toBe(1);
  });

  it('is not complete before the last partition has passed', () => {
    const payload = request(10, [[batch(2, 100)]]);
    const counter = new ProduceRecordCounter(10);
    counter.push(payload.subarray(0, payload.length - 50));
    expect(counter.complete).toBe(false);
    counter.push(payload.subarray(payload.length - 50));
    expect(counter.complete).toBe(true);
    expect(counter.records).toBe(2);
  });

  it('agrees with the pipeline on any request split anywhere', () => {
    const records = fc.oneof(
      { weight: 1, arbitrary: fc.constant(null) },
      {
        weight: 6,
        arbitrary: fc
          .tuple(
            fc.array(
              fc.oneof(
                fc
                  .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 40 }))
                  .map(([n, size]) => batch(n, size)),
                fc.uint8Array({ maxLength: 20 }).map((value) => legacyMessage(Buffer.from(value))),
              ),
              { maxLength: 3 },
            ),
            fc.nat({ max: 30 }),
          )
          // Sometimes cut short inside a batch, or followed by a few stray bytes: unreadable.
          .map(([pieces, damage]) => {
            const data = Buffer.concat(pieces);
            if (damage > 24 && data.length > 0) return data.subarray(0, data.length - (damage - 24));
            if (damage > 0 && damage <= 16) return Buffer.concat([data, Buffer.alloc(damage, 0)]);
            return data;
          }),
      },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 13 }),
        fc.array(fc.array(records, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
        fc.option(fc.string({ maxLength: 12 })),
        fc.array(fc.nat(), { maxLength: 8 }),
        (version, topics, clientId, cuts) => {
          const payload = request(version, topics, { clientId, transactionalId: clientId });
          const counter = countInPieces(version, payload, cuts);
          const expected = topics.flat().reduce((sum, data) => sum + pipelineCount(data), 0);
          expect(counter.complete).toBe(true);
          expect(counter.records).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
