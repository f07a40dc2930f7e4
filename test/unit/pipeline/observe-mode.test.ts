import { SpecStore } from '../../../src/asyncapi/spec-store';
import { SpecError } from '../../../src/asyncapi/spec-error';
import { VALIDATION_ERROR_HEADER } from '../../../src/asyncapi/record-validator';
import { encodeRecordBatch } from '../../../src/protocol/records';
import { Pipeline } from '../../../src/pipeline/pipeline';
import type { ProduceContext } from '../../../src/pipeline/middleware';
import {
  observes,
  validationMiddleware,
  type ValidationSettings,
} from '../../../src/pipeline/validation-middleware';
import { toTapRecord } from '../../../src/http/tap/tap-record';
import { resolveConfig } from '../../../src/config/load-config';
import { decodeProduceFrame, produceFrame } from '../support/produce-frames';

/** Four channels, one per way a channel can speak about observe mode and rejection. */
const SPEC = `
asyncapi: 3.0.0
info: { title: observe, version: 1.0.0 }
channels:
  silent:
    address: t.silent
    messages: { m: { $ref: '#/components/messages/m' } }
  observed:
    address: t.observed
    x-eg-observe: true
    messages: { m: { $ref: '#/components/messages/m' } }
  observedStrict:
    address: t.observed-strict
    x-eg-observe: true
    x-eg-fail-when-invalid: true
    messages: { m: { $ref: '#/components/messages/m' } }
  enforced:
    address: t.enforced
    x-eg-observe: false
    messages: { m: { $ref: '#/components/messages/m' } }
components:
  messages:
    m:
      payload:
        type: object
        required: [n]
        properties: { n: { type: integer } }
`;

const context: ProduceContext = {
  door: 'kafka',
  clientId: 'unit',
  clientAddress: '127.0.0.1:1',
  acks: -1,
  transactionalId: null,
  apiVersion: 9,
};

function batch(values: string[]): Buffer {
  return encodeRecordBatch(
    {
      baseOffset: 0n,
      partitionLeaderEpoch: -1,
      attributes: 0,
      lastOffsetDelta: values.length - 1,
      baseTimestamp: 1_700_000_000_000n,
      maxTimestamp: 1_700_000_000_000n,
      producerId: -1n,
      producerEpoch: -1,
      baseSequence: -1,
    },
    values.map((value, i) => ({
      attributes: 0,
      timestampDelta: 0,
      offsetDelta: i,
      key: null,
      value: Buffer.from(value),
      headers: [],
    })),
  );
}

