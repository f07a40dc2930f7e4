import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { SpecError, type SpecDiagnostic } from './spec-error';
import type { SpecOutline } from './spec-outline';

export interface ParseRequest {
  id: number;
  text: string;
  source: string;
  validated?: boolean;
}

export type ParseReply =
  | { id: number; outline: SpecOutline }
  | { id: number; refused: { summary: string; diagnostics: SpecDiagnostic[] } }
  | { id: number; failed: string };

/**
 * Turns a document into its outline, or rejects with SpecError when the document is refused.
 * `validated`: the document passed the parser's rulesets when it was accepted (see parseSpec).
 */
export type SpecParsing = (text: string, source: string, validated?: boolean) => Promise<SpecOutline>;

/** A worker that has parsed nothing for this long is stopped; the next document starts another. */
const IDLE_MS = 30_000;
/** A hostile document may exhaust the parser's heap, which then takes down only the worker. */
const DEFAULT_HEAP_MB = 512;

interface Pending {
  resolve(outline: SpecOutline): void;
  reject(error: Error): void;
}

/**
 * Parses AsyncAPI documents in a worker thread. Parsing a document takes from tens of milliseconds
 * to seconds, which on the proxy's thread would stall every connection; and the parser with its
 * rulesets is most of what the gateway would otherwise keep in its heap, which the garbage
 * collector walks again and again while traffic flows. The worker starts on the first document
 * and stops when idle.
 */
export class WorkerSpecParser {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | null = null;

  /** @param heapMb the worker's old-generation limit */
  constructor(private readonly heapMb = DEFAULT_HEAP_MB) {}

  readonly parse: SpecParsing = (text, source, validated) =>
    new Promise<SpecOutline>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      if (this.idleTimer !== null) clearTimeout(this.idleTimer);
      this.idleTimer = null;
      const worker = this.start();
      // Held open only while it has work: a gateway waiting for a parse must not exit meanwhile.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, text, source, validated } satisfies ParseRequest);
    });

  /** Stops the worker now (pending parses are refused); the next document starts another. */
  async close(): Promise<void> {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const worker = this.worker;
    this.worker = null;
    this.failAll('the gateway is shutting down');
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = spawnParserWorker(this.heapMb);
    worker.on('message', (reply: ParseReply) => this.settle(reply));
    worker.on('error', (error: Error) => {
      if (this.worker === worker) this.worker = null;
      this.failAll(`the parser stopped: ${error.message}`);
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.failAll(`the parser exited with code ${code}`);
    });
    this.worker = worker;
    return worker;
  }

  private settle(reply: ParseReply): void {
    const pending = this.pending.get(reply.id);
    if (pending === undefined) return;
    this.pending.delete(reply.id);
    if ('outline' in reply) pending.resolve(reply.outline);
    else if ('refused' in reply)
      pending.reject(new SpecError(reply.refused.summary, reply.refused.diagnostics));
    else pending.reject(new Error(reply.failed));
    if (this.pending.size === 0) {
      this.worker?.unref();
      this.idleTimer = setTimeout(() => void this.close(), IDLE_MS);
      this.idleTimer.unref();
    }
  }

  private failAll(reason: string): void {
    for (const pending of this.pending.values())
      pending.reject(new SpecError('the document could not be parsed', [{ path: '', message: reason }]));
    this.pending.clear();
  }
}

function spawnParserWorker(heapMb: number): Worker {
  const options = { resourceLimits: { maxOldGenerationSizeMb: heapMb } };
  if (path.extname(__filename) === '.ts') {
    // Running from the TypeScript sources (the test runner): the worker compiles them as it loads.
    const entry = path.join(__dirname, 'spec-parser-worker.ts');
    return new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, { ...options, eval: true });
  }
  return new Worker(path.join(__dirname, 'spec-parser-worker.js'), options);
}

/** The gateway's one parser thread, shared by every store in the process. */
export const sharedSpecParser = new WorkerSpecParser();
