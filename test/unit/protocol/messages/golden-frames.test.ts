/**
 * Golden vectors: frames kcat, kafkajs and the Java client sent through the gateway, and the
 * broker's answers, captured by scripts/capture-frames.ts into test/fixtures/frames/<client>/.
 * Every frame must decode with the generated codec of its api key and version, leave nothing over,
 * and re-encode to the very same bytes: a real client's choices (tagged fields, null versus empty,
 * field order within versions) are what the round-trip property tests cannot invent. The values
 * each client's manifest.json records (topic, records, client ids, broker) are checked as well,
 * so a codec that round-trips bytes but decodes them into the wrong fields fails too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  type RequestHeader,
} from '../../../../src/protocol/headers';
import {
  ApiKey,
  apiCodec,
  apiKeyInfo,
  type ApiVersionsResponse,
  type MetadataResponse,
  type ProduceRequest,
  type ProduceResponse,
} from '../../../../src/protocol/messages';
import { Reader, Writer } from '../../../../src/protocol/primitives';
import { decodeRecords, readRecordBatches, type DecodedRecord } from '../../../../src/protocol/records';
import type { FrameEntry, FrameManifest, ProducedRecord } from '../../../support/frame-manifest';

const DIR = path.resolve(__dirname, '../../../fixtures/frames');
const CLIENTS = ['kcat', 'kafkajs', 'java'] as const;

/** What each client puts in its Produce request headers: defaults, except the one kafkajs is given. */
const PRODUCER_CLIENT_ID: Record<(typeof CLIENTS)[number], string> = {
  kcat: 'rdkafka',
  kafkajs: 'event-gateway-golden',
  java: 'console-producer',
};

interface Decoded {
  entry: FrameEntry;
  /** Request header, or null for a response. */
  requestHeader: RequestHeader | null;
  body: unknown;
}

