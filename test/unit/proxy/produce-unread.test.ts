import { ApiKey } from '../../../src/protocol/messages';
import { Pipeline, type RecordTally } from '../../../src/pipeline/pipeline';
import type { ProduceTracing } from '../../../src/pipeline/produce-tracing';
import type { ConnectionContext, RequestRoute } from '../../../src/proxy/api-handler';
import type { AddressBook } from '../../../src/proxy/handlers/address-book';
import { Reader } from '../../../src/protocol/primitives';
import { readProduceAcks, readSoleTopic } from '../../../src/protocol/produce-wire';
import { produceHandler } from '../../../src/proxy/handlers/produce';
import { staticAddressBook } from '../support/address-book';
import { produceFrame } from '../support/produce-frames';
import { batchOfValues } from '../support/record-batches';

const ORDERS_ID = '6a1bd5a17f8e4c2b9d3e2f4a5b6c7d8e';
const book: AddressBook = {
  ...staticAddressBook(),
  topicName: (id) => (id === ORDERS_ID ? 'orders' : undefined),
};
const connection: ConnectionContext = {
  clientId: null,
  clientAddress: '127.0.0.1:5555',
} as ConnectionContext;

function batchOf(count: number): Buffer {
  return batchOfValues(Array.from({ length: count }, (_, i) => Buffer.from(`{"n":${i}}`)));
}

/** A Produce payload (no size prefix) with one partition per topic, each holding `records`. */
function produce(
  version: number,
  topics: { name?: string; id?: string }[],
  records: Buffer,
  acks = 1,
): Buffer {
  const partitions = topics.map((t, i) => ({
    topic: t.name ?? `by-id-${i}`,
    topicId: t.id,
    partition: 0,
    records,
  }));
  return produceFrame(version, partitions, acks, 'app');
}

const route = (apiVersion: number): RequestRoute => ({
  apiKey: ApiKey.Produce,
  apiVersion,
  correlationId: 3,
});

/** The sole topic as the handler reads it: acks first, then on from there. */
function soleTopic(payload: Buffer, at: RequestRoute): string | undefined {
  const reader = new Reader(payload);
  readProduceAcks(reader, at.apiVersion);
  return readSoleTopic(reader, at.apiVersion, book);
}

describe('readSoleTopic', () => {
  it.each([3, 8, 9, 12])('reads the one topic of a Produce v%i request from its head', (version) => {
    const payload = produce(version, [{ name: 'clicks' }], batchOf(2));
    expect(soleTopic(payload.subarray(0, 200), route(version))).toBe('clicks');
  });

  it('names the topic of a Produce v13 request by its id, when the gateway knows the id', () => {
    expect(soleTopic(produce(13, [{ id: ORDERS_ID }], batchOf(1)), route(13))).toBe('orders');
    expect(
      soleTopic(produce(13, [{ id: '0f0e0d0c0b0a09080706050403020100' }], batchOf(1)), route(13)),
    ).toBeUndefined();
  });

  it('tells nothing of a request for several topics, or of a head that ends inside the name', () => {
    expect(soleTopic(produce(9, [{ name: 'a' }, { name: 'b' }], batchOf(1)), route(9))).toBeUndefined();
    const payload = produce(9, [{ name: 'a-rather-long-topic-name' }], batchOf(1));
    const nameEnds = payload.indexOf('a-rather-long-topic-name') + 'a-rather-long-topic-name'.length;
    expect(soleTopic(payload.subarray(0, nameEnds - 1), route(9))).toBeUndefined();
    expect(soleTopic(payload.subarray(0, nameEnds), route(9))).toBe('a-rather-long-topic-name');
  });
});

describe('Produce requests no middleware reads', () => {
  let seen: string[];
  let tallies: RecordTally[];
  const handlerWith = (tracing?: ProduceTracing) => {
    seen = [];
    tallies = [];
    const pipeline = new Pipeline(
      [
        {
          name: 'checks-one-topic',
          wants: (topic) => topic === 'checked',
          onRecord: (r) => void seen.push(r.topic),
        },
      ],
      { tallyRecords: true },
    );
    return produceHandler({
      book,
      pipeline: () => pipeline,
      tracing,
      observer: { counted: (tally) => tallies.push(...tally) },
    });
  };

  it('forwards a whole request for a topic nobody reads as it came, with a watch that counts its records', async () => {
    const handler = handlerWith();
    const frame = produce(9, [{ name: 'other' }], batchOf(3));
    const decision = await handler.onRequest!(frame, route(9), connection);
    expect(decision).toMatchObject({ action: 'forward', expectResponse: true });
    if (decision.action !== 'forward' || decision.watch === undefined) throw new Error('no watch');
    expect(decision.frame).toBeUndefined();
    // The watch goes on reading the request after the decision.
    expect(decision.holdsNothing).toBeUndefined();
    // What the connection does with a whole request's watch.
    decision.watch.take(frame);
    decision.watch.finish();
    expect(seen).toEqual([]);
    expect(tallies).toEqual([{ topic: 'other', outcome: 'unvalidated', count: 3 }]);
  });

  it('decides from the head of a request for a topic nobody reads, and of no other', () => {
    const handler = handlerWith();
    const head = (payload: Buffer) => Buffer.concat([Buffer.alloc(4), payload.subarray(0, 120)]);
    const other = handler.onRequestHead!(
      head(produce(9, [{ name: 'other' }], batchOf(3), 0)),
      route(9),
      connection,
    );
    expect(other).toMatchObject({ action: 'forward', expectResponse: false });
    expect(
      handler.onRequestHead!(head(produce(9, [{ name: 'checked' }], batchOf(3))), route(9), connection),
    ).toBeUndefined();
    const both = produce(9, [{ name: 'other' }, { name: 'checked' }], batchOf(3));
    expect(handler.onRequestHead!(head(both), route(9), connection)).toBeUndefined();
  });

  it.each([
    [1, true],
    [0, false],
  ])(
    'forwards whole requests as they came, holding nothing of them, when no middleware is configured (acks=%i)',
    async (acks, expectResponse) => {
      const handler = produceHandler({ book, pipeline: () => new Pipeline([]) });
      const decision = await handler.onRequest!(
        produce(9, [{ name: 'other' }], batchOf(3), acks),
        route(9),
        connection,
      );
      expect(decision).toEqual({ action: 'forward', expectResponse, holdsNothing: true });
    },
  );

  it('reads every request whole while tracing is on: a span names all its topics', () => {
    const handler = handlerWith({ begin: () => undefined } as unknown as ProduceTracing);
    const payload = produce(9, [{ name: 'other' }], batchOf(3));
    expect(
      handler.onRequestHead!(Buffer.concat([Buffer.alloc(4), payload]), route(9), connection),
    ).toBeUndefined();
  });

  it('still reads whole the requests for topics some middleware wants', async () => {
    const handler = handlerWith();
    const decision = await handler.onRequest!(
      produce(9, [{ name: 'checked' }], batchOf(2)),
      route(9),
      connection,
    );
    expect(decision).toEqual({ action: 'forward', expectResponse: true });
    expect(seen).toEqual(['checked', 'checked']);
  });
});
