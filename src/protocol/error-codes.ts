/** Kafka error codes the gateway itself answers with (Kafka's Errors enum holds the full list). */
export const ErrorCode = {
  None: 0,
  CorruptMessage: 2,
  UnsupportedForMessageFormat: 43,
  PolicyViolation: 44,
  InvalidRecord: 87,
  ThrottlingQuotaExceeded: 89,
  UnknownTopicId: 100,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
