import {
  decodeApiVersionsRequest,
  decodeApiVersionsResponse,
  decodeMetadataResponse,
  decodeProduceRequest,
  decodeProduceResponse,
  encodeApiVersionsResponse,
  encodeMetadataResponse,
  encodeProduceResponse,
  type ProduceResponse,
} from '../../../../src/protocol/messages';
import {
  decodeRequestHeader,
  decodeResponseHeader,
  peekRequestRoute,
} from '../../../../src/protocol/headers';
import { ProtocolError, Reader, Writer } from '../../../../src/protocol/primitives';

/** Hex with spaces and `|` separators for readability. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/[\s|]/g, ''), 'hex');
}

function ascii(text: string): string {
  return Buffer.from(text, 'latin1').toString('hex');
}

function encoded(write: (writer: Writer) => void): Buffer {
  const writer = new Writer();
  write(writer);
  return Buffer.from(writer.result());
}

describe('ApiVersions v3 request as librdkafka (kcat) sends it', () => {
  const frame = hex(
    [
      '0012 0003 00000001', // api key 18, version 3, correlation id 1
      `0007 ${ascii('rdkafka')}`, // client id, classic string even in header v2
      '00', // header tagged fields
      `0b ${ascii('librdkafka')}`, // ClientSoftwareName, compact
      `06 ${ascii('2.3.0')}`, // ClientSoftwareVersion, compact
      '00', // body tagged fields
    ].join(''),
  );

  it('routes from fixed offsets', () => {
    expect(peekRequestRoute(frame)).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 1 });
  });

  it('decodes header and body field by field', () => {
    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader);
    expect(header).toEqual({
      apiKey: 18,
      apiVersion: 3,
      correlationId: 1,
      clientId: 'rdkafka',
      headerVersion: 2,
      unknownTaggedFields: [],
      bodyOffset: 18,
    });
    const body = decodeApiVersionsRequest(reader, 3);
    expect(body.clientSoftwareName).toBe('librdkafka');
    expect(body.clientSoftwareVersion).toBe('2.3.0');
    expect(body.unknownTaggedFields).toEqual([]);
    expect(reader.remaining()).toBe(0);
  });
});

describe('ApiVersions v3 response with tagged fields', () => {
  const body = hex(
    [
      '0000', // error code
      '03', // two api keys
      '0000 0003 000d 00', // Produce 3-13
      '0012 0000 0004 00', // ApiVersions 0-4
      '00000000', // throttle time
      '02', // two tagged fields
      '01 08 0000000000000005', // tag 1 FinalizedFeaturesEpoch = 5
      '03 01 00', // tag 3 ZkMigrationReady = false: its default, sent anyway
    ].join(''),
  );

  it('uses response header v0 although v3 is flexible', () => {
    const header = decodeResponseHeader(new Reader(hex('0000002a')), 18, 3);
    expect(header).toEqual({ correlationId: 42, headerVersion: 0, unknownTaggedFields: [], bodyOffset: 4 });
  });

  it('decodes known tagged fields and remembers the explicit default', () => {
    const decoded = decodeApiVersionsResponse(new Reader(body), 3);
    expect(decoded.errorCode).toBe(0);
    expect(decoded.apiKeys).toEqual([
      { apiKey: 0, minVersion: 3, maxVersion: 13, unknownTaggedFields: [] },
      { apiKey: 18, minVersion: 0, maxVersion: 4, unknownTaggedFields: [] },
    ]);
    expect(decoded.throttleTimeMs).toBe(0);
    expect(decoded.supportedFeatures).toEqual([]);
    expect(decoded.finalizedFeaturesEpoch).toBe(5n);
    expect(decoded.finalizedFeatures).toEqual([]);
    expect(decoded.zkMigrationReady).toBe(false);
    expect(decoded.explicitDefaultTags).toEqual([3]);

    expect(encoded((w) => encodeApiVersionsResponse(w, decoded, 3))).toEqual(body);
    // Without the note the field is omitted, as Kafka's encoder would.
    delete decoded.explicitDefaultTags;
    const kafkaStyle = encoded((w) => encodeApiVersionsResponse(w, decoded, 3));
    expect(kafkaStyle).toEqual(
      Buffer.concat([body.subarray(0, body.length - 14), hex('01 01 08 0000000000000005')]),
    );
  });

  it('keeps unknown tagged fields raw and in tag order', () => {
    const withUnknown = hex(
      [
        '0000', // error code
        '02 0012 0000 0004 00', // one api key
        '00000000', // throttle time
        '03', // three tagged fields
        '01 08 0000000000000005', // FinalizedFeaturesEpoch = 5
        '02 01 01', // FinalizedFeatures: empty, its default, sent anyway
        '07 02 beef', // a tag this version does not know
      ].join(''),
    );
    const reader = new Reader(withUnknown);
    const decoded = decodeApiVersionsResponse(reader, 3);
    expect(reader.remaining()).toBe(0);
    expect(decoded.explicitDefaultTags).toEqual([2]);
    expect(decoded.unknownTaggedFields).toEqual([{ tag: 7, data: hex('beef') }]);
    expect(encoded((w) => encodeApiVersionsResponse(w, decoded, 3))).toEqual(withUnknown);
  });
});

describe('Metadata v12 response', () => {
  const topicId = '1a2b3c4d5e6f708192a3b4c5d6e7f801';
  const frame = hex(
    [
      '00000007 00', // response header v1: correlation id 7, no tagged fields
      '00000000', // throttle time
      '02', // one broker
      `00000001 0a ${ascii('localhost')} 00002384 00 00`, // node 1, localhost:9092, rack null
      `17 ${ascii('MkU3OEVBNTcwNTJENDM2Qg')}`, // cluster id
      '00000001', // controller id
      '02', // one topic
      `0000 07 ${ascii('orders')} ${topicId} 00`, // error, name, topic id, not internal
      '02', // one partition
      '0000 00000000 00000001 00000005', // error, index 0, leader 1, leader epoch 5
      '02 00000001 | 02 00000001 | 01', // replicas [1], isr [1], offline []
      '00', // partition tagged fields
      '80000000', // topic authorized operations: not requested
      '00', // topic tagged fields
      '00', // body tagged fields
    ].join(''),
  );

  it('decodes field by field', () => {
    const reader = new Reader(frame);
    expect(decodeResponseHeader(reader, 3, 12)).toMatchObject({
      correlationId: 7,
      headerVersion: 1,
      bodyOffset: 5,
    });
    const m = decodeMetadataResponse(reader, 12);
    expect(reader.remaining()).toBe(0);
    expect(m.throttleTimeMs).toBe(0);
    expect(m.brokers).toEqual([
      { nodeId: 1, host: 'localhost', port: 9092, rack: null, unknownTaggedFields: [] },
    ]);
    expect(m.clusterId).toBe('MkU3OEVBNTcwNTJENDM2Qg');
    expect(m.controllerId).toBe(1);
    expect(m.topics).toHaveLength(1);
    const [topic] = m.topics;
    expect(topic.errorCode).toBe(0);
    expect(topic.name).toBe('orders');
    expect(topic.topicId).toBe(topicId);
    expect(topic.isInternal).toBe(false);
    expect(topic.topicAuthorizedOperations).toBe(-2147483648);
    expect(topic.partitions).toEqual([
      {
        errorCode: 0,
        partitionIndex: 0,
        leaderId: 1,
        leaderEpoch: 5,
        replicaNodes: [1],
        isrNodes: [1],
        offlineReplicas: [],
        unknownTaggedFields: [],
      },
    ]);
    // Fields outside v12 hold their defaults.
    expect(m.clusterAuthorizedOperations).toBe(-2147483648);
    expect(m.errorCode).toBe(0);
  });

  it('re-encodes with a rewritten broker address and nothing else changed', () => {
    const reader = new Reader(frame, 5);
    const m = decodeMetadataResponse(reader, 12);
    expect(encoded((w) => encodeMetadataResponse(w, m, 12))).toEqual(frame.subarray(5));
    m.brokers[0].host = 'gateway.example';
    m.brokers[0].port = 19092;
    const rewritten = decodeMetadataResponse(
      new Reader(encoded((w) => encodeMetadataResponse(w, m, 12))),
      12,
    );
    expect(rewritten.brokers[0]).toMatchObject({ host: 'gateway.example', port: 19092 });
    expect(rewritten.topics).toEqual(m.topics);
  });

  it('rejects a hostile array count before allocating', () => {
    const hostile = hex('00000000 ffffffff0f');
    expect(() => decodeMetadataResponse(new Reader(hostile), 12)).toThrow(/cannot fit/);
  });

  it('names the api and version in errors', () => {
    try {
      decodeMetadataResponse(new Reader(frame.subarray(5, 40)), 12);
      throw new Error('decoded a truncated frame');
    } catch (error) {
      expect(error).toBeInstanceOf(ProtocolError);
      expect(error).toMatchObject({ apiKey: 3, apiVersion: 12 });
    }
  });
});

describe('Produce', () => {
  const recordBytes = 'RECORDDATA';
  const frame = hex(
    [
      '0000 0009 0000002a', // Produce v9, correlation id 42
      `0003 ${ascii('cli')} 00`, // client id, header tagged fields
      '00', // transactional id: null
      'ffff 00007530', // acks -1, timeout 30000
      `02 07 ${ascii('orders')}`, // one topic
      `02 00000000 0b ${ascii(recordBytes)} 00`, // one partition with 10 bytes of records
      '00 00', // topic and body tagged fields
    ].join(''),
  );

  it('decodes records as a view into the frame, without copying', () => {
    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader);
    expect(header).toMatchObject({
      apiKey: 0,
      apiVersion: 9,
      correlationId: 42,
      clientId: 'cli',
      headerVersion: 2,
    });
    const request = decodeProduceRequest(reader, 9);
    expect(request.transactionalId).toBeNull();
    expect(request.acks).toBe(-1);
    expect(request.timeoutMs).toBe(30000);
    const records = request.topicData[0].partitionData[0].records!;
    expect(records.toString('latin1')).toBe(recordBytes);
    expect(records.buffer).toBe(frame.buffer);
    expect(records.byteOffset).toBe(frame.byteOffset + frame.indexOf(recordBytes));
  });

  it('rejects the versions Kafka 4 removed', () => {
    expect(() => decodeProduceRequest(new Reader(frame, 18), 2)).toThrow(ProtocolError);
  });

  it('omits a default CurrentLeader, unless it arrived explicitly', () => {
    const response: ProduceResponse = {
      responses: [
        {
          name: 'orders',
          topicId: '00000000000000000000000000000000',
          partitionResponses: [
            {
              index: 0,
              errorCode: 0,
              baseOffset: 100n,
              logAppendTimeMs: -1n,
              logStartOffset: 0n,
              recordErrors: [],
              errorMessage: null,
              currentLeader: { leaderId: -1, leaderEpoch: -1, unknownTaggedFields: [] },
              unknownTaggedFields: [],
            },
          ],
          unknownTaggedFields: [],
        },
      ],
      throttleTimeMs: 0,
      nodeEndpoints: [],
      unknownTaggedFields: [],
    };
    const plain = encoded((w) => encodeProduceResponse(w, response, 10));
    response.responses[0].partitionResponses[0].explicitDefaultTags = [0];
    const explicit = encoded((w) => encodeProduceResponse(w, response, 10));
    // Tag 0, size 9: two int32s and an empty tagged section.
    expect(explicit.length - plain.length).toBe(11);
    const decoded = decodeProduceResponse(new Reader(explicit), 10);
    expect(decoded.responses[0].partitionResponses[0].explicitDefaultTags).toEqual([0]);
    expect(encoded((w) => encodeProduceResponse(w, decoded, 10))).toEqual(explicit);
  });
});
