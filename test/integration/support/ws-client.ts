/**
 * A WebSocket client of the gateway's tap (`/ws`) for integration tests: it keeps every frame with
 * the time it arrived, so tests can ask both what a subscriber saw and how late it saw it, and it
 * can stop reading altogether to play a subscriber that does not keep up.
 */
import WebSocket from 'ws';
import type { TapRecord } from '../../../src/http/tap/tap-record';

export interface ReceivedRecord {
  record: TapRecord;
  /** Date.now() when the frame was parsed. */
  receivedAt: number;
}

/** Why a connection attempt failed: the HTTP status of a refused upgrade, or the socket error. */
export class TapRefused extends Error {
  constructor(
    readonly status: number | null,
    message: string,
  ) {
    super(message);
  }
}

export class TapClient {
  readonly received: ReceivedRecord[] = [];
  /** Resolves with the close code once the connection is gone, whoever ended it. */
  readonly closed: Promise<number>;
  private isClosed = false;

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) =>
      socket.once('close', (code: number) => {
        this.isClosed = true;
        resolve(code);
      }),
    );
    // An abrupt close from the server surfaces as an error as well; the close event reports it.
    socket.on('error', () => undefined);
    socket.on('message', (data: WebSocket.RawData) => {
      const text = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Buffer.from(data as ArrayBuffer).toString();
      this.received.push({ record: JSON.parse(text) as TapRecord, receivedAt: Date.now() });
    });
  }

  /**
   * Opens `ws://<address>/ws` with the given query parameters (repeat a key by passing an array).
   * Rejects with TapRefused when the gateway refuses the upgrade.
   */
  static connect(
    address: string,
    query: Record<string, string | readonly string[]> = {},
    headers: Record<string, string> = {},
  ): Promise<TapClient> {
    const url = new URL(`ws://${address}/ws`);
    for (const [key, value] of Object.entries(query)) {
      for (const item of typeof value === 'string' ? [value] : value) url.searchParams.append(key, item);
    }
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers });
      const fail = (error: Error) => reject(new TapRefused(null, error.message));
      socket.once('error', fail);
      socket.once('unexpected-response', (_request, response) => {
        socket.off('error', fail);
        socket.on('error', () => undefined);
        response.resume();
        reject(new TapRefused(response.statusCode ?? null, `upgrade refused with ${response.statusCode}`));
        socket.terminate();
      });
      socket.once('open', () => {
        socket.off('error', fail);
        resolve(new TapClient(socket));
      });
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** The records received so far that `keep` selects. */
  records(keep: (record: TapRecord) => boolean = () => true): ReceivedRecord[] {
    return this.received.filter((r) => keep(r.record));
  }

  /** Waits until `count` received records satisfy `keep`; fails with what did arrive. */
  async waitForRecords(
    count: number,
    keep: (record: TapRecord) => boolean,
    timeoutMs = 5_000,
  ): Promise<ReceivedRecord[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const matching = this.records(keep);
      if (matching.length >= count) return matching;
      if (Date.now() >= deadline) {
        throw new Error(
          `tap client saw ${matching.length} of ${count} records in ${timeoutMs} ms; ` +
            `${this.received.length} frames in all`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Stops reading from the TCP socket (ws pauses the socket itself, not just its events), so the
   * kernel buffers fill and the gateway's writes back up: a subscriber that stalls without
   * closing. A paused client does not notice the gateway closing it until resume().
   */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** True once the connection is gone, false if it is still open after `timeoutMs`. */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const closed = await Promise.race([this.closed.then(() => true as const), late]);
    clearTimeout(timer);
    return closed;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.socket.close();
    const timer = setTimeout(() => this.socket.terminate(), 1_000);
    await this.closed;
    clearTimeout(timer);
  }
}
