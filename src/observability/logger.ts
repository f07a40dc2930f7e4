import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * The gateway's root logger: JSON lines on stdout. Per-connection children add the client's
 * address and id; record contents are never logged at info level.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: 'event-gateway' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination,
  );
}
