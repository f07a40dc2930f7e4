import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { bearerToken } from '../access';
import { refuseOnSocket } from '../http-server';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../observability/logger';
import type { DecodedValue } from '../../asyncapi/binary-view';
import type { ConsumedMessage } from '../../tap/consumed-message';
import { toTapRecord, type ObservedErrors } from './tap-record';
import type { EventPattern } from '../../patterns/event-pattern';
import type { RecordEvent } from '../../patterns/record-event';
import { tapEvent, tapPattern } from './tap-pattern';
import { tapFrom, type TapFrom } from '../../tap/tap-from';
import { partitionKey, type ReplayEnds } from '../../tap/tap-replay';

/** Where the history a client asks for (`?from=`) comes from: the tap's consumer. */
export interface TapHistory {
  replay(
    topics: readonly string[] | null,
    from: TapFrom,
    onRecord: (topic: string, partition: number, message: ConsumedMessage) => Promise<void>,
    signal: AbortSignal,
  ): Promise<ReplayEnds>;
}

/** What is built once per record for every client: its frame, its event for patterns, its decoded value (null: none). */
interface FrameCache {
  built?: { text: string; invalid: boolean };
  event?: RecordEvent;
  decoded?: DecodedValue | null;
}

export interface TapServerOptions {
  logger: Logger;
  /** A client whose unsent data exceeds this many bytes misses records until it catches up. */
  maxBufferedBytes: number;
  /** A client that missed more records than this in a row is closed. */
  maxDroppedBeforeClose: number;
  /** Whether the token a client sent (`?token=` or `Authorization: Bearer`) may watch; none sent: undefined. */
  authorize: (token: string | undefined) => boolean;
  onClients?: (count: number) => void;
  onDropped?: () => void;
  /** Validation errors of records of channels in observe mode, which carry no validation header. */
  observed?: ObservedErrors;
  /** The value of a record of a channel whose contract is Avro or Protobuf, decoded (undefined: not such a channel). */
  decoded?: (topic: string, message: ConsumedMessage) => DecodedValue | undefined;
  /** 0 refuses `?from=`; so does a tap with no history to read (see useHistory). */
  maxReplayRecords?: number;
  /**
   * Replays running at once. Each one is a consumer group reading the brokers; without a bound a
   * few clients asking for history over and over would have the gateway read its topics as
   * many times at once.
   */
  maxConcurrentReplays?: number;
}

/** A live record held back while the client's history is sent. */
interface HeldRecord {
  key: string;
  offset: bigint;
  text: string;
}

interface TapClient {
  socket: WebSocket;
  topics: Set<string> | null;
  invalidOnly: boolean;
  /** `?pattern=`: only records whose event (value, key, headers) it matches. */
  pattern: EventPattern | null;
  droppedInARow: number;
  /** While its history is sent: the live records it would have been sent, in order. */
  held: HeldRecord[] | null;
  heldBytes: number;
  /**
   * After a replay, where it ended per partition, until live records pass it: the tap's consumer
   * may be behind the replay (restarting, catching up) and publish records the replay already sent.
   */
  replayed: Map<string, bigint> | null;
}

/**
 * The WebSocket side of the tap: one JSON frame per record to every client whose filter it
 * passes. A slow client never holds up the others or the gateway: records it cannot take are
 * dropped for it alone (and counted), and a client that stays behind is closed.
 *
 * A client that asks for history (`?from=`) gets it first, read by the tap's consumer up to the
 * high watermarks taken after the client started to collect live records; then the live records
 * collected meanwhile, less those the history already held (by offset, per partition). Nothing is
 * lost or sent twice at the hand-over.
 */
