import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { loadMiddlewares } from '../../../src/pipeline/load-middlewares';
import type { GatewayConfig } from '../../../src/config/gateway-config';

const REPO_ROOT = path.resolve(__dirname, '../../..');
const FIXTURES = 'test/fixtures/middlewares';
const silent = () => undefined;
const tools = { logger: { info: silent, warn: silent, error: silent } };
type Entries = GatewayConfig['pipeline']['middlewares'];

/** Loads entries in a plain Node process (ES modules need Node's loader) and runs them on one record. */
function loadInNode(entries: Entries): { decisions?: { name: string; decided: string[] }[]; error?: string } {
  const output = execFileSync(
    process.execPath,
    ['--import', 'tsx', 'test/unit/support/load-middlewares-cli.ts', JSON.stringify(entries)],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  return JSON.parse(output);
}

describe('loading middleware modules', () => {
  it('loads ES modules (.mjs, and .js of a "type": "module" package) next to CommonJS ones', () => {
    const result = loadInNode([
      { module: `${FIXTURES}/stamp.mjs`, options: { header: 'x-stamp' } },
      { module: `${FIXTURES}/esm-package/refuse-all.js`, options: {} },
      { module: 'config/middlewares/require-header.js', options: { header: 'trace-id' } },
    ]);
    expect(result).toEqual({
      decisions: [
        // The schema's default filled in the value left out.
        { name: 'stamp-x-stamp', decided: ['header x-stamp=stamped'] },
        { name: 'refuse-all', decided: ['reject: refused by refuse-all'] },
        {
          name: 'require-header',
          decided: ["reject: record has no 'trace-id' header, which every record must carry"],
        },
      ],
    });
  }, 60_000);

  it("checks an ES module's options against its schema", () => {
    const file = path.join(REPO_ROOT, FIXTURES, 'stamp.mjs');
    expect(
      loadInNode([
        { module: 'config/middlewares/require-header.js', options: { header: 'trace-id' } },
        { module: `${FIXTURES}/stamp.mjs`, options: { header: 7, colour: 'red' } },
      ]),
    ).toEqual({
      error: [
        `invalid configuration (middleware ${file}):`,
        '  - pipeline.middlewares.1.options.colour: unknown key',
        '  - pipeline.middlewares.1.options.header: must be string',
      ].join('\n'),
    });
  }, 60_000);

  it('checks options against the schema the factory declares, filling its defaults into a copy', async () => {
    const options = { maxBytes: 2 };
    const [limits] = await loadMiddlewares([{ module: `${FIXTURES}/limits.cjs`, options }], {}, tools);
    expect(limits.name).toBe('limits');
    expect(options).toEqual({ maxBytes: 2 });

    const file = path.join(REPO_ROOT, FIXTURES, 'limits.cjs');
    const refused = loadMiddlewares(
      [
        'validation',
        { module: `${FIXTURES}/limits.cjs`, options: { maxBytes: 0, mode: 'explode', extra: true } },
      ],
      { validation: () => ({ name: 'validation', onRecord: silent }) },
      tools,
    );
    await expect(refused).rejects.toMatchObject({
      name: 'ConfigError',
      problems: [
        'pipeline.middlewares.1.options.extra: unknown key',
        'pipeline.middlewares.1.options.maxBytes: must be >= 1',
        'pipeline.middlewares.1.options.mode: must be one of reject, drop',
      ],
    });
    await expect(refused).rejects.toThrow(`invalid configuration (middleware ${file})`);
  });

  it('names the entry and the file when a module cannot be used', async () => {
    const missing = path.join(REPO_ROOT, FIXTURES, 'missing.cjs');
    await expect(
      loadMiddlewares([{ module: `${FIXTURES}/missing.cjs`, options: {} }], {}, tools),
    ).rejects.toThrow(`pipeline.middlewares.0: cannot load module ${missing}`);
    const noFactory = path.join(REPO_ROOT, FIXTURES, 'no-factory.cjs');
    await expect(
      loadMiddlewares([{ module: `${FIXTURES}/no-factory.cjs`, options: {} }], {}, tools),
    ).rejects.toThrow(`pipeline.middlewares.0: ${noFactory} exports no middleware factory function`);
    const requireHeader = path.join(REPO_ROOT, 'config/middlewares/require-header.js');
    await expect(
      loadMiddlewares(
        ['validation', { module: 'config/middlewares/require-header.js', options: {} }],
        { validation: () => ({ name: 'v', onRecord: silent }) },
        tools,
      ),
    ).rejects.toThrow(
      `pipeline.middlewares.1 (${requireHeader}): require-header: options.header must name the header every record must carry`,
    );
  });

  it('names the built-ins when an entry names none of them', async () => {
    await expect(
      loadMiddlewares(
        ['validation', 'validaton' as 'validation'],
        { validation: () => ({ name: 'v', onRecord: silent }) },
        tools,
      ),
    ).rejects.toThrow(
      "pipeline.middlewares.1: unknown built-in middleware 'validaton' (built-ins: validation)",
    );
  });
});
