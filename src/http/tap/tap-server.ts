import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { refuseOnSocket } from '../http-server';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../observability/logger';
import type { ConsumedMessage } from './tap-record';
import { toTapRecord } from './tap-record';
import type { EventPattern } from '../../pipeline/filter/event-pattern';
import type { RecordEvent } from '../../pipeline/filter/record-event';
import { tapEvent, tapPattern } from './tap-pattern';

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
}

interface TapClient {
  socket: WebSocket;
  topics: Set<string> | null;
  invalidOnly: boolean;
  /** `?pattern=`: only records whose event (value, key, headers) it matches. */
  pattern: EventPattern | null;
  droppedInARow: number;
}

/**
 * The WebSocket side of the tap: one JSON frame per record to every client whose filter it
 * passes. A slow client never holds up the others or the gateway: records it cannot take are
 * dropped for it alone (and counted), and a client that stays behind is closed.
 */
export class TapServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly clients = new Set<TapClient>();

  constructor(private readonly options: TapServerOptions) {}

  clientCount(): number {
    return this.clients.size;
  }

  /** Takes over an upgrade request for /ws (the HTTP server has parsed its URL). */
  handleUpgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    const header = request.headers.authorization;
    const token =
      url.searchParams.get('token') ??
      (typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined);
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
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const client: TapClient = {
        socket: ws,
        topics: topics.length > 0 ? new Set(topics) : null,
        invalidOnly: invalid === 'true' || invalid === '1',
        pattern: pattern.pattern,
        droppedInARow: 0,
      };
      this.clients.add(client);
      this.options.onClients?.(this.clients.size);
      const forget = () => {
        if (this.clients.delete(client)) this.options.onClients?.(this.clients.size);
      };
      ws.on('close', forget);
      ws.on('error', forget);
      // The tap only talks; anything a client sends is ignored.
      ws.on('message', () => undefined);
    });
  }

  publish(topic: string, partition: number, message: ConsumedMessage): void {
    if (this.clients.size === 0) return;
    let built: { text: string; invalid: boolean } | undefined;
    let event: RecordEvent | undefined;
    for (const client of this.clients) {
      if (client.topics !== null && !client.topics.has(topic)) continue;
      if (client.pattern !== null && !client.pattern.matches((event ??= tapEvent(message)))) continue;
      if (built === undefined) {
        const { record, invalid } = toTapRecord(topic, partition, message);
        built = { text: JSON.stringify(record), invalid };
      }
      if (client.invalidOnly && !built.invalid) continue;
      if (client.socket.bufferedAmount > this.options.maxBufferedBytes) {
        client.droppedInARow++;
        this.options.onDropped?.();
        if (client.droppedInARow > this.options.maxDroppedBeforeClose) {
          this.options.logger.info(
            { dropped: client.droppedInARow },
            'tap: closing a client that stays behind',
          );
          client.socket.close(1013, 'too slow: records were dropped');
          client.socket.terminate();
          this.clients.delete(client);
          this.options.onClients?.(this.clients.size);
        }
        continue;
      }
      client.droppedInARow = 0;
      client.socket.send(built.text);
    }
  }

  close(): void {
    for (const client of this.clients) client.socket.terminate();
    this.clients.clear();
    this.wss.close();
  }
}
