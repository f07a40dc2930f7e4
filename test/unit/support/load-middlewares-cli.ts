/**
 * Loads the middleware entries given as JSON in argv[2] the way the gateway does and runs each
 * on one record, printing what they decided as JSON. Run in a plain Node process: ES modules need
 * Node's own loader, which jest's VM does not offer.
 */
import { loadMiddlewares } from '../../../src/pipeline/load-middlewares';
import type { ProducedRecord, RecordVerdict } from '../../../src/pipeline/middleware';

async function main(): Promise<void> {
  const silent = () => undefined;
  const middlewares = await loadMiddlewares(
    JSON.parse(process.argv[2]),
    {},
    { logger: { info: silent, warn: silent, error: silent } },
  );
  const record: ProducedRecord = {
    topic: 'orders',
    partition: 0,
    index: 0,
    key: null,
    value: Buffer.from('{}'),
    headers: [],
    droppable: true,
    json: () => ({ ok: true, data: {} }),
  };
  const decisions = [];
  for (const middleware of middlewares) {
    const decided: string[] = [];
    const verdict: RecordVerdict = {
      reject: (reason) => void decided.push(`reject: ${reason}`),
      drop: (reason) => void decided.push(`drop: ${reason}`),
      addHeader: (key, value) => void decided.push(`header ${key}=${String(value)}`),
      classify: (outcome) => void decided.push(`classify ${outcome}`),
      rejected: false,
      dropped: false,
    };
    await middleware.onRecord(record, verdict, {
      door: 'kafka',
      clientId: null,
      clientAddress: '127.0.0.1',
      acks: 1,
      transactionalId: null,
      apiVersion: 9,
    });
    decisions.push({ name: middleware.name, decided });
  }
  process.stdout.write(JSON.stringify({ decisions }));
}

main().catch((error: Error) => {
  process.stdout.write(JSON.stringify({ error: error.message }));
});
