import type { DestinationStream } from 'pino';

/** One parsed pino line. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** pino's numeric levels, so tests can say "warn or worse". */
export const LEVEL = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

/** Keeps every log line the gateway writes, parsed, for assertions. */
export class CapturedLogs implements DestinationStream {
  readonly lines: LogLine[] = [];

  write(text: string): void {
    // pino hands over whole lines; a sync destination never receives partial ones.
    for (const line of text.split('\n')) {
      if (line.trim() !== '') this.lines.push(JSON.parse(line) as LogLine);
    }
  }

  /** Lines written from now on: take a mark before provoking something, then search after it. */
  mark(): number {
    return this.lines.length;
  }

  find(predicate: (line: LogLine) => boolean, since = 0): LogLine | undefined {
    return this.lines.slice(since).find(predicate);
  }

  /** Resolves with the first matching line, waiting for it when it has not been written yet. */
  async waitFor(predicate: (line: LogLine) => boolean, since = 0, timeoutMs = 5_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.find(predicate, since);
      if (line) return line;
      if (Date.now() >= deadline) {
        const recent = this.lines
          .slice(since)
          .slice(-20)
          .map((l) => JSON.stringify(l))
          .join('\n  ');
        throw new Error(
          `no matching gateway log line within ${timeoutMs} ms; lines since the mark:\n  ${recent}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
