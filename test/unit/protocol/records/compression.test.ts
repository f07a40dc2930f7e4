import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { compressFrameSync } from 'lz4-napi';
import { compressSync as snappyRaw } from 'snappy';
import * as zstd from 'zstd-napi/binding';
import { ProtocolError } from '../../../../src/protocol/primitives';
import {
  compressionCodec,
  compressionCodecByName,
  CompressionType,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  type CompressionName,
} from '../../../../src/protocol/records';
import { xxh32 } from '../../../../src/protocol/records/lz4-frame';
import { compressXerialSnappy, isXerialSnappy } from '../../../../src/protocol/records/snappy-xerial';

const NAMES: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const COMPRESSED: CompressionName[] = ['gzip', 'snappy', 'lz4', 'zstd'];
const MiB = 1024 * 1024;

function json(size: number): Buffer {
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const part = JSON.stringify({
      id: i,
      customer: `c-${i % 97}`,
      amount: (i * 7.3) % 1000,
      tags: ['a', 'b'],
    });
    parts.push(part);
    length += part.length;
  }
  return Buffer.from(parts.join('\n')).subarray(0, size);
}

function expectProtocolError(fn: () => unknown, message?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ProtocolError);
  if (message) expect((thrown as Error).message).toMatch(message);
}

/** zstd without a content size in the frame header, as the Java producer's streaming encoder writes it. */
function zstdStreaming(data: Buffer): Buffer {
  const cctx = new zstd.CCtx();
  cctx.setParameter(zstd.CParameter.contentSizeFlag, 0);
  const out = Buffer.alloc(zstd.compressBound(data.length) + 1024);
  const [remaining, produced, consumed] = cctx.compressStream2(out, data, zstd.EndDirective.end);
  expect([remaining, consumed]).toEqual([0, data.length]);
  return out.subarray(0, produced);
}

describe('codec registry', () => {
  it('maps attribute values to codecs and refuses 5-7', () => {
    expect(NAMES.map((name) => compressionCodecByName(name).type)).toEqual([0, 1, 2, 3, 4]);
    expect(compressionCodec(CompressionType.Zstd).name).toBe('zstd');
    for (const type of [5, 6, 7, -1, 1.5]) {
      expectProtocolError(() => compressionCodec(type), /unknown compression type/);
    }
  });
});

describe.each(COMPRESSED)('%s', (name) => {
  const codec = compressionCodecByName(name);

  it.each([0, 1, 100, 64 * 1024, 64 * 1024 + 1, 300 * 1024])('round-trips %i bytes of JSON', (size) => {
    const data = json(size);
    const compressed = codec.compress(data);
    expect(codec.decompress(compressed, DEFAULT_MAX_DECOMPRESSED_BYTES).equals(data)).toBe(true);
  });

  it('round-trips incompressible data', () => {
    const data = randomBytes(200 * 1024);
    expect(codec.decompress(codec.compress(data), MiB).equals(data)).toBe(true);
  });

  it('raises ProtocolError for garbage', () => {
    for (let i = 0; i < 50; i++) {
      const garbage = randomBytes(1 + ((i * 37) % 300));
      try {
        codec.decompress(garbage, MiB);
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError);
      }
    }
    expectProtocolError(() => codec.decompress(Buffer.from('definitely not compressed data at all'), MiB));
  });

  it('raises ProtocolError for every truncation', () => {
    const compressed = codec.compress(json(100 * 1024));
    const step = Math.max(1, Math.floor(compressed.length / 200));
    for (let cut = 0; cut < compressed.length; cut += step) {
      expectProtocolError(() => codec.decompress(compressed.subarray(0, cut), MiB));
    }
  });

  it('refuses output beyond the limit, announced or not', () => {
    const data = json(MiB);
    expectProtocolError(() => codec.decompress(codec.compress(data), MiB - 1), /beyond the \d+-byte limit/);
    expect(codec.decompress(codec.compress(data), MiB)).toHaveLength(MiB);
  });

  it('refuses a decompression bomb under the default limit', () => {
    const zeros = Buffer.alloc(DEFAULT_MAX_DECOMPRESSED_BYTES + MiB);
    const bomb = codec.compress(zeros);
    expect(bomb.length).toBeLessThan(zeros.length / 20);
    const before = process.memoryUsage().arrayBuffers;
    expectProtocolError(
      () => codec.decompress(bomb, DEFAULT_MAX_DECOMPRESSED_BYTES),
      /beyond the \d+-byte limit/,
    );
    // Nothing close to the bomb's size may stay allocated (the limit itself may be, briefly).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(
      DEFAULT_MAX_DECOMPRESSED_BYTES + 2 * MiB,
    );
  });
});

describe('gzip', () => {
  it('reads what other gzip writers produce, including several members', () => {
    const a = json(5000);
    const b = json(7000);
    const codec = compressionCodecByName('gzip');
    expect(
      codec
        .decompress(Buffer.concat([gzipSync(a, { level: 9 }), gzipSync(b, { level: 1 })]), MiB)
        .equals(Buffer.concat([a, b])),
    ).toBe(true);
  });
});

