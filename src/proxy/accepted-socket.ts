import net from 'node:net';
import { RecycledReads } from './recycled-reads';
import { WRITE_QUEUE_BYTES } from './sockets';

/** A client connection as the proxy takes it: its socket, and its reads when they are recycled. */
export interface AcceptedClient {
  socket: net.Socket;
  /** Set when the socket reads into recycled memory (its 'data' events are then not emitted). */
  reads: RecycledReads | undefined;
}

/** The part of a TCP handle the adoption relies on (Node's internal TCPWrap). */
interface ReadableHandle {
  readStart(): number;
  useUserBuffer(buffer: Uint8Array): void;
}

/**
 * Moves an accepted plain-TCP socket, accepted paused (`pauseOnConnect`), onto a socket that reads
 * into recycled memory through `onread`, as broker sockets already do. A produce-heavy client
 * sends most of the bytes the gateway carries, and a stream socket hands each of its reads
 * through `Readable.push`, `addChunk` and a 'data' event, in memory allocated for that read
 * alone: a bare relay reading this way used about 0.72 of the CPU of one reading the usual way
 * (docs/benchmarks.md, "Fifth round").
 *
 * Node documents `onread` only for sockets it creates, so the accepted socket's handle is taken
 * from its private `_handle` and given to `new net.Socket({ handle, onread })`, both in use since
 * Node's first releases (its cluster module hands accepted connections to workers the same way).
 * When a runtime lacks either, the accepted socket is returned as it is and read the usual way.
 * The server counts a connection as open until the socket it accepted closes, so that socket,
 * left without a handle, is closed when the new one closes.
 */
export function adoptForRecycledReads(accepted: net.Socket): AcceptedClient {
  const holder = accepted as unknown as { _handle?: unknown };
  const handle = holder._handle as Partial<ReadableHandle> | null | undefined;
  if (
    handle === null ||
    handle === undefined ||
    typeof handle.readStart !== 'function' ||
    typeof handle.useUserBuffer !== 'function'
  ) {
    return { socket: accepted, reads: undefined };
  }
  const reads = new RecycledReads();
  holder._handle = null;
  const socket = new net.Socket({
    handle,
    onread: reads.onread,
    // Read nothing until the connection is set up; resume() starts reading.
    pauseOnCreate: true,
    highWaterMark: WRITE_QUEUE_BYTES,
  } as unknown as net.SocketConstructorOpts);
  socket.once('close', () => accepted.destroy());
  return { socket, reads };
}