export class TapServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  /** What publish() builds once per record for all clients; reused, as records come one at a time. */
  private readonly publishCache: FrameCache = {};
  private readonly clients = new Set<TapClient>();

  private history: TapHistory | undefined;
  /** `?from=` replays running now. */
  private replaying = 0;

  constructor(private readonly options: TapServerOptions) {}

  /** Where `?from=` reads history; without it such clients are refused. */
  useHistory(history: TapHistory): void {
    this.history = history;
  }

  clientCount(): number {
    return this.clients.size;
  }

  /** Takes over an upgrade request for /ws (the HTTP server has parsed its URL). */
  handleUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    const token = url.searchParams.get('token') ?? bearerToken(request);
    if (!this.options.authorize(token)) {
      refuseOnSocket(socket, 401, 'a valid token is required');
      return;
    }
    const topics = url.searchParams.getAll('topic');
    const invalid = url.searchParams.get('invalid');
    const pattern = tapPattern(url.searchParams.get('pattern'));
    if ('error' in pattern) {
      refuseOnSocket(socket, 400, pattern.error);
      return;
    }
    const from = tapFrom(url.searchParams.get('from'));
    if ('error' in from) {
      refuseOnSocket(socket, 400, from.error);
      return;
    }
    const history = this.history;
    if (from.from !== null && (history === undefined || (this.options.maxReplayRecords ?? 0) === 0)) {
      refuseOnSocket(socket, 400, 'from: this tap keeps no history (tap.maxReplayRecords is 0)');
      return;
    }
    if (from.from !== null && this.replaying >= (this.options.maxConcurrentReplays ?? Infinity)) {
      refuseOnSocket(
        socket,
        503,
        `from: ${this.replaying} history replays are running (tap.maxConcurrentReplays); try again shortly`,
      );
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const client: TapClient = {
        socket: ws,
        topics: topics.length > 0 ? new Set(topics) : null,
        invalidOnly: invalid === 'true' || invalid === '1',
        pattern: pattern.pattern,
        droppedInARow: 0,
        held: from.from === null ? null : [],
        heldBytes: 0,
        replayed: null,
      };
      this.clients.add(client);
      this.options.onClients?.(this.clients.size);
      const gone = new AbortController();
      const forget = () => {
        gone.abort();
        if (this.clients.delete(client)) this.options.onClients?.(this.clients.size);
      };
      ws.on('close', forget);
      ws.on('error', forget);
      // The tap only talks; anything a client sends is ignored.
      ws.on('message', () => undefined);
      if (from.from !== null) this.sendHistory(client, history!, from.from, gone.signal);
    });
  }

  /** Replays, then hands the client over to the live records held meanwhile. */
  private sendHistory(client: TapClient, history: TapHistory, from: TapFrom, signal: AbortSignal): void {
    const topics = client.topics === null ? null : [...client.topics];
    this.replaying++;
    const ended = () => this.replaying--;
    history
      .replay(
        topics,
        from,
        (topic, partition, message) => this.sendReplayed(client, topic, partition, message),
        signal,
      )
      .finally(ended)
      .then(
        (ends) => {
          if (signal.aborted) return;
          const held = client.held ?? [];
          client.held = null;
          client.heldBytes = 0;
          client.replayed = ends.size > 0 ? new Map(ends) : null;
          for (const record of held) {
            if (!this.replayedAlready(client, record.key, record.offset)) client.socket.send(record.text);
          }
        },
        (error: Error) => {
          if (signal.aborted) return;
          this.options.logger.warn(
            { err: error.message },
            'tap: cannot replay the history a client asked for',
          );
          this.closeClient(client, 1011, 'history unavailable');
        },
      );
  }

  private async sendReplayed(
    client: TapClient,
    topic: string,
    partition: number,
    message: ConsumedMessage,
  ): Promise<void> {
    const text = this.frameFor(client, topic, partition, message, {});
    if (text === null) return;
    // Paced by the client: history is bounded, but there is no point in queueing it all at once.
    while (
      client.socket.bufferedAmount > this.options.maxBufferedBytes &&
      client.socket.readyState === client.socket.OPEN
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    client.socket.send(text);
  }

  /** The frame for `client`, or null when its filters leave the record out. */
  private frameFor(
    client: TapClient,
    topic: string,
    partition: number,
    message: ConsumedMessage,
    cache: FrameCache,
  ): string | null {
    if (client.topics !== null && !client.topics.has(topic)) return null;
    if (cache.decoded === undefined) cache.decoded = this.options.decoded?.(topic, message) ?? null;
    const decoded = cache.decoded ?? undefined;
    if (
      client.pattern !== null &&
      !client.pattern.matches((cache.event ??= tapEvent(message, decoded?.reading)))
    )
      return null;
    if (cache.built === undefined) {
      const { record, invalid } = toTapRecord(topic, partition, message, this.options.observed, decoded);
      cache.built = { text: JSON.stringify(record), invalid };
    }
    if (client.invalidOnly && !cache.built.invalid) return null;
    return cache.built.text;
  }

  /** Whether the replay sent this record already; forgets a partition once live records pass it. */
  private replayedAlready(client: TapClient, key: string, offset: bigint): boolean {
    const ends = client.replayed;
    if (ends === null) return false;
    const end = ends.get(key);
    if (end === undefined) return false;
    if (offset < end) return true;
    ends.delete(key);
    if (ends.size === 0) client.replayed = null;
    return false;
  }

  private closeClient(client: TapClient, code: number, reason: string): void {
    client.socket.close(code, reason);
    client.socket.terminate();
    if (this.clients.delete(client)) this.options.onClients?.(this.clients.size);
  }

  publish(topic: string, partition: number, message: ConsumedMessage): void {
    if (this.clients.size === 0) return;
    const cache = this.publishCache;
    cache.built = undefined;
    cache.event = undefined;
    cache.decoded = undefined;
    for (const client of this.clients) {
      const text = this.frameFor(client, topic, partition, message, cache);
      if (text === null) continue;
      if (
        client.replayed !== null &&
        this.replayedAlready(client, partitionKey(topic, partition), BigInt(message.offset))
      )
        continue;
      if (client.held !== null) {
        client.held.push({ key: partitionKey(topic, partition), offset: BigInt(message.offset), text });
        client.heldBytes += text.length;
        // Dropping one would leave a gap after the history; the client may reconnect and ask again.
        if (client.heldBytes > this.options.maxBufferedBytes) {
          this.options.logger.info(
            'tap: closing a client whose live records outgrew its buffer during its replay',
          );
          this.closeClient(client, 1013, 'too many live records while replaying');
        }
        continue;
      }
      if (client.socket.bufferedAmount > this.options.maxBufferedBytes) {
        client.droppedInARow++;
        this.options.onDropped?.();
        if (client.droppedInARow > this.options.maxDroppedBeforeClose) {
          this.options.logger.info(
            { dropped: client.droppedInARow },
            'tap: closing a client that stays behind',
          );
          this.closeClient(client, 1013, 'too slow: records were dropped');
        }
        continue;
      }
      client.droppedInARow = 0;
      client.socket.send(text);
    }
  }

  close(): void {
    for (const client of this.clients) client.socket.terminate();
    this.clients.clear();
    this.wss.close();
  }
}
