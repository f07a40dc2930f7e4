/**
 * Helpers for integration tests that run against real Kafka brokers started by scripts/kafka.sh
 * and talk to them with real clients (kcat, the Java CLI tools, kafkajs), so the tests exercise
 * the same wire protocol the gateway has to proxy.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Kafka, logLevel, type Admin, type KafkaMessage } from 'kafkajs';
import { createTopicsWithLeaders } from '../../../src/kafka/topic-creation';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const KAFKA_SH = path.join(REPO_ROOT, 'scripts', 'kafka.sh');

/** The single broker that scripts/with-kafka.sh provides. */
export const BOOTSTRAP = process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  input?: string | Buffer;
  timeoutMs?: number;
  /** Resolve with the result instead of rejecting when the exit code is not 0. */
  allowFailure?: boolean;
}

/**
 * Runs a program to completion. A hung child is killed at the timeout: a stuck kcat or JVM must
 * fail its test with its output rather than hold the whole run until jest's own timeout.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { env, input, timeoutMs = 30_000, allowFailure = false } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = {
        code: code ?? -1,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      };
      if (timedOut || (result.code !== 0 && !allowFailure)) {
        const why = timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${signal ?? result.code}`;
        reject(new Error(`${command} ${args.join(' ')} ${why}\n${result.stderr}${result.stdout}`));
        return;
      }
      resolve(result);
    });
    // A child that exits without reading stdin (e.g. on a usage error) must not crash the test.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

export interface ClusterOptions {
  name: string;
  brokers: number;
  /** Port of broker 1; broker i listens on port + i - 1. */
  port: number;
  /** Kafka release; scripts/kafka.sh picks its default when omitted. */
  version?: string;
}

export interface Cluster extends ClusterOptions {
  brokerAddresses: string[];
  bootstrap: string;
}

function clusterEnv(name: string, extra: Record<string, string> = {}): Record<string, string> {
  return { KAFKA_CLUSTER: name, ...extra };
}

/** Starts (or reuses, when already running with the same shape) a named cluster. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const env = clusterEnv(options.name, { KAFKA_PORT: String(options.port) });
  if (options.version) env.KAFKA_VERSION = options.version;
  await run(KAFKA_SH, ['up', String(options.brokers)], { env, timeoutMs: 150_000 });
  const brokerAddresses = Array.from({ length: options.brokers }, (_, i) => `127.0.0.1:${options.port + i}`);
  return { ...options, brokerAddresses, bootstrap: brokerAddresses.join(',') };
}

export async function stopCluster(name: string): Promise<void> {
  await run(KAFKA_SH, ['down'], { env: clusterEnv(name), timeoutMs: 90_000 });
}

/** Stops one node (controlled shutdown) and returns once its JVM is gone. */
export async function stopNode(name: string, node: number): Promise<void> {
  await run(KAFKA_SH, ['stop-node', String(node)], { env: clusterEnv(name), timeoutMs: 60_000 });
}

/** Starts one node of an existing cluster and returns once it is registered again. */
export async function startNode(name: string, node: number): Promise<void> {
  await run(KAFKA_SH, ['start-node', String(node)], { env: clusterEnv(name), timeoutMs: 90_000 });
}

/**
 * Runs a Kafka CLI tool through scripts/kafka.sh, e.g. `kafkaTool(['topics', '--list'])` or
 * `kafkaTool(['tool', 'org.apache.kafka.tools.GetOffsetShell', ...])`. Each call starts a JVM, so
 * prefer kcat or kafkajs where either will do.
 */
export function kafkaTool(
  args: readonly string[],
  options: { cluster?: string; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const env = options.cluster ? clusterEnv(options.cluster) : {};
  return run(KAFKA_SH, args, { env, input: options.input, timeoutMs: options.timeoutMs ?? 60_000 });
}

/** Runs the real kcat binary; `input` is its stdin (e.g. lines to produce with -P). */
export function kcat(args: readonly string[], input?: string, timeoutMs = 30_000): Promise<RunResult> {
  return run('kcat', args, { input, timeoutMs });
}

/** A topic name no other test or earlier run has used, so tests need no cleanup between runs. */
export function uniqueTopic(prefix: string): string {
  const safe = prefix.replace(/[^A-Za-z0-9._-]/g, '-');
  return `${safe}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function kafkaClient(brokers: string | readonly string[], clientId = 'integration-test'): Kafka {
  const list = typeof brokers === 'string' ? brokers.split(',') : [...brokers];
  return new Kafka({
    clientId,
    brokers: list,
    // Connection errors while a node is deliberately down are expected; assertions report failures.
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 200 },
  });
}

/**
 * Reads `count` messages from the beginning of a topic with a kafkajs consumer in a fresh group,
 * in arrival order (per partition order is preserved; across partitions it is not). A consumer
 * group may hand a partition out again while it settles (a rebalance before the first commit), so
 * an offset read twice counts once: the answer is what the topic holds, not how often it was read.
 */
export async function readMessages(
  kafka: Kafka,
  topic: string,
  count: number,
  timeoutMs = 30_000,
): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({
    groupId: uniqueTopic('it-group'),
    allowAutoTopicCreation: false,
    // disconnect() waits for in-flight fetches; with the default 5 s long poll on idle partitions
    // every read would take five seconds longer than it needs to.
    maxWaitTimeInMs: 200,
  });
  const messages: KafkaMessage[] = [];
  const seen = new Set<string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`read ${messages.length} of ${count} messages from ${topic} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const at = `${partition}:${message.offset}`;
            if (seen.has(at)) return;
            seen.add(at);
            messages.push(message);
            if (messages.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err);
        });
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/** Polls until `check` returns a value other than undefined, or fails with the last error seen. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Creates a topic and waits until every partition has a leader, as the gateway does its own. */
export async function createTopic(admin: Admin, topic: string, numPartitions: number): Promise<void> {
  await createTopicsWithLeaders(admin, [{ topic, numPartitions }]);
}
