/**
 * Kafka message codecs: one generated module per API (both directions), the two headers and the
 * api-key table. Regenerate with `make codegen`; see scripts/codegen/generate.ts.
 *
 * Everything at once, for tests and tools. The proxy imports the few API modules it reads from
 * generated/<api> directly, so that the other eighty-odd are never loaded into its heap.
 */
export * from './generated';
export { ZERO_UUID } from './runtime';
