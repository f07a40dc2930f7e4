/**
 * Uploaded state is kept in Kafka and shared: several gateways in front of one broker, as a fleet
 * behind a load balancer runs them, see each other's uploads, keep them across restarts, and agree
 * on who wins a race.
 */
import { Kafka, logLevel } from 'kafkajs';

jest.setTimeout(60_000);
import { BOOTSTRAP, uniqueTopic } from './support/kafka-harness';
import {
  createTopics,
  demoSpec,
  startValidatingGateway,
  type ValidatingGateway,
} from './support/validating-gateway';

const HOST = '127.0.0.1';
const STATE_TOPIC = uniqueTopic('eg-state-shared');
const PORTS = [24300, 24320, 24340, 24360];

interface Answer {
  status: number;
  etag: string | null;
  body: Record<string, unknown>;
  text: string;
}

async function call(
  gateway: ValidatingGateway,
  method: string,
  route: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const port = gateway.config.http.port;
  const response = await fetch(`http://${HOST}:${port}${route}`, {
    method,
    headers: { 'content-type': 'application/yaml', ...options.headers },
    body: options.body,
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // documents are YAML
  }
  return { status: response.status, etag: response.headers.get('etag'), body, text };
}

function start(index: number): Promise<ValidatingGateway> {
  return startValidatingGateway({
    bootstrapPort: PORTS[index],
    httpPort: PORTS[index] + 10,
    asyncapi: { failWhenInvalid: true },
    state: { topic: STATE_TOPIC },
    logLevel: 'warn',
  });
}

const running: ValidatingGateway[] = [];

async function startAll(count: number): Promise<ValidatingGateway[]> {
  const started = await Promise.all(Array.from({ length: count }, (_, i) => start(i)));
  running.push(...started);
  return started;
}

async function stopAll(): Promise<void> {
  await Promise.all(running.splice(0).map((g) => g.stop()));
}

afterAll(stopAll);

/** Produces one record through a gateway; resolves with the error code name when it is refused. */
async function produceThrough(
  gateway: ValidatingGateway,
  topic: string,
  value: string,
): Promise<string | null> {
  const kafka = new Kafka({
    brokers: [gateway.bootstrap],
    clientId: 'state-test',
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ value }] });
    return null;
  } catch (error) {
    return (error as { type?: string }).type ?? (error as Error).message;
  } finally {
    await producer.disconnect();
  }
}

