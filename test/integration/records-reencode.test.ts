/**
 * The gateway's rewrite path end to end: batches written by real clients are decoded, every record
 * gets an extra header, and the batch is re-encoded with its own compression and produced with a
 * raw Produce v9 request. The broker decompresses and validates compressed batches with Kafka's
 * own Java codecs before appending them, so its acceptance proves the encoding; kafkajs and the
 * Java console consumer then read the records back.
 */
import type { IHeaders, KafkaMessage } from 'kafkajs';
import {
  decodeRecords,
  encodeRecordBatch,
  readRecordBatches,
  type CompressionName,
  type DecodedRecord,
  type RecordBatch,
} from '../../src/protocol/records';
import { BOOTSTRAP, kafkaClient, kafkaTool, readMessages, uniqueTopic } from './support/kafka-harness';
import { registerKafkaJsCodecs } from './support/kafkajs-codecs';
import {
  CODECS,
  createTopic,
  fetchRecords,
  javaRecords,
  kcatRecords,
  produceWithJava,
  produceWithKcat,
  rawProduce,
  type ExpectedRecord,
} from './support/record-batches';

jest.setTimeout(180_000);

const MARK = { key: 'x-gateway', value: 'checked' };

registerKafkaJsCodecs();

interface Source {
  label: string;
  compression: CompressionName;
  expected: ExpectedRecord[];
  batch: RecordBatch;
}

async function capture(client: 'java' | 'kcat', compression: CompressionName): Promise<Source> {
  const topic = uniqueTopic(`reencode-src-${client}-${compression}`);
  await createTopic(topic);
  const expected = client === 'java' ? javaRecords() : kcatRecords();
  if (client === 'java') await produceWithJava(topic, compression, expected);
  else await produceWithKcat(topic, compression, expected);
  const [batch] = readRecordBatches(await fetchRecords(topic));
  if (batch.magic !== 2) throw new Error(`magic ${batch.magic}`);
  return { label: `${client}/${compression}`, compression, expected, batch };
}

/** kafkajs folds headers into an object, repeated keys into arrays. */
function asKafkajsHeaders(headers: { key: string; value: string | null }[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of headers) {
    const v = value === null ? null : Buffer.from(value);
    out[key] = key in out ? [...(Array.isArray(out[key]) ? (out[key] as unknown[]) : [out[key]]), v] : v;
  }
  return out;
}

function normalise(headers: IHeaders | undefined): Record<string, unknown> {
  return { ...(headers ?? {}) };
}

describe('decode, add a header, re-encode with the same compression, produce raw', () => {
  const sources: Source[] = [];
  let target: string;
  let messages: KafkaMessage[];

  beforeAll(async () => {
    for (const codec of CODECS) sources.push(await capture('java', codec));
    // librdkafka's raw snappy comes back in the Java client's xerial form.
    sources.push(await capture('kcat', 'snappy'));
    target = uniqueTopic('reencode-dst');
    await createTopic(target);
  });

  it('the broker accepts every rewritten batch', async () => {
    let offset = 0n;
    for (const source of sources) {
      const records: DecodedRecord[] = decodeRecords(source.batch).map((r) => ({
        ...r,
        headers: [...r.headers, { key: MARK.key, value: Buffer.from(MARK.value) }],
      }));
      const rewritten = encodeRecordBatch(source.batch, records);
      const [check] = readRecordBatches(rewritten) as RecordBatch[];
      expect({ label: source.label, compression: check.compression, producerId: check.producerId }).toEqual({
        label: source.label,
        compression: source.batch.compression,
        producerId: source.batch.producerId,
      });
      const result = await rawProduce(target, rewritten);
      expect({ label: source.label, errorCode: result.errorCode, errorMessage: result.errorMessage }).toEqual(
        { label: source.label, errorCode: 0, errorMessage: null },
      );
      expect(result.baseOffset).toBe(offset);
      offset += BigInt(records.length);
    }
  });

  it('kafkajs reads the records back with the header added and everything else unchanged', async () => {
    const expected = sources.flatMap((s) => s.expected);
    messages = await readMessages(kafkaClient(BOOTSTRAP), target, expected.length, 60_000);
    expect(messages).toHaveLength(expected.length);
    messages.forEach((message, i) => {
      const want = expected[i];
      expect(message.key === null ? null : message.key.toString('utf8')).toBe(want.key);
      expect(message.value === null ? null : message.value.toString('utf8')).toBe(want.value);
      expect(normalise(message.headers)).toEqual(asKafkajsHeaders([...want.headers, MARK]));
    });
  });

  it('the broker stored each batch with its original compression', async () => {
    const stored = readRecordBatches(await fetchRecords(target)) as RecordBatch[];
    expect(stored.map((b) => b.compression)).toEqual(sources.map((s) => s.batch.compression));
    stored.forEach((batch, i) => {
      expect(decodeRecords(batch).every((r) => r.headers.at(-1)?.key === MARK.key)).toBe(true);
      expect(batch.producerId).toBe(sources[i].batch.producerId);
      expect(batch.baseSequence).toBe(sources[i].batch.baseSequence);
    });
  });

  it('the Java console consumer reads the header on every record', async () => {
    const total = sources.reduce((n, s) => n + s.expected.length, 0);
    const { stdout } = await kafkaTool(
      [
        'console-consumer',
        '--bootstrap-server',
        BOOTSTRAP,
        '--topic',
        target,
        '--from-beginning',
        '--max-messages',
        String(total),
        '--timeout-ms',
        '60000',
        '--formatter-property',
        'print.headers=true',
        '--formatter-property',
        'print.value=false',
      ],
      { timeoutMs: 90_000 },
    );
    const lines = stdout.split('\n').filter((line) => line.length > 0);
    expect(lines).toHaveLength(total);
    expect(lines.every((line) => line.includes(`${MARK.key}:${MARK.value}`))).toBe(true);
  });
});
