/**
 * Kafka message codecs: one generated module per API (both directions), the two headers and the
 * api-key table. Regenerate with `make codegen`; see scripts/codegen/generate.ts.
 */
export * from './generated';
export { ZERO_UUID } from './runtime';
