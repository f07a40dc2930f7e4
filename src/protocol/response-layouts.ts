import { PRODUCE_VERSIONS } from './produce-wire';
import type { Layout } from './tagged-tail';

/*
 * Where the node endpoints of KIP-951 live: in the top-level tagged fields (tag 0) of Produce
 * responses from v10 and Fetch responses from v16, after everything else. These layouts let the
 * gateway find that tail without decoding the response; they follow the message definitions of
 * those versions (clients/src/main/resources/common/message/{Produce,Fetch}Response.json), and
 * the tests check them against the generated codecs.
 */

/**
 * The Produce / Fetch versions these layouts describe (up to the codecs' maximum). Produce's follow
 * the codec, so that a Kafka release with a new version is walked by the layout tests at once.
 */
export const PRODUCE_RESPONSE_LAYOUT_VERSIONS = {
  min: PRODUCE_VERSIONS.firstWithNodeEndpoints,
  max: PRODUCE_VERSIONS.highest,
} as const;
export const FETCH_RESPONSE_LAYOUT_VERSIONS = { min: 16, max: 18 } as const;

// PartitionIndex/Index int32, ErrorCode int16, then three int64 offsets (high watermark, last stable,
// log start for Fetch; base offset, log append time, log start for Produce).
const PARTITION_FIXED = 4 + 2 + 8 + 8 + 8;

const PRODUCE_PARTITION: Layout = [PARTITION_FIXED, [4, 'string', 'tags'], 'string', 'tags'];
const PRODUCE_BY_NAME: Layout = [['string', PRODUCE_PARTITION, 'tags'], 4];
const PRODUCE_BY_ID: Layout = [[16, PRODUCE_PARTITION, 'tags'], 4];

// AbortedTransactions (ProducerId, FirstOffset), PreferredReadReplica, Records.
const FETCH_PARTITION: Layout = [PARTITION_FIXED, [16, 'tags'], 4, 'string', 'tags'];
// ThrottleTimeMs, ErrorCode, SessionId, then topics by id.
const FETCH: Layout = [4 + 2 + 4, [16, FETCH_PARTITION, 'tags']];

/** Produce response body (after the header) up to its tagged fields, from the first version with node endpoints. */
export function produceResponseLayout(version: number): Layout | undefined {
  if (version < PRODUCE_RESPONSE_LAYOUT_VERSIONS.min || version > PRODUCE_RESPONSE_LAYOUT_VERSIONS.max)
    return undefined;
  return version >= PRODUCE_VERSIONS.firstWithTopicIds ? PRODUCE_BY_ID : PRODUCE_BY_NAME;
}

/** Fetch response body (after the header) up to its tagged fields, for v16-18. */
export function fetchResponseLayout(version: number): Layout | undefined {
  if (version < FETCH_RESPONSE_LAYOUT_VERSIONS.min || version > FETCH_RESPONSE_LAYOUT_VERSIONS.max)
    return undefined;
  return FETCH;
}
