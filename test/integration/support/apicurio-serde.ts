/**
 * Records framed by Apicurio's own Java serializer (AvroKafkaSerializer), produced by
 * java/ApicurioAvroProducer.java with the real Kafka Java client. Its classpath comes from Maven
 * Central through java/pom.xml, kept under .registry/serdes/ once fetched.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, run } from './kafka-harness';

const JAVA_DIR = path.join(REPO_ROOT, 'test', 'integration', 'support', 'java');
const LIB = path.join(process.env.REGISTRY_HOME_DIR ?? path.join(REPO_ROOT, '.registry'), 'serdes', 'lib');

let classpath: Promise<string> | undefined;

/** The serializer's jars, fetched on first use (offline first: a warm ~/.m2 needs no network). */
function serdeClasspath(): Promise<string> {
  classpath ??= (async () => {
    const marker = path.join(LIB, '.complete');
    if (!existsSync(marker)) {
      rmSync(LIB, { recursive: true, force: true });
      mkdirSync(LIB, { recursive: true });
      const args = [
        '-B',
        '-q',
        '-Dstyle.color=never',
        '-f',
        path.join(JAVA_DIR, 'pom.xml'),
        'dependency:copy-dependencies',
        `-DoutputDirectory=${LIB}`,
        '-DincludeScope=runtime',
      ];
      const offline = await run('mvn', ['-o', ...args], { allowFailure: true, timeoutMs: 120_000 });
      if (offline.code !== 0) await run('mvn', args, { timeoutMs: 600_000 });
      writeFileSync(marker, '');
    }
    return `${LIB}/*`;
  })();
  return classpath;
}

export interface ApicurioProduceOptions {
  bootstrap: string;
  /** Base of the registry's v3 API, e.g. http://127.0.0.1:8081/apis/registry/v3. */
  registryUrl: string;
  topic: string;
  /** The Avro schema the serializer registers (under the subject `${topic}-value`). */
  schema: object;
  /** Records in Avro's JSON encoding (a union value as {"type": value}). */
  records: object[];
  /** Serializer settings, e.g. { 'apicurio.registry.use-id': 'globalId' }. */
  settings?: Record<string, string>;
}

/** Produces `records` with Apicurio's AvroKafkaSerializer; keys are k0, k1, … */
export async function produceWithApicurioSerde(options: ApicurioProduceOptions): Promise<void> {
  const cp = await serdeClasspath();
  const dir = mkdtempSync(path.join(tmpdir(), 'apicurio-serde-'));
  try {
    const schemaFile = path.join(dir, 'schema.avsc');
    const recordsFile = path.join(dir, 'records.jsonl');
    writeFileSync(schemaFile, JSON.stringify(options.schema));
    writeFileSync(recordsFile, options.records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const settings = Object.entries(options.settings ?? {}).map(([k, v]) => `${k}=${v}`);
    await run(
      'java',
      [
        '-cp',
        cp,
        path.join(JAVA_DIR, 'ApicurioAvroProducer.java'),
        options.bootstrap,
        options.registryUrl,
        options.topic,
        schemaFile,
        recordsFile,
        ...settings,
      ],
      { timeoutMs: 120_000 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
