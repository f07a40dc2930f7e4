/**
 * The HTTP target of bench/subscriptions.bench.ts: a plain node:http server on 127.0.0.1 that
 * answers 200 with an empty body as soon as a request's body has arrived. It runs in a process of
 * its own (child_process.fork) so that its CPU is neither the gateway's nor the baseline's, and
 * talks to the bench over the IPC channel:
 *
 *   bench → sink   { type: 'expect', phase, count }   count the records of `phase` from now on
 *   sink → bench   { type: 'listening', port }
 *                  { type: 'first', phase }            the first record of the phase arrived
 *                  { type: 'done', phase, stats }      `count` distinct records of it arrived
 *
 * Every record value is JSON written by the bench: { phase, key, seq, sentAt, pad }. sentAt is
 * the producer's wall clock (performance.timeOrigin + performance.now()) just before its send,
 * compared here with the same clock at arrival: both processes read the same system clock.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkStats {
  /** Distinct records of the phase that arrived. */
  received: number;
  /** Records of the phase that arrived more than once. */
  duplicates: number;
  /** Records that arrived before one with a lower seq and the same key. */
  outOfOrder: number;
  /** Requests for another phase, or whose body was not a bench record. */
  strays: number;
  /** Wall-clock ms (sub-ms precision) of the first and the last arrival. */
  firstAt: number;
  lastAt: number;
  /** Arrival minus sentAt per record, in ms, in arrival order. */
  latenciesMs: number[];
  /** CPU time of this process from the first arrival to the last, in µs. */
  cpuMicros: number;
}

export type SinkMessage =
  | { type: 'listening'; port: number }
  | { type: 'first'; phase: string }
  | { type: 'done'; phase: string; stats: SinkStats };

export interface ExpectMessage {
  type: 'expect';
  phase: string;
  count: number;
}

interface BenchRecord {
  phase: string;
  key: string;
  seq: number;
  sentAt: number;
}

const wallClock = () => performance.timeOrigin + performance.now();

interface Phase {
  name: string;
  count: number;
  seen: Set<number>;
  lastSeqOfKey: Map<string, number>;
  stats: SinkStats;
  cpuAtFirst: NodeJS.CpuUsage | null;
  finished: boolean;
}

let phase: Phase | null = null;
let strays = 0;

function send(message: SinkMessage): void {
  process.send?.(message);
}

function arrived(body: Buffer): void {
  const at = wallClock();
  let record: BenchRecord;
  try {
    record = JSON.parse(body.toString('utf8')) as BenchRecord;
  } catch {
    strays++;
    return;
  }
  const current = phase;
  if (current === null || record.phase !== current.name) {
    strays++;
    return;
  }
  const { stats } = current;
  if (current.seen.has(record.seq)) {
    stats.duplicates++;
    return;
  }
  current.seen.add(record.seq);
  const last = current.lastSeqOfKey.get(record.key);
  if (last !== undefined && record.seq < last) stats.outOfOrder++;
  else current.lastSeqOfKey.set(record.key, record.seq);
  if (stats.received === 0) {
    stats.firstAt = at;
    current.cpuAtFirst = process.cpuUsage();
    send({ type: 'first', phase: current.name });
  }
  stats.received++;
  stats.lastAt = at;
  stats.latenciesMs.push(at - record.sentAt);
  if (stats.received === current.count && !current.finished) {
    current.finished = true;
    const cpu = process.cpuUsage(current.cpuAtFirst!);
    stats.cpuMicros = cpu.user + cpu.system;
    stats.strays = strays;
    send({ type: 'done', phase: current.name, stats });
  }
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    arrived(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    response.writeHead(200, { 'content-length': '0' });
    response.end();
  });
});
// Deliverers keep connections between phases that may be quiet for longer than Node's 5 s default.
server.keepAliveTimeout = 60_000;

process.on('message', (message: ExpectMessage) => {
  if (message.type !== 'expect') return;
  strays = 0;
  phase = {
    name: message.phase,
    count: message.count,
    seen: new Set(),
    lastSeqOfKey: new Map(),
    stats: {
      received: 0,
      duplicates: 0,
      outOfOrder: 0,
      strays: 0,
      firstAt: 0,
      lastAt: 0,
      latenciesMs: [],
      cpuMicros: 0,
    },
    cpuAtFirst: null,
    finished: false,
  };
});
// The bench going away (even killed) closes the channel: nothing is left listening.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => {
  send({ type: 'listening', port: (server.address() as AddressInfo).port });
});
