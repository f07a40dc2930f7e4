import http from 'node:http';

/**
 * The one shape of every error the HTTP API answers, whichever route or layer refused:
 * `{"error": "<reason>", "status": <code>}`, plus the details a refusal has (a parser's
 * diagnostics, a configuration's problems, the path in a pattern). The reason is a sentence for
 * people; `status` repeats the HTTP status for clients that only keep the body.
 */
export interface ErrorBody {
  error: string;
  status: number;
  [detail: string]: unknown;
}

/** Thrown by a route or a hook; the server's error handler answers it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
    /** Extra response headers (Retry-After, WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): ErrorBody {
    return { ...this.details, error: this.message, status: this.status };
  }
}

export function errorBody(status: number, message: string): ErrorBody {
  return { error: message, status };
}

/** The error body as bytes, for answers written straight to a socket (refused upgrades, unreadable requests). */
export function rawErrorResponse(status: number, message: string): string {
  const body = JSON.stringify(errorBody(status, message));
  return (
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nconnection: close\r\n` +
    `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** JSON Schema of the error body, shared by every route's error responses and the OpenAPI document. */
export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error', 'status'],
  properties: {
    error: { type: 'string', description: 'Why the request was refused, for people.' },
    status: { type: 'integer', description: 'The HTTP status, repeated.' },
    diagnostics: {
      type: 'array',
      description: "The AsyncAPI parser's findings, for a refused spec.",
      items: {
        type: 'object',
        required: ['message', 'path'],
        properties: { message: { type: 'string' }, path: { type: 'string' }, code: { type: 'string' } },
      },
    },
    problems: {
      type: 'array',
      description: 'Each problem of refused settings, naming its place.',
      items: { type: 'string' },
    },
    path: { type: 'string', description: 'Where in a refused pattern the problem is.' },
    errors: {
      type: 'array',
      description: "Why a published record or event breaks its contract (the pipeline's reasons).",
      items: { type: 'string' },
    },
    error_code: {
      type: 'integer',
      description: "The REST door's per-record code, as Confluent REST Proxy v3 names it (the HTTP status).",
    },
    results: {
      type: 'array',
      description: 'Per event of a refused CloudEvents batch, what became of it.',
      items: { type: 'object' },
    },
    record: {
      type: 'object',
      description: "Where a sync subscription's request was stored in Kafka before its target failed.",
      properties: { topic: { type: 'string' }, partition: { type: 'integer' }, offset: { type: 'string' } },
    },
    kafka_error: {
      type: 'string',
      description: "Kafka's name for the error when Kafka refused a write (NOT_ENOUGH_REPLICAS, ...).",
    },
  },
  additionalProperties: false,
} as const;

/** Response schemas for error statuses, for a route's `schema.response`. */
export function errorResponses(...statuses: number[]): Record<number, { $ref: string }> {
  return Object.fromEntries(statuses.map((status) => [status, { $ref: 'Error#' }]));
}
