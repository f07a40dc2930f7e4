/**
 * Integration tests need a real broker. Checking once up front turns a missing broker into one
 * clear message instead of every test timing out on its own.
 */
const { Buffer } = require('node:buffer');
const net = require('node:net');

const BOOTSTRAP = process.env.KAFKA_BOOTSTRAP || '127.0.0.1:9092';
const TIMEOUT_MS = 5000;
const CORRELATION_ID = 0x6577;

/** ApiVersions v0 with header v1: an open port alone could be anything, this proves Kafka. */
function apiVersionsRequest() {
  const clientId = Buffer.from('global-setup');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0);
  body.writeInt16BE(0, 2);
  body.writeInt32BE(CORRELATION_ID, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

function answersKafka(hostPort) {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i);
  const port = Number(hostPort.slice(i + 1));
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(TIMEOUT_MS, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write(apiVersionsRequest()));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      // size, correlation id, error code
      if (received.length >= 10) {
        done(received.readInt32BE(4) === CORRELATION_ID && received.readInt16BE(8) === 0);
      }
    });
  });
}

module.exports = async function globalSetup() {
  const brokers = BOOTSTRAP.split(',').map((b) => b.trim());
  const answers = await Promise.all(brokers.map(answersKafka));
  if (!answers.some(Boolean)) {
    throw new Error(
      `No Kafka broker answers at ${BOOTSTRAP}. Run the integration tests via \`make test\` or ` +
        '`scripts/with-kafka.sh npx jest --selectProjects integration --runInBand`, ' +
        'or start one with `scripts/kafka.sh up` (set KAFKA_BOOTSTRAP for a broker elsewhere).',
    );
  }
};
