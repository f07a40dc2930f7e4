/**
 * Produces one batch with kafkajs in a process of its own (run with tsx): kafkajs keeps its codecs
 * in one table per process, so a producer in the test process would register for the gateway's
 * tap too, and hide whether the gateway registers them itself.
 *
 *   stdin: {"brokers": ["host:port"], "topic": "t", "codec": "snappy", "records": [{"key", "value"}]}
 */
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs';
import type { CompressionName } from '../../../src/protocol/records';
import { registerKafkaJsCodecs } from '../../../src/protocol/records/kafkajs-codecs';

interface Request {
  brokers: string[];
  topic: string;
  codec: CompressionName;
  records: { key: string | null; value: string | null }[];
}

const COMPRESSION: Record<CompressionName, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Request;
  registerKafkaJsCodecs();
  const producer = new Kafka({
    clientId: 'kafkajs-produce',
    brokers: request.brokers,
    logLevel: logLevel.NOTHING,
  }).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    await producer.send({
      topic: request.topic,
      compression: COMPRESSION[request.codec],
      messages: request.records,
    });
  } finally {
    await producer.disconnect();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
