import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  peekRequestRoute,
  requestHeaderVersionFor,
  responseHeaderVersionFor,
} from '../../../../src/protocol/headers';
import {
  API_KEYS,
  ApiKey,
  apiCodec,
  apiKeyInfo,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../../../src/protocol/messages';
import { ProtocolError, Reader, Writer } from '../../../../src/protocol/primitives';

function bytesOf(write: (writer: Writer) => void): Buffer {
  const writer = new Writer();
  write(writer);
  return Buffer.from(writer.result());
}

describe('api key table', () => {
  it('lists every api key of the definitions, removed ones included', () => {
    expect(API_KEYS.map((api) => api.apiKey)).toEqual(Array.from({ length: 93 }, (_, i) => i));
    expect(apiKeyInfo(ApiKey.Produce)).toMatchObject({
      name: 'Produce',
      request: { min: 3, max: 13 },
      response: { min: 3, max: 13 },
      flexibleFrom: 9,
    });
    expect(apiKeyInfo(ApiKey.ControlledShutdown)).toMatchObject({
      request: null,
      response: null,
      flexibleFrom: 3,
    });
    expect(apiKeyInfo(ApiKey.SaslHandshake)?.flexibleFrom).toBeNull();
    expect(apiKeyInfo(ApiKey.InitProducerId)?.latestVersionUnstable).toBe(true);
    expect(apiKeyInfo(93)).toBeUndefined();
    expect(apiCodec(ApiKey.LeaderAndIsr)).toBeUndefined();
    expect(apiCodec(ApiKey.ShareFetch)?.name).toBe('ShareFetch');
  });

  it('gives exact header versions for defined versions only', () => {
    expect(requestHeaderVersion(ApiKey.Produce, 9)).toBe(2);
    expect(requestHeaderVersion(ApiKey.Produce, 8)).toBe(1);
    expect(requestHeaderVersion(ApiKey.Produce, 2)).toBeUndefined();
    expect(requestHeaderVersion(ApiKey.ControlledShutdown, 0)).toBe(0);
    expect(responseHeaderVersion(ApiKey.Metadata, 9)).toBe(1);
    expect(responseHeaderVersion(ApiKey.Metadata, 8)).toBe(0);
    expect(responseHeaderVersion(ApiKey.ApiVersions, 4)).toBe(0);
    expect(responseHeaderVersion(500, 0)).toBeUndefined();
  });
});

describe('header version inference for frames the table does not define', () => {
  it.each([
    ['a removed, pre-flexible version', ApiKey.Produce, 2, 1, 0],
    ['a version above the highest known of a flexible API', ApiKey.Fetch, 99, 2, 1],
    ['a version above the highest of a never-flexible API', ApiKey.SaslHandshake, 7, 1, 0],
    ['a removed API at a version it had as flexible', ApiKey.LeaderAndIsr, 5, 2, 1],
    ['a removed API at a version it had as rigid', ApiKey.ControlledShutdown, 1, 1, 0],
    ['an api key newer than the table', 400, 0, 2, 1],
  ])('%s', (_what, apiKey, version, requestHeader, responseHeader) => {
    expect(requestHeaderVersionFor(apiKey, version)).toBe(requestHeader);
    expect(responseHeaderVersionFor(apiKey, version)).toBe(responseHeader);
  });

  it('keeps ApiVersions responses on header v0 at any version', () => {
    expect(responseHeaderVersionFor(ApiKey.ApiVersions, 9)).toBe(0);
  });
});

describe('request headers', () => {
  it('peeks the route at an offset without decoding the rest', () => {
    const frame = Buffer.from('ffffffff' + '0003000c7fffffff' + 'ff', 'hex');
    expect(peekRequestRoute(frame, 4)).toEqual({ apiKey: 3, apiVersion: 12, correlationId: 0x7fffffff });
    expect(() => peekRequestRoute(frame, 6)).toThrow(ProtocolError);
  });

  it('round-trips a header of an unknown api key as v2, tagged fields and all', () => {
    const header = {
      apiKey: 400,
      apiVersion: 3,
      correlationId: -5,
      clientId: 'client-é',
      unknownTaggedFields: [{ tag: 9, data: Buffer.from('00ff', 'hex') }],
    };
    const bytes = Buffer.concat([bytesOf((w) => encodeRequestHeader(w, header)), Buffer.from('beef', 'hex')]);
    const reader = new Reader(bytes);
    expect(decodeRequestHeader(reader)).toEqual({
      ...header,
      headerVersion: 2,
      bodyOffset: bytes.length - 2,
    });
    expect(reader.offset).toBe(bytes.length - 2);
  });

  it('reads header v0 (ControlledShutdown v0) without a client id', () => {
    const bytes = Buffer.from('0007000000000001', 'hex');
    expect(decodeRequestHeader(new Reader(bytes))).toMatchObject({ headerVersion: 0, bodyOffset: 8 });
  });

  it('reads a null client id', () => {
    const bytes = Buffer.from('000300010000000bffff', 'hex');
    expect(decodeRequestHeader(new Reader(bytes))).toMatchObject({
      clientId: null,
      headerVersion: 1,
      bodyOffset: 10,
    });
  });

  it.each([
    ['a negative api key', 'ffff000000000001ffff'],
    ['a negative api version', '0003ffff00000001ffff'],
    ['a truncated header', '00030001000000'],
    ['a truncated client id', '00030001000000010005abcd'],
  ])('rejects %s', (_what, hex) => {
    expect(() => decodeRequestHeader(new Reader(Buffer.from(hex, 'hex')))).toThrow(ProtocolError);
  });
});

describe('response headers', () => {
  it('round-trips v1 with tagged fields', () => {
    const unknownTaggedFields = [{ tag: 0, data: Buffer.from('01', 'hex') }];
    const bytes = bytesOf((w) =>
      encodeResponseHeader(w, { correlationId: 77, unknownTaggedFields }, ApiKey.Fetch, 12),
    );
    expect(bytes).toEqual(Buffer.from('0000004d01000101', 'hex'));
    expect(decodeResponseHeader(new Reader(bytes), ApiKey.Fetch, 12)).toEqual({
      correlationId: 77,
      headerVersion: 1,
      unknownTaggedFields,
      bodyOffset: 8,
    });
  });

  it('writes v0 for rigid versions and for ApiVersions', () => {
    expect(bytesOf((w) => encodeResponseHeader(w, { correlationId: 1 }, ApiKey.Fetch, 11))).toHaveLength(4);
    expect(bytesOf((w) => encodeResponseHeader(w, { correlationId: 1 }, ApiKey.ApiVersions, 3))).toHaveLength(
      4,
    );
  });
});
