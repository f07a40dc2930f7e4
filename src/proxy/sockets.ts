import net from 'node:net';
import tls from 'node:tls';

/** Large enough that a big Fetch response arrives in few reads (and leaves in few writes). */
export const READ_BUFFER_BYTES = 256 * 1024;

/**
 * How much a socket may hold queued in the gateway before the other side stops being read (its
 * writable high-water mark). Node's default, 16 KiB, is smaller than one read (up to 64 KiB from a
 * socket read the usual way, up to READ_BUFFER_BYTES from one read into recycled memory: broker
 * sockets, and plain-TCP clients), so even a write the kernel takes whole would report the
 * socket full: reading the other side would stop and start again around every read, two epoll
 * changes and an extra turn of the event loop each time. Two broker reads' worth lets writes that
 * leave at once pass without that, and still stops a side that falls behind, with a fixed bound
 * per connection and direction.
 */
export const WRITE_QUEUE_BYTES = 2 * READ_BUFFER_BYTES;

/**
 * The server behind a client-facing listener. Plain TCP sockets get WRITE_QUEUE_BYTES as their
 * writable high-water mark and are accepted paused, so that none is read before the gateway has
 * chosen how to read it (accepted-socket.ts); TLS sockets keep Node's default, as tls.Server does
 * not pass it on.
 */
export function createClientServer(
  tlsOptions: tls.TlsOptions | null,
  onSocket: (socket: net.Socket) => void,
): net.Server {
  return tlsOptions
    ? tls.createServer(tlsOptions, onSocket)
    : net.createServer({ highWaterMark: WRITE_QUEUE_BYTES, pauseOnConnect: true }, onSocket);
}