describe('snappy', () => {
  const codec = compressionCodecByName('snappy');

  it('writes the xerial framing the Java client writes', () => {
    const compressed = codec.compress(json(100 * 1024));
    expect(isXerialSnappy(compressed)).toBe(true);
    expect(compressed.subarray(0, 16).toString('hex')).toBe('82534e41505059000000000100000001');
    // 32 KiB blocks, each int32 length + raw snappy.
    const firstBlock = compressed.readInt32BE(16);
    expect(snappyRaw(json(32 * 1024)).length).toBe(firstBlock);
  });

  it('reads raw snappy as librdkafka may send it', () => {
    const data = json(70 * 1024);
    expect(codec.decompress(snappyRaw(data), MiB).equals(data)).toBe(true);
  });

  it('reads concatenated xerial streams', () => {
    const a = json(40 * 1024);
    const b = json(10);
    expect(
      codec
        .decompress(Buffer.concat([compressXerialSnappy(a), compressXerialSnappy(b)]), MiB)
        .equals(Buffer.concat([a, b])),
    ).toBe(true);
  });

  it('checks the announced length before the native decoder allocates it', () => {
    // Preamble announcing 4 GiB - 1 followed by a few bytes.
    const raw = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00]);
    expectProtocolError(() => codec.decompress(raw, DEFAULT_MAX_DECOMPRESSED_BYTES), /beyond/);
    const xerial = Buffer.concat([compressXerialSnappy(Buffer.alloc(0)), Buffer.from([0, 0, 0, 7]), raw]);
    expectProtocolError(() => codec.decompress(xerial, DEFAULT_MAX_DECOMPRESSED_BYTES), /beyond/);
    expectProtocolError(
      () => codec.decompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), MiB),
      /longer than 32 bits/,
    );
  });

  it('refuses xerial block lengths beyond the data', () => {
    const stream = compressXerialSnappy(json(1000));
    stream.writeInt32BE(stream.length, 16);
    expectProtocolError(() => codec.decompress(stream, MiB), /exceeds/);
    stream.writeInt32BE(-5, 16);
    expectProtocolError(() => codec.decompress(stream, MiB), /exceeds/);
  });
});

