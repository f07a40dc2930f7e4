import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSpec } from '../../../src/asyncapi/parse-spec';
import { SpecError } from '../../../src/asyncapi/spec-error';
import { WorkerSpecParser } from '../../../src/asyncapi/spec-parser';

const demo = readFileSync(path.join(__dirname, '../../../asyncapi/demo.yaml'), 'utf8');
const accounts = readFileSync(path.join(__dirname, '../../../asyncapi/accounts.yaml'), 'utf8');

describe('WorkerSpecParser', () => {
  jest.setTimeout(30_000);
  const parser = new WorkerSpecParser();
  afterAll(() => parser.close());

  it('hands back the same outline as parsing on the calling thread', async () => {
    for (const [id, text] of [
      ['demo', demo],
      ['accounts', accounts],
    ]) {
      expect(await parser.parse(text, id)).toEqual(await parseSpec(text, id));
    }
  });

  it('keeps recursive schemas recursive across the thread boundary', async () => {
    const recursive = `
asyncapi: 3.0.0
info: { title: tree, version: '1' }
channels:
  tree:
    address: tree
    messages:
      node:
        payload:
          $ref: '#/components/schemas/node'
components:
  schemas:
    node:
      type: object
      properties:
        children: { type: array, items: { $ref: '#/components/schemas/node' } }
`;
    const outline = await parser.parse(recursive, 'tree');
    interface Node {
      properties: { children: { items: Node } };
    }
    const node = (outline.channels[0].messages[0].payload as unknown as Node).properties.children.items;
    expect(node.properties.children.items).toBe(node);
  });

  it('refuses a document with the diagnostics a SpecError carries', async () => {
    const refused = await parser
      .parse('asyncapi: 3.0.0\nchannels: {}\n', 'bad')
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SpecError);
    expect((refused as SpecError).summary).toBe('the document is not a valid AsyncAPI document');
    expect((refused as SpecError).diagnostics.map((d) => d.message)).toContain(
      'Object must have required property "info"',
    );
  });

  it('refuses what is pending when closed, and starts again for the next document', async () => {
    const refused = expect(parser.parse(accounts, 'accounts')).rejects.toThrow(
      /the gateway is shutting down/,
    );
    await parser.close();
    await refused;
    await expect(parser.parse(demo, 'demo')).resolves.toMatchObject({ title: 'Event Gateway demo' });
  });

  it('refuses the document, and recovers, when parsing exhausts the worker heap', async () => {
    // Far too little for the parser itself: the worker dies on the first document.
    const starved = new WorkerSpecParser(8);
    const refused = await starved.parse(demo, 'demo').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SpecError);
    expect((refused as SpecError).summary).toBe('the document could not be parsed');
    expect((refused as SpecError).diagnostics[0].message).toMatch(/the parser (stopped|exited)/);
    await starved.close();
    await expect(parser.parse(demo, 'demo')).resolves.toMatchObject({ title: 'Event Gateway demo' });
  });
});
