import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { ProtocolError } from '../../../../src/protocol/primitives';
import {
  appendRecordHeaders,
  decodeRecords,
  encodeRecordBatch,
  readRecordBatches,
} from '../../../../src/protocol/records';
import { header, record, withCompression } from './arbitraries';

const LIMIT = 1024 * 1024;
/** RECORDS_FUZZ_RUNS=100000 for a long soak; the default keeps the unit suite quick. */
const RUNS = Number(process.env.RECORDS_FUZZ_RUNS ?? 3000);

const TAG = [{ key: 'tag', value: Buffer.from('x') }];

/**
 * Runs the whole read path, and the header append the gateway's tagging uses on uncompressed
 * batches; anything but a ProtocolError escaping either fails the property.
 */
function readAll(data: Buffer, allowPartialTrailingBatch: boolean, verifyCrc: boolean): void {
  let batches;
  try {
    batches = readRecordBatches(data, { allowPartialTrailingBatch });
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return;
  }
  for (const batch of batches) {
    if (batch.magic !== 2) continue;
    try {
      decodeRecords(batch, { verifyCrc, maxDecompressedBytes: LIMIT });
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
    }
    if (batch.compression !== 0) continue;
    try {
      appendRecordHeaders(batch, [TAG, null, TAG]);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
    }
  }
}

const encodedBatch = fc
  .tuple(header, fc.array(record, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 4 }))
  .map(([h, records, compression]) => encodeRecordBatch(withCompression(h, compression), records));

describe('hostile record batches only ever raise ProtocolError', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, partial) =>
        readAll(Buffer.from(bytes), partial, false),
      ),
      { numRuns: RUNS },
    );
  });

  it('random bytes behind a plausible v2 header', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 100 }),
        (body, compression, count) => {
          const head = Buffer.alloc(61);
          head.writeInt32BE(49 + body.length, 8);
          head[16] = 2;
          head.writeInt16BE(compression, 21);
          head.writeInt32BE(count, 57);
          const data = Buffer.concat([head, body]);
          data.writeUInt32BE(crc32c(data.subarray(21)), 17);
          readAll(data, false, true);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('truncated batches', () => {
    fc.assert(
      fc.property(encodedBatch, fc.nat(), fc.boolean(), (bytes, cut, partial) => {
        const data = bytes.subarray(0, cut % bytes.length);
        readAll(data, partial, false);
        // A truncated batch with a consistent length field: the records themselves are cut.
        const shortened = Buffer.from(data);
        if (shortened.length >= 12) {
          shortened.writeInt32BE(shortened.length - 12, 8);
          if (shortened.length >= 61) shortened.writeUInt32BE(crc32c(shortened.subarray(21)), 17);
          readAll(shortened, partial, true);
        }
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  });

  it('bit-flipped batches, with and without a fixed-up CRC', () => {
    fc.assert(
      fc.property(encodedBatch, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), (bytes, flips) => {
        const data = Buffer.from(bytes);
        for (const flip of flips) data[(flip >> 3) % data.length] ^= 1 << (flip & 7);
        readAll(data, false, true);
        readAll(data, false, false);
        if (data.length >= 61) {
          data.writeUInt32BE(crc32c(data.subarray(21)), 17);
          readAll(data, false, true);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
