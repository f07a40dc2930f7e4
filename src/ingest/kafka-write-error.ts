/**
 * Why Kafka did not take a record, as the HTTP door answers it: the Kafka error's name and
 * message, and the HTTP status that fits. Anything that may pass on its own (no leader, not
 * enough replicas, a broker away, a timeout) is 503 with Retry-After: the client should send
 * again. Errors the record itself causes keep a 4xx, so a client does not retry them forever.
 */
export class KafkaWriteError extends Error {
  constructor(
    readonly status: number,
    /** Kafka's name for the error (UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS, ...). */
    readonly kafkaError: string,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_OF: Record<string, number> = {
  UNKNOWN_TOPIC_OR_PARTITION: 404,
  MESSAGE_TOO_LARGE: 413,
  RECORD_LIST_TOO_LARGE: 413,
  INVALID_RECORD: 422,
  CORRUPT_MESSAGE: 422,
  INVALID_TIMESTAMP: 400,
  TOPIC_AUTHORIZATION_FAILED: 403,
  CLUSTER_AUTHORIZATION_FAILED: 403,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 403,
  POLICY_VIOLATION: 422,
  INVALID_REQUIRED_ACKS: 500,
};

/** A kafkajs error as a KafkaWriteError; the innermost Kafka error decides (retries wrap it). */
export function kafkaWriteError(error: unknown): KafkaWriteError {
  if (error instanceof KafkaWriteError) return error;
  let inner = error as { type?: string; message?: string; cause?: unknown; name?: string } | undefined;
  for (let depth = 0; depth < 5 && inner?.type === undefined && inner?.cause !== undefined; depth++)
    inner = inner.cause as typeof inner;
  const type = inner?.type;
  const message = (inner?.message ?? (error as Error | undefined)?.message ?? String(error)).slice(0, 500);
  if (type !== undefined && STATUS_OF[type] !== undefined)
    return new KafkaWriteError(STATUS_OF[type], type, message);
  const name =
    type ??
    ((error as { name?: string } | undefined)?.name === 'KafkaJSConnectionError'
      ? 'NETWORK_EXCEPTION'
      : 'KAFKA_UNAVAILABLE');
  return new KafkaWriteError(503, name, message);
}
