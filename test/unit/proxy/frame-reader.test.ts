import fc from 'fast-check';
import { FrameReader } from '../../../src/proxy/frame-reader';
import { ProtocolError } from '../../../src/protocol/primitives';

function frame(payload: Buffer): Buffer {
  const out = Buffer.alloc(4 + payload.length);
  out.writeInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

describe('FrameReader', () => {
  it('returns whole frames from one chunk as views without copying', () => {
    const chunk = Buffer.concat([frame(Buffer.from('abc')), frame(Buffer.from('de'))]);
    const frames = new FrameReader(1024).push(chunk);
    expect(frames.map((f) => f.toString())).toEqual(['abc', 'de']);
    expect(frames[0].buffer).toBe(chunk.buffer);
  });

  it('reassembles frames split at every possible boundary', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 10 }),
        (payloads, cuts) => {
          const stream = Buffer.concat(payloads.map((p) => frame(Buffer.from(p))));
          const reader = new FrameReader(1024);
          const seen: string[] = [];
          let offset = 0;
          let i = 0;
          while (offset < stream.length) {
            const end = Math.min(stream.length, offset + cuts[i++ % cuts.length]);
            for (const f of reader.push(stream.subarray(offset, end))) seen.push(f.toString('hex'));
            offset = end;
          }
          expect(seen).toEqual(payloads.map((p) => Buffer.from(p).toString('hex')));
          expect(reader.bufferedBytes()).toBe(0);
        },
      ),
    );
  });

  it('rejects a frame announcing more than the limit before buffering it', () => {
    const reader = new FrameReader(1024);
    const header = Buffer.alloc(4);
    header.writeInt32BE(2_000_000_000, 0);
    expect(() => reader.push(header)).toThrow(ProtocolError);
    expect(() => new FrameReader(1024).push(Buffer.from([0xff, 0xff, 0xff, 0xfe]))).toThrow(
      /negative frame size/,
    );
  });

  it('rejects an oversized size prefix that arrives split across chunks', () => {
    const reader = new FrameReader(1024);
    reader.push(Buffer.from([0x7f, 0x00]));
    expect(() => reader.push(Buffer.from([0x00, 0x00]))).toThrow(/exceeds the 1024-byte limit/);
  });
});
