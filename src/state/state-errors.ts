/** The write cannot be made now (no broker, no leader, timeout). HTTP 503. */
export class StateUnavailableError extends Error {
  override readonly name = 'StateUnavailableError';
}

/** If-Match (or If-None-Match) named a revision that is no longer the document's. HTTP 412. */
export class StaleRevisionError extends Error {
  override readonly name = 'StaleRevisionError';
}
