// A bare TCP relay: bytes in, bytes out, no protocol awareness. bench/relay-floor.sh measures it
// beside the gateway to show what merely putting a Node process in the path costs on a machine.
'use strict';
const net = require('node:net');

const [listenPort, target] = process.argv.slice(2);
const [host, port] = target.split(':');
net
  .createServer((client) => {
    const upstream = net.connect(Number(port), host);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  })
  .listen(Number(listenPort), '127.0.0.1');
