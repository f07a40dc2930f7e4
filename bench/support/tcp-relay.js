// A bare TCP relay: bytes in, bytes out, no protocol awareness. bench/relay-floor.sh measures it
// beside the gateway to show what merely putting a process in the path costs on a machine.
//
// It is as lean as Node allows, so that it stands for any relay and not for Node's stream
// machinery: broker-to-client bytes (the bulk: fetch responses) are read into one reused buffer
// (`onread`) and written on at once, as a read/write loop in C would do, and cost about as much
// CPU per byte as such a loop. The client-to-broker direction carries small requests and uses
// pipe().
'use strict';
const { Buffer } = require('node:buffer');
const net = require('node:net');

const READ_BUFFER_BYTES = 256 * 1024;
const [listenPort, target] = process.argv.slice(2);
const [host, port] = target.split(':');

net
  .createServer((client) => {
    let buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    const upstream = net.connect({
      host,
      port: Number(port),
      onread: {
        buffer: () => buffer,
        callback: (bytes, memory) => {
          const writable = client.write(memory.subarray(0, bytes));
          // The socket still holds a view of the memory: the next read needs a buffer of its own.
          if (client.writableLength > 0) buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
          if (!writable) {
            upstream.pause();
            client.once('drain', () => upstream.resume());
          }
          return true;
        },
      },
    });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
  })
  .listen(Number(listenPort), '127.0.0.1');
