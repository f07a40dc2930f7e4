import { RecycledReads } from '../../../src/proxy/recycled-reads';
import { READ_BUFFER_BYTES } from '../../../src/proxy/sockets';

/**
 * Plays the socket's part as Node does with `onread`: asks for room, reads into it, hands over
 * what it read, asks for room again.
 */
class FakeSocket {
  private room: Buffer;
  constructor(private readonly reads: RecycledReads) {
    this.room = this.buffer();
  }

  /** One read of `bytes`; returns the room it went into. */
  read(bytes: Buffer): Buffer {
    const room = this.room;
    expect(room.length).toBeGreaterThanOrEqual(bytes.length);
    bytes.copy(room);
    (this.reads.onread.callback as (n: number, b: Uint8Array) => boolean)(bytes.length, room);
    this.room = this.buffer();
    return room;
  }

  private buffer(): Buffer {
    return (this.reads.onread.buffer as () => Buffer)();
  }
}

const filled = (length: number, fill: number): Buffer => Buffer.alloc(length, fill);

/** A socket's reads handed to a receiver that keeps every one, as a validating handler does. */
function keepingEveryRead(): { socket: FakeSocket; kept: Buffer[] } {
  const reads = new RecycledReads();
  const socket = new FakeSocket(reads);
  const kept: Buffer[] = [];
  reads.attach((chunk) => {
    kept.push(chunk);
    return false;
  });
  return { socket, kept };
}

describe('RecycledReads', () => {
  afterEach(() => jest.restoreAllMocks());

  it('reads into the same memory again when the receiver keeps nothing', () => {
    const reads = new RecycledReads();
    const socket = new FakeSocket(reads);
    const seen: string[] = [];
    reads.attach((chunk) => {
      seen.push(chunk.toString());
      return true;
    });
    const allocations = jest.spyOn(Buffer, 'allocUnsafeSlow');
    const first = socket.read(Buffer.from('one'));
    const second = socket.read(Buffer.from('two'));
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteOffset).toBe(first.byteOffset);
    expect(seen).toEqual(['one', 'two']);
    expect(allocations).not.toHaveBeenCalled();
  });

  it('puts the next read after the bytes a receiver keeps, leaving those intact', () => {
    const { socket, kept } = keepingEveryRead();
    const allocations = jest.spyOn(Buffer, 'allocUnsafeSlow');
    const sizes = [100, 3, 5_000, 17, 8];
    const rooms = sizes.map((size, i) => socket.read(filled(size, 0x41 + i)));
    sizes.forEach((size, i) => expect(kept[i].equals(filled(size, 0x41 + i))).toBe(true));
    // Small kept reads share one slab, each starting aligned after the one before.
    for (let i = 1; i < rooms.length; i++) {
      expect(rooms[i].buffer).toBe(rooms[0].buffer);
      expect(rooms[i].byteOffset % 8).toBe(0);
      expect(rooms[i].byteOffset).toBeGreaterThanOrEqual(rooms[i - 1].byteOffset + sizes[i - 1]);
    }
    expect(allocations).not.toHaveBeenCalled();
  });

  it('takes a fresh slab once too little room is left after kept reads', () => {
    const { socket, kept } = keepingEveryRead();
    const allocations = jest.spyOn(Buffer, 'allocUnsafeSlow');
    const size = 40_000;
    const count = 3 * Math.ceil(READ_BUFFER_BYTES / size);
    const rooms: Buffer[] = [];
    for (let i = 0; i < count; i++) rooms.push(socket.read(filled(size, i)));
    for (let i = 0; i < count; i++) expect(kept[i].equals(filled(size, i))).toBe(true);
    // Every room offered had space for a whole read of up to 64 KiB.
    for (const room of rooms) expect(room.length).toBeGreaterThanOrEqual(64 * 1024);
    expect(allocations.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(allocations.mock.calls.length).toBeLessThanOrEqual(count / 3);
  });

  it('goes back to the start of its room when a read after kept ones is not kept', () => {
    const reads = new RecycledReads();
    const socket = new FakeSocket(reads);
    let keep = true;
    reads.attach(() => !keep);
    const kept = socket.read(filled(1_000, 1));
    keep = false;
    const passed = socket.read(filled(500, 2));
    const again = socket.read(filled(500, 3));
    expect(passed.byteOffset).toBeGreaterThanOrEqual(kept.byteOffset + 1_000);
    expect(again.byteOffset).toBe(passed.byteOffset);
    expect(kept.subarray(0, 1_000).equals(filled(1_000, 1))).toBe(true);
  });

  it('copies the reads that arrive before a receiver and hands them over first', () => {
    const reads = new RecycledReads();
    const socket = new FakeSocket(reads);
    socket.read(Buffer.from('early'));
    socket.read(Buffer.from('later'));
    const seen: string[] = [];
    reads.attach((chunk) => {
      seen.push(chunk.toString());
      return true;
    });
    socket.read(Buffer.from('last'));
    expect(seen).toEqual(['early', 'later', 'last']);
  });
});
