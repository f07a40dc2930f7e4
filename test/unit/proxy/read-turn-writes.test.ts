import type { Socket } from 'node:net';
import { ReadTurnWrites } from '../../../src/proxy/read-turn-writes';

/** Records what reaches the socket: each write's bytes, and cork/uncork as they happen. */
function recordingSocket(takes = () => true) {
  const calls: (string | Buffer)[] = [];
  const socket = {
    write: (bytes: Buffer) => {
      calls.push(bytes);
      return takes();
    },
    cork: () => calls.push('cork'),
    uncork: () => calls.push('uncork'),
  };
  return { socket: socket as unknown as Socket, calls };
}

describe('ReadTurnWrites', () => {
  const read = Buffer.from('0123456789abcdef');

  it('joins neighbouring views of one read into one plain write', () => {
    const { socket, calls } = recordingSocket();
    const turn = new ReadTurnWrites(socket);
    turn.begin();
    turn.write(read.subarray(0, 4));
    turn.write(read.subarray(4, 9));
    turn.write(read.subarray(9, 16));
    expect(calls).toEqual([]);
    expect(turn.end()).toBe(true);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toEqual(read);
    expect((calls[0] as Buffer).buffer).toBe(read.buffer);
  });

  it('corks the socket for pieces that are not neighbours, keeping their order', () => {
    const { socket, calls } = recordingSocket();
    const turn = new ReadTurnWrites(socket);
    const made = Buffer.from('XY');
    turn.begin();
    turn.write(read.subarray(0, 4));
    turn.write(made);
    turn.write(read.subarray(4, 8));
    turn.write(read.subarray(8, 10));
    turn.end();
    expect(calls.map((call) => (typeof call === 'string' ? call : call.toString()))).toEqual([
      'cork',
      '0123',
      'XY',
      '456789',
      'uncork',
    ]);
  });

  it('writes at once outside a turn', () => {
    const { socket, calls } = recordingSocket();
    const turn = new ReadTurnWrites(socket);
    turn.write(read.subarray(0, 2));
    expect(calls).toHaveLength(1);
  });

  it('reports a full socket, whichever write found it full', () => {
    let left = 1;
    const { socket } = recordingSocket(() => left-- > 0);
    const turn = new ReadTurnWrites(socket);
    turn.begin();
    expect(turn.write(read.subarray(0, 2))).toBe(true);
    expect(turn.write(Buffer.from('made'))).toBe(true);
    expect(turn.write(Buffer.from('again'))).toBe(false);
    expect(turn.end()).toBe(false);
    turn.begin();
    expect(turn.end()).toBe(true);
  });
});