describe('several gateways, one state topic', () => {
  let a: ValidatingGateway;
  let b: ValidatingGateway;
  let c: ValidatingGateway;

  beforeAll(async () => {
    [a, b, c] = await startAll(3);
  }, 120_000);

  test('a spec uploaded to one instance is enforced by the others', async () => {
    const topic = uniqueTopic('state-enforced');
    await createTopics([topic]);
    expect(await produceThrough(b, topic, '{"lumens": true}')).toBeNull();

    const put = await call(a, 'PUT', '/specs/enforced', { body: demoSpec('3.0', topic) });
    expect(put.status).toBe(201);
    expect(put.etag).toMatch(/^"\d+"$/);
    expect(put.body.revision).toBe(JSON.parse(put.etag!));
    const answered = Date.now();

    // B enforces it as soon as it has applied the record.
    let refusedAfter = -1;
    while (Date.now() - answered < 10_000) {
      if (b.running.specs.get('enforced') !== undefined) {
        refusedAfter = Date.now() - answered;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    while (c.running.specs.get('enforced') === undefined)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(refusedAfter).toBeGreaterThanOrEqual(0);
    expect(await produceThrough(b, topic, '{"lumens": true}')).toBe('INVALID_RECORD');
    expect(await produceThrough(c, topic, '{"lumens": true}')).toBe('INVALID_RECORD');
    expect(await produceThrough(c, topic, '{"lumens": 3}')).toBeNull();
    console.log(`a spec uploaded to instance A was in force on instance B ${refusedAfter} ms after A's 201`);

    const onB = await call(b, 'GET', '/specs/enforced');
    expect(onB.status).toBe(200);
    expect(onB.etag).toBe(put.etag);
    expect(onB.body.loadedBy).toBe('anonymous');
  });

  test('If-Match: a stale revision is refused with 412; racing instances, one wins and one gets 412', async () => {
    const first = await call(a, 'PUT', '/specs/raced', { body: demoSpec('3.0', uniqueTopic('raced')) });
    expect(first.status).toBe(201);
    const stale = await call(b, 'PUT', '/specs/raced', {
      body: demoSpec('3.0', uniqueTopic('raced')),
      headers: { 'if-match': '"999999"' },
    });
    expect(stale.status).toBe(412);

    for (let round = 0; round < 5; round++) {
      // Every instance must have applied the current revision before the race starts.
      const current = await call(a, 'GET', '/specs/raced');
      for (const g of [b, c]) {
        while ((await call(g, 'GET', '/specs/raced')).etag !== current.etag) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
      const answers = await Promise.all(
        [a, b, c].map((g) =>
          call(g, 'PUT', '/specs/raced', {
            body: demoSpec('3.0', uniqueTopic(`raced-${round}`)),
            headers: { 'if-match': current.etag! },
          }),
        ),
      );
      const statuses = answers.map((x) => x.status).sort();
      expect(statuses).toEqual([200, 412, 412]);
      const winner = answers.find((x) => x.status === 200)!;
      // Every instance agrees on the winner.
      for (const g of [a, b, c]) {
        let seen = await call(g, 'GET', '/specs/raced');
        while (seen.etag !== winner.etag) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          seen = await call(g, 'GET', '/specs/raced');
        }
        expect(seen.body.channels).toEqual(winner.body.channels);
      }
    }
  });

  test('a spec loaded from a file cannot be replaced or deleted over HTTP', async () => {
    const local = await startValidatingGateway({
      bootstrapPort: PORTS[3],
      httpPort: PORTS[3] + 10,
      asyncapi: { specs: [{ id: 'from-file', file: 'asyncapi/demo.yaml' }] },
      state: { topic: STATE_TOPIC },
      logLevel: 'warn',
    });
    running.push(local);
    expect((await call(local, 'PUT', '/specs/from-file', { body: demoSpec('3.0', 'x') })).status).toBe(409);
    expect((await call(local, 'DELETE', '/specs/from-file')).status).toBe(409);
    await local.stop();
  });

  test('past revisions are listed and can be read back, newest first', async () => {
    const topics = [uniqueTopic('rev-1'), uniqueTopic('rev-2'), uniqueTopic('rev-3')];
    const etags: string[] = [];
    for (const topic of topics) {
      const put = await call(a, 'PUT', '/specs/revised', { body: demoSpec('3.0', topic) });
      expect([200, 201]).toContain(put.status);
      etags.push(JSON.parse(put.etag!) as string);
    }
    const list = await call(a, 'GET', '/specs/revised/revisions');
    expect(list.status).toBe(200);
    const revisions = (list.body.revisions as { revision: string }[]).map((r) => r.revision);
    expect(revisions).toEqual([...etags].reverse());
    const oldest = await call(a, 'GET', `/specs/revised/revisions/${etags[0]}/document`);
    expect(oldest.status).toBe(200);
    expect(oldest.text).toContain(topics[0]);
    expect((await call(a, 'GET', '/specs/revised/revisions/99999999/document')).status).toBe(404);
  });

  test('a delete through one instance removes the spec everywhere', async () => {
    const put = await call(a, 'PUT', '/specs/doomed', { body: demoSpec('3.0', uniqueTopic('doomed')) });
    expect(put.status).toBe(201);
    expect((await call(b, 'DELETE', '/specs/doomed', { headers: { 'if-match': '"999999"' } })).status).toBe(
      412,
    );
    expect((await call(b, 'DELETE', '/specs/doomed')).status).toBe(204);
    // A conditional delete is decided by the log: with the current ETag it goes through.
    const second = await call(a, 'PUT', '/specs/doomed-too', {
      body: demoSpec('3.0', uniqueTopic('doomed')),
    });
    expect(
      (await call(a, 'DELETE', '/specs/doomed-too', { headers: { 'if-match': second.etag! } })).status,
    ).toBe(204);
    expect((await call(a, 'GET', '/specs/doomed-too')).status).toBe(404);
    expect((await call(b, 'GET', '/specs/doomed')).status).toBe(404);
    for (const g of [a, c]) {
      while ((await call(g, 'GET', '/specs/doomed')).status !== 404) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  });

  test('throttle settings are shared too', async () => {
    const put = await call(c, 'PUT', '/throttle', { body: 'maxConnectionsPerAddress: 77\n' });
    expect(put.status).toBe(200);
    for (const g of [a, b]) {
      while (g.running.quotas.config.maxConnectionsPerAddress !== 77) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    expect((await call(a, 'GET', '/throttle')).etag).toBe(put.etag);
    expect(
      (await call(a, 'PUT', '/throttle', { body: '{}', headers: { 'if-match': '"999999"' } })).status,
    ).toBe(412);
    expect(
      (await call(a, 'PUT', '/throttle', { body: '{}', headers: { 'if-match': put.etag! } })).status,
    ).toBe(200);
  });

  test('after every instance restarts, every acknowledged change is still there', async () => {
    const before = (await call(a, 'GET', '/specs')).body.specs as { id: string; revision: string }[];
    expect(before.length).toBeGreaterThanOrEqual(3);
    await stopAll();
    const [fresh] = await startAll(1);
    const after = (await call(fresh, 'GET', '/specs')).body.specs as { id: string; revision: string }[];
    const ids = (list: { id: string; revision: string }[]) => list.map((s) => `${s.id}@${s.revision}`).sort();
    expect(ids(after)).toEqual(ids(before));
    expect(ids(after)).not.toContainEqual(expect.stringMatching(/^doomed@/));
    expect(fresh.running.quotas.config.maxConnectionsPerAddress).toBeUndefined();
  }, 60_000);
});

test('with the state topic gone from the cluster the API answers 503 and changes nothing', async () => {
  const kafka = new Kafka({ brokers: [BOOTSTRAP], logLevel: logLevel.NOTHING });
  const topic = uniqueTopic('eg-state-deleted');
  const gateway = await startValidatingGateway({
    bootstrapPort: PORTS[3],
    httpPort: PORTS[3] + 10,
    state: { topic, writeTimeoutMs: 2_000 },
    logLevel: 'silent',
  });
  running.push(gateway);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
  const put = await call(gateway, 'PUT', '/specs/nowhere', { body: demoSpec('3.0', uniqueTopic('nowhere')) });
  expect(put.status).toBe(503);
  expect(put.body.error).toMatch(/^the change was not stored/);
  expect((await call(gateway, 'GET', '/specs/nowhere')).status).toBe(404);
}, 60_000);