describe('observe mode', () => {
  let store: SpecStore;
  beforeAll(async () => {
    store = new SpecStore();
    await store.put('observe', SPEC, 'api');
  }, 30_000);

  function setup(settings: ValidationSettings) {
    const observed: { topic: string; errors: readonly string[] }[] = [];
    const tagged: string[] = [];
    const pipeline = new Pipeline(
      [
        validationMiddleware(
          store,
          settings,
          (record) => tagged.push(record.topic),
          (record, _context, errors) => observed.push({ topic: record.topic, errors }),
        ),
      ],
      { tallyRecords: true },
    );
    const run = (topic: string, values: string[]) => {
      const request = decodeProduceFrame(
        produceFrame(9, [{ topic, partition: 0, records: batch(values) }]),
        9,
      );
      return pipeline.run(request, [topic], context) as Exclude<
        ReturnType<Pipeline['run']>,
        Promise<unknown>
      >;
    };
    return { pipeline, run, observed, tagged };
  }

  const defaults: ValidationSettings = { failWhenInvalid: false, topicsWithoutSpec: 'pass' };

  it('reads x-eg-observe from the spec and shows it in the summary', () => {
    const contracts = store.contracts();
    expect(contracts.lookup('t.silent')?.observe).toBeUndefined();
    expect(contracts.lookup('t.observed')?.observe).toBe(true);
    expect(contracts.lookup('t.enforced')?.observe).toBe(false);
    const channels = store.get('observe')!.summary.channels;
    expect(channels.find((c) => c.topic === 't.observed')).toMatchObject({ observe: true });
    expect(channels.find((c) => c.topic === 't.silent')).not.toHaveProperty('observe');
  });

  it('refuses a spec whose x-eg-observe is not a boolean, naming where', async () => {
    const broken = SPEC.replace('x-eg-observe: false', "x-eg-observe: 'yes'");
    const error = await new SpecStore().put('broken', broken, 'api').then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).diagnostics).toContainEqual(
      expect.objectContaining({ path: 'channels.enforced.x-eg-observe', code: 'extension-type' }),
    );
  });

  it('forwards the batch of an observed channel untouched and counts its invalid records as invalid_observed', () => {
    const { run, observed, tagged } = setup(defaults);
    const outcome = run('t.observed', ['{"n": 1}', '{"n": "x"}', '{}']);
    expect(outcome.rejections).toEqual([]);
    // No replacement: the producer's bytes are what the broker gets.
    expect(outcome.replacements).toEqual([]);
    expect(outcome.emptied).toEqual([]);
    expect(outcome.tally.sort((a, b) => a.outcome.localeCompare(b.outcome))).toEqual([
      { topic: 't.observed', outcome: 'invalid_observed', count: 2 },
      { topic: 't.observed', outcome: 'valid', count: 1 },
    ]);
    expect(observed.map((o) => o.topic)).toEqual(['t.observed', 't.observed']);
    expect(observed[0].errors.length).toBeGreaterThan(0);
    expect(tagged).toEqual([]);
  });

  it('lets observe mode win over x-eg-fail-when-invalid and asyncapi.failWhenInvalid', () => {
    const { run } = setup({ ...defaults, failWhenInvalid: true });
    for (const topic of ['t.observed', 't.observed-strict']) {
      const outcome = run(topic, ['{}']);
      expect(outcome.rejections).toEqual([]);
      expect(outcome.replacements).toEqual([]);
      expect(outcome.tally).toEqual([{ topic, outcome: 'invalid_observed', count: 1 }]);
    }
  });

  it('tags or rejects on channels that do not observe, in the same spec', () => {
    const tagging = setup(defaults);
    const tagged = tagging.run('t.silent', ['{}']);
    expect(tagged.replacements).toHaveLength(1);
    expect(tagged.tally).toEqual([{ topic: 't.silent', outcome: 'invalid_tagged', count: 1 }]);
    expect(tagging.tagged).toEqual(['t.silent']);
    expect(tagging.observed).toEqual([]);

    const rejecting = setup({ ...defaults, failWhenInvalid: true });
    const rejected = rejecting.run('t.silent', ['{}']);
    expect(rejected.rejections).toHaveLength(1);
    expect(rejected.tally).toEqual([{ topic: 't.silent', outcome: 'invalid_rejected', count: 1 }]);
  });

  it('observes every channel that does not say when asyncapi.observe is on; x-eg-observe: false opts out', () => {
    const { run, observed } = setup({ ...defaults, observe: true });
    const silent = run('t.silent', ['{}']);
    expect(silent.replacements).toEqual([]);
    expect(silent.tally).toEqual([{ topic: 't.silent', outcome: 'invalid_observed', count: 1 }]);
    const enforced = run('t.enforced', ['{}']);
    expect(enforced.replacements).toHaveLength(1);
    expect(enforced.tally).toEqual([{ topic: 't.enforced', outcome: 'invalid_tagged', count: 1 }]);
    expect(observed.map((o) => o.topic)).toEqual(['t.silent']);
  });

  it('does not let observe mode pass topics no spec describes when topicsWithoutSpec is reject', () => {
    const { run } = setup({ failWhenInvalid: false, topicsWithoutSpec: 'reject', observe: true });
    const outcome = run('t.nobody', ['{}']);
    expect(outcome.rejections).toHaveLength(1);
    expect(outcome.tally).toEqual([{ topic: 't.nobody', outcome: 'invalid_rejected', count: 1 }]);
  });

  it('judges HTTP records of an observed channel as written as sent, with nothing added', async () => {
    const { pipeline } = setup(defaults);
    const judged = await pipeline.judge(
      [
        { topic: 't.observed', key: null, value: Buffer.from('{}'), headers: [] },
        { topic: 't.silent', key: null, value: Buffer.from('{}'), headers: [] },
      ],
      { ...context, door: 'http' },
    );
    expect(judged[0]).toEqual({
      rejected: null,
      errorCode: expect.any(Number),
      dropped: false,
      added: null,
      outcome: 'invalid_observed',
    });
    expect(judged[1].outcome).toBe('invalid_tagged');
    expect(judged[1].added?.[0].key).toBe(VALIDATION_ERROR_HEADER);
  });

  it('takes the channel word over the default both ways', () => {
    const contract = store.contracts().lookup('t.silent')!;
    expect(observes(contract, {})).toBe(false);
    expect(observes(contract, { observe: true })).toBe(true);
    expect(observes(store.contracts().lookup('t.enforced')!, { observe: true })).toBe(false);
    expect(observes(store.contracts().lookup('t.observed')!, { observe: false })).toBe(true);
  });

  it('defaults asyncapi.observe to false', () => {
    const config = resolveConfig({ kafka: { bootstrapServers: ['b:9092'] } }, 'test');
    expect(config.asyncapi.observe).toBe(false);
    expect(
      resolveConfig({ kafka: { bootstrapServers: ['b:9092'] }, asyncapi: { observe: true } }, 'test').asyncapi
        .observe,
    ).toBe(true);
  });

  describe('in the tap', () => {
    const message = (value: string, headers?: Record<string, string>) => ({
      key: null,
      value: Buffer.from(value),
      offset: '3',
      timestamp: '1700000000000',
      headers,
    });

    it('shows what the contract finds wrong with an observed record, which carries no header', () => {
      const { record, invalid } = toTapRecord('t.observed', 0, message('{}'), () => ['n: required']);
      expect(invalid).toBe(true);
      expect(record.validationError).toEqual({ observed: true, errors: ['n: required'] });
      expect(record.headers).toEqual({});
    });

    it('leaves valid and unobserved records as they are and a tagged record to its header', () => {
      expect(toTapRecord('t.observed', 0, message('{"n": 1}'), () => null).invalid).toBe(false);
      const tag = JSON.stringify({ ts: '2026-01-01T00:00:00.000Z', errors: ['from the header'] });
      const asked: string[] = [];
      const tagged = toTapRecord(
        't.silent',
        0,
        message('{}', { [VALIDATION_ERROR_HEADER]: tag }),
        (topic) => {
          asked.push(topic);
          return ['fresh'];
        },
      );
      expect(tagged.record.validationError).toEqual(JSON.parse(tag));
      expect(asked).toEqual([]);
    });

    it('hands the record with its headers as bytes to the contract check', () => {
      let seen:
        { value: Buffer | null; headers: readonly { key: string; value: Buffer | null }[] } | undefined;
      toTapRecord('t.observed', 0, message('{}', { a: 'b' }), (_topic, record) => {
        seen = record;
        return null;
      });
      expect(seen?.value?.toString()).toBe('{}');
      expect(seen?.headers).toEqual([{ key: 'a', value: Buffer.from('b') }]);
    });
  });
});