function loadManifest(client: string): FrameManifest {
  const file = path.join(DIR, client, 'manifest.json');
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: recapture with scripts/with-kafka.sh npm run capture-frames`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as FrameManifest;
}

function frameBytes(client: string, entry: FrameEntry): Buffer {
  return fs.readFileSync(path.join(DIR, client, entry.file));
}

function codecFor(entry: FrameEntry) {
  const codec = apiCodec(entry.apiKey);
  if (codec === undefined) throw new Error(`${entry.file}: no generated codec for api key ${entry.apiKey}`);
  return codec;
}

/** Header and body as the codec reads them; throws unless the whole frame is consumed. */
function decodeFrame(entry: FrameEntry, frame: Buffer): Decoded {
  const codec = codecFor(entry);
  const reader = new Reader(frame);
  let requestHeader: RequestHeader | null = null;
  let body: unknown;
  if (entry.direction === 'request') {
    requestHeader = decodeRequestHeader(reader);
    body = codec.decodeRequest(reader, entry.apiVersion);
  } else {
    decodeResponseHeader(reader, entry.apiKey, entry.apiVersion);
    body = codec.decodeResponse(reader, entry.apiVersion);
  }
  if (reader.remaining() !== 0) {
    throw new Error(`${entry.file}: ${reader.remaining()} bytes left over after the body`);
  }
  return { entry, requestHeader, body };
}

function reencode(entry: FrameEntry, frame: Buffer): Buffer {
  const codec = codecFor(entry);
  const reader = new Reader(frame);
  const writer = new Writer(frame.length);
  if (entry.direction === 'request') {
    const header = decodeRequestHeader(reader);
    const body = codec.decodeRequest(reader, entry.apiVersion);
    encodeRequestHeader(writer, header);
    codec.encodeRequest(writer, body, entry.apiVersion);
  } else {
    const header = decodeResponseHeader(reader, entry.apiKey, entry.apiVersion);
    const body = codec.decodeResponse(reader, entry.apiVersion);
    encodeResponseHeader(writer, header, entry.apiKey, entry.apiVersion);
    codec.encodeResponse(writer, body, entry.apiVersion);
  }
  return Buffer.from(writer.result());
}

/** Null when equal; otherwise where the bytes part, which says far more than "not equal". */
function firstDifference(expected: Buffer, actual: Buffer): string | null {
  const shorter = Math.min(expected.length, actual.length);
  for (let i = 0; i < shorter; i++) {
    if (expected[i] !== actual[i]) {
      const around = (b: Buffer) => b.subarray(Math.max(0, i - 8), i + 8).toString('hex');
      return `byte ${i}: fixture 0x${expected[i].toString(16)}, re-encoded 0x${actual[i].toString(16)} (fixture ...${around(expected)}..., re-encoded ...${around(actual)}...)`;
    }
  }
  if (expected.length !== actual.length) {
    return `lengths differ: fixture ${expected.length} bytes, re-encoded ${actual.length} bytes`;
  }
  return null;
}

function asExpected(records: DecodedRecord[]): ProducedRecord[] {
  const text = (b: Buffer | null) => (b === null ? null : b.toString('utf8'));
  return records.map((r) => ({
    key: text(r.key),
    value: text(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: text(h.value) })),
  }));
}

if (!fs.existsSync(DIR)) {
  const message = `golden frames skipped: ${DIR} is absent; capture it with scripts/with-kafka.sh npm run capture-frames`;
  console.warn(message);
  describe('golden frames', () => {
    it.skip(message, () => undefined);
  });
} else {
  describe.each(CLIENTS)('golden frames of %s', (client) => {
    const manifest = loadManifest(client);
    const of = (apiKey: number, direction: FrameEntry['direction']) =>
      manifest.frames.filter((f) => f.apiKey === apiKey && f.direction === direction);
    const decoded = (apiKey: number, direction: FrameEntry['direction']) =>
      of(apiKey, direction).map((entry) => decodeFrame(entry, frameBytes(client, entry)));

    it('has exactly the frame files its manifest lists', () => {
      const files = fs.readdirSync(path.join(DIR, client)).filter((f) => f.endsWith('.bin'));
      expect(files.sort()).toEqual(manifest.frames.map((f) => f.file).sort());
      expect(manifest.frames.length).toBeGreaterThan(0);
      expect(manifest.frames.some((f) => f.direction === 'response')).toBe(true);
    });

    it.each(manifest.frames.map((entry) => [entry.file, entry] as const))(
      '%s decodes completely and re-encodes byte-identically',
      (_file, entry) => {
        const frame = frameBytes(client, entry);
        expect(frame.length).toBe(entry.bytes);
        expect(entry.file).toBe(
          `${entry.file.slice(0, 3)}-${apiKeyInfo(entry.apiKey)?.name}-v${entry.apiVersion}-${entry.direction}.bin`,
        );
        if (entry.direction === 'request') {
          expect({
            apiKey: frame.readInt16BE(0),
            apiVersion: frame.readInt16BE(2),
            correlationId: frame.readInt32BE(4),
          }).toEqual({
            apiKey: entry.apiKey,
            apiVersion: entry.apiVersion,
            correlationId: entry.correlationId,
          });
        } else {
          expect(frame.readInt32BE(0)).toBe(entry.correlationId);
        }
        expect(() => decodeFrame(entry, frame)).not.toThrow();
        expect(firstDifference(frame, reencode(entry, frame))).toBeNull();
      },
    );

    it(`sends its client id in every request header (${PRODUCER_CLIENT_ID[client]} for Produce)`, () => {
      expect(manifest.producerClientId).toBe(PRODUCER_CLIENT_ID[client]);
      const requests = manifest.frames
        .filter((f) => f.direction === 'request')
        .map((entry) => decodeFrame(entry, frameBytes(client, entry)));
      expect(requests.length).toBeGreaterThan(0);
      for (const { requestHeader } of requests) expect(manifest.clientIds).toContain(requestHeader!.clientId);
      const producers = decoded(ApiKey.Produce, 'request').map((d) => d.requestHeader!.clientId);
      expect(producers.length).toBeGreaterThan(0);
      expect(new Set(producers)).toEqual(new Set([PRODUCER_CLIENT_ID[client]]));
    });

    it('produces exactly the recorded records to its topic', () => {
      const { name, topicId } = manifest.topic;
      const requests = decoded(ApiKey.Produce, 'request');
      expect(requests.length).toBeGreaterThan(0);
      const records: DecodedRecord[] = [];
      for (const { entry, body } of requests) {
        for (const topic of (body as ProduceRequest).topicData) {
          // Produce v13 names topics by id only (KIP-516).
          if (entry.apiVersion >= 13) expect(topic.topicId).toBe(topicId);
          else expect(topic.name).toBe(name);
          for (const partition of topic.partitionData) {
            expect(partition.records).not.toBeNull();
            for (const batch of readRecordBatches(partition.records!)) {
              if (batch.magic !== 2) throw new Error(`${entry.file}: magic ${batch.magic} batch`);
              records.push(...decodeRecords(batch));
            }
          }
        }
      }
      expect(asExpected(records)).toEqual(manifest.produced);
      for (const { body } of decoded(ApiKey.Produce, 'response')) {
        for (const topic of (body as ProduceResponse).responses) {
          for (const partition of topic.partitionResponses) expect(partition.errorCode).toBe(0);
        }
      }
    });

    it('sees its topic id in a Metadata response when it produces by topic id', () => {
      const { name, topicId } = manifest.topic;
      if (topicId === null) {
        expect(decoded(ApiKey.Produce, 'request').every((d) => d.entry.apiVersion < 13)).toBe(true);
        return;
      }
      const topics = decoded(ApiKey.Metadata, 'response').flatMap((d) => (d.body as MetadataResponse).topics);
      expect(topics.filter((t) => t.name === name).map((t) => t.topicId)).toContain(topicId);
    });

    it(`gets Metadata responses that list broker ${manifest.broker.nodeId} at ${manifest.broker.host}:${manifest.broker.port}`, () => {
      const responses = decoded(ApiKey.Metadata, 'response');
      expect(responses.length).toBeGreaterThan(0);
      for (const { body } of responses) {
        const brokers = (body as MetadataResponse).brokers.map((b) => ({
          nodeId: b.nodeId,
          host: b.host,
          port: b.port,
        }));
        const { nodeId, host, port } = manifest.broker;
        expect(brokers).toContainEqual({ nodeId, host, port });
      }
    });

    it('gets ApiVersions responses that list Produce, covering the version it then uses', () => {
      const responses = decoded(ApiKey.ApiVersions, 'response');
      expect(responses.length).toBeGreaterThan(0);
      const used = of(ApiKey.Produce, 'request').map((f) => f.apiVersion);
      for (const { body } of responses) {
        const response = body as ApiVersionsResponse;
        expect(response.errorCode).toBe(0);
        const produce = response.apiKeys.find((k) => k.apiKey === ApiKey.Produce);
        expect(produce).toBeDefined();
        for (const version of used) {
          expect(version).toBeGreaterThanOrEqual(produce!.minVersion);
          expect(version).toBeLessThanOrEqual(produce!.maxVersion);
        }
      }
    });
  });
}