describe('lz4', () => {
  const codec = compressionCodecByName('lz4');

  function frame(flg: number, bd: number, extra: Buffer, body: Buffer): Buffer {
    const descriptor = Buffer.concat([Buffer.from([flg, bd]), extra]);
    const hc = (xxh32(descriptor) >>> 8) & 0xff;
    return Buffer.concat([Buffer.from('04224d18', 'hex'), descriptor, Buffer.from([hc]), body]);
  }

  it('computes xxHash32 like the reference implementation', () => {
    expect(xxh32(Buffer.alloc(0))).toBe(0x02cc5d05);
    expect(xxh32(Buffer.from('a'))).toBe(0x550d7456);
    expect(xxh32(Buffer.from('abc'))).toBe(0x32d153ff);
    expect(xxh32(Buffer.from('Nobody inspects the spammish repetition'))).toBe(0xe2293b2f);
    expect((xxh32(Buffer.from([0x60, 0x40])) >>> 8) & 0xff).toBe(0x82);
  });

  it('writes frames exactly as the Java client does: fixed header, 64 KiB independent blocks', () => {
    const data = json(150 * 1024);
    const out = codec.compress(data);
    expect(out.subarray(0, 7).toString('hex')).toBe('04224d18604082');
    expect(out.subarray(-4).readUInt32LE(0)).toBe(0);
    // Block by block: each decompresses to 64 KiB except the last.
    let offset = 7;
    const sizes: number[] = [];
    while (out.readUInt32LE(offset) !== 0) {
      const size = out.readUInt32LE(offset) & 0x7fffffff;
      sizes.push(size);
      offset += 4 + size;
    }
    expect(sizes).toHaveLength(3);
  });

  it('stores incompressible blocks uncompressed, as the Java client does', () => {
    const data = randomBytes(1000);
    const out = codec.compress(data);
    expect(out.readUInt32LE(7)).toBe((1000 | 0x80000000) >>> 0);
    expect(codec.decompress(out, MiB).equals(data)).toBe(true);
  });

  it('reads frames with block and content checksums, and verifies them', () => {
    const data = json(200 * 1024);
    const checked = compressFrameSync(data, { blockChecksums: true, contentChecksum: true });
    expect(checked[4] & 0x14).toBe(0x14);
    expect(codec.decompress(checked, MiB).equals(data)).toBe(true);
    const badContent = Buffer.from(checked);
    badContent[badContent.length - 1] ^= 1;
    expectProtocolError(() => codec.decompress(badContent, MiB), /content checksum/);
    const badBlock = Buffer.from(checked);
    const firstBlockSize = badBlock.readUInt32LE(7) & 0x7fffffff;
    badBlock[11 + firstBlockSize] ^= 1;
    expectProtocolError(() => codec.decompress(badBlock, MiB), /block checksum/);
    const badHeader = Buffer.from(checked);
    badHeader[6] ^= 1;
    expectProtocolError(() => codec.decompress(badHeader, MiB), /descriptor checksum/);
  });

  it('checks an announced content size', () => {
    const body = codec.compress(json(1000)).subarray(7);
    const size = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(n));
      return b;
    };
    expect(codec.decompress(frame(0x68, 0x40, size(1000), body), MiB)).toHaveLength(1000);
    expectProtocolError(() => codec.decompress(frame(0x68, 0x40, size(999), body), MiB), /announced 999/);
    expectProtocolError(() => codec.decompress(frame(0x68, 0x40, size(2 ** 40), body), MiB), /beyond/);
  });

  it('refuses a frame without its end mark, which the native frame decoder would accept', () => {
    const out = codec.compress(json(1000));
    expectProtocolError(() => codec.decompress(out.subarray(0, out.length - 4), MiB), /truncated lz4/);
  });

  it('refuses dependent blocks, dictionaries and reserved bits, as the Java client does', () => {
    const body = codec.compress(json(1000)).subarray(7);
    expectProtocolError(
      () => codec.decompress(frame(0x40, 0x40, Buffer.alloc(0), body), MiB),
      /dependent blocks/,
    );
    expectProtocolError(() => codec.decompress(frame(0x61, 0x40, Buffer.alloc(4), body), MiB), /dictionary/);
    expectProtocolError(() => codec.decompress(frame(0x62, 0x40, Buffer.alloc(0), body), MiB), /reserved/);
    expectProtocolError(
      () => codec.decompress(frame(0x60, 0x30, Buffer.alloc(0), body), MiB),
      /block size code/,
    );
    expectProtocolError(() => codec.decompress(frame(0x80, 0x40, Buffer.alloc(0), body), MiB), /version/);
  });

  it('bounds many small blocks before decompressing', () => {
    // 64 KiB blocks of zeros, each a few bytes compressed: the bound grows block by block.
    const block = codec.compress(Buffer.alloc(64 * 1024)).subarray(7, -4);
    const blocks = Buffer.concat(Array.from({ length: 2000 }, () => block));
    const bomb = Buffer.concat([Buffer.from('04224d18604082', 'hex'), blocks, Buffer.alloc(4)]);
    expect(codec.decompress(bomb, 2000 * 64 * 1024)).toHaveLength(2000 * 64 * 1024);
    expectProtocolError(() => codec.decompress(bomb, 64 * MiB), /beyond/);
  });

  it('measures large blocks exactly rather than refusing them on their bound', () => {
    // One 4 MiB-block frame holding 1 MiB: the cheap bound says 4 MiB, the data is 1 MiB.
    const data = json(MiB);
    const big = compressFrameSync(data);
    expect(big[5] >> 4).toBeGreaterThan(4);
    expect(codec.decompress(big, MiB).equals(data)).toBe(true);
    expectProtocolError(() => codec.decompress(big, MiB - 1), /beyond/);
  });

  it('decodes concatenated frames and skippable frames', () => {
    const a = json(100);
    const b = json(70 * 1024);
    const skippable = Buffer.from('502a4d1803000000010203', 'hex');
    const data = Buffer.concat([codec.compress(a), skippable, compressFrameSync(b)]);
    expect(codec.decompress(data, MiB).equals(Buffer.concat([a, b]))).toBe(true);
  });
});

describe('zstd', () => {
  const codec = compressionCodecByName('zstd');

  it('reads frames without a content size, as the Java producer writes them', () => {
    const data = json(500 * 1024);
    const frame = zstdStreaming(data);
    expect(zstd.getFrameContentSize(frame)).toBeNull();
    expect(codec.decompress(frame, MiB).equals(data)).toBe(true);
    expectProtocolError(() => codec.decompress(frame, 400 * 1024), /beyond/);
    expectProtocolError(
      () => codec.decompress(Buffer.concat([frame, frame.subarray(0, 100)]), MiB),
      /truncated zstd/,
    );
  });

  it('refuses a frame announcing more than the limit before allocating', () => {
    const frame = codec.compress(Buffer.alloc(2 * MiB));
    expect(zstd.getFrameContentSize(frame)).toBe(2 * MiB);
    expectProtocolError(() => codec.decompress(frame, MiB), /beyond/);
  });

  it('refuses a frame whose content disagrees with its announced size', () => {
    const frame = Buffer.from(codec.compress(json(1000)));
    // Single-segment frame header: the 2-byte content size follows the descriptor byte.
    expect(zstd.getFrameContentSize(frame)).toBe(1000);
    const descriptor = frame[4];
    expect(descriptor >> 6).toBe(1);
    frame.writeUInt16LE(1000 - 256 - 1, 5);
    expectProtocolError(() => codec.decompress(frame, MiB));
  });

  it('reads several frames back to back', () => {
    const a = json(3000);
    const b = json(5000);
    expect(
      codec
        .decompress(Buffer.concat([codec.compress(a), zstdStreaming(b)]), MiB)
        .equals(Buffer.concat([a, b])),
    ).toBe(true);
  });
});
