import * as avro from 'avsc';
import { compileContracts } from '../../../src/asyncapi/compile-contracts';
import { parseSpec } from '../../../src/asyncapi/parse-spec';
import type { ProduceContext } from '../../../src/pipeline/middleware';
import { Pipeline } from '../../../src/pipeline/pipeline';
import { filterMiddleware } from '../../../src/pipeline/filter/filter-middleware';

const SCHEMA = { type: 'record', name: 'Reading', fields: [{ name: 'status', type: 'string' }] };
const SPEC = `asyncapi: 2.6.0
info: {title: readings, version: '1'}
channels:
  readings:
    publish:
      message:
        schemaFormat: application/vnd.apache.avro;version=1.9.0
        payload: ${JSON.stringify(SCHEMA)}
`;

const context: ProduceContext = {
  door: 'http',
  clientId: 'unit',
  clientAddress: '127.0.0.1:1',
  acks: -1,
  transactionalId: null,
  apiVersion: 0,
};

describe('produced Avro values as the pipeline reads them', () => {
  it("the filter's patterns match on the decoded value", async () => {
    const [contract] = compileContracts('readings', await parseSpec(SPEC, 'readings.yml'));
    const filter = filterMiddleware(
      {
        rules: [
          {
            name: 'no-noise',
            topics: ['readings'],
            pattern: { value: { status: ['noise'] } },
            action: 'drop',
          },
        ],
      },
      'pipeline.middlewares.0',
    );
    const pipeline = new Pipeline([filter], {
      contractFor: (topic) => (topic === 'readings' ? contract : undefined),
    });
    const type = avro.Type.forSchema(SCHEMA as avro.Schema);
    const judged = await pipeline.judge(
      [
        { topic: 'readings', key: null, value: type.toBuffer({ status: 'noise' }), headers: [] },
        { topic: 'readings', key: null, value: type.toBuffer({ status: 'ok' }), headers: [] },
      ],
      context,
    );
    expect(judged.map((judgement) => judgement.dropped)).toEqual([true, false]);
  });
});
