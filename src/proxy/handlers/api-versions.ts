import { apiKeyInfo, ApiKey } from '../../protocol/messages/generated/api-keys';
import {
  decodeApiVersionsResponse,
  encodeApiVersionsResponse,
} from '../../protocol/messages/generated/api-versions';
import type { ApiHandler } from '../api-handler';
import { decodeResponse, encodeResponse } from './response-codec';

const UNSUPPORTED_VERSION = 35;

/**
 * APIs whose responses (or requests) the gateway decodes. A broker newer than the gateway may
 * offer versions of them the gateway cannot read; advertising those would let a client pick one
 * and break the connection, so their ranges are narrowed to what the gateway's codecs know.
 */
export const APIS_THE_GATEWAY_READS: readonly number[] = [
  ApiKey.Produce,
  ApiKey.Fetch,
  ApiKey.Metadata,
  ApiKey.FindCoordinator,
  ApiKey.ApiVersions,
  ApiKey.DescribeCluster,
  ApiKey.ShareFetch,
  ApiKey.ShareAcknowledge,
];

const GATEWAY_MAX_VERSION = new Map<number, number>(
  APIS_THE_GATEWAY_READS.map((key) => [key, apiKeyInfo(key)!.response!.max]),
);

export function apiVersionsHandler(): ApiHandler {
  return {
    onResponse(frame, route) {
      // A broker that does not know the requested version answers in v0 with UNSUPPORTED_VERSION,
      // so the client can retry lower; that answer passes as it is.
      if (frame.length >= 6 && frame.readInt16BE(4) === UNSUPPORTED_VERSION) return frame;
      const { header, body } = decodeResponse(frame, route, decodeApiVersionsResponse);
      let changed = false;
      body.apiKeys = body.apiKeys.filter((api) => {
        const gatewayMax = GATEWAY_MAX_VERSION.get(api.apiKey);
        if (gatewayMax === undefined || api.maxVersion <= gatewayMax) return true;
        changed = true;
        if (gatewayMax < api.minVersion) return false;
        api.maxVersion = gatewayMax;
        return true;
      });
      return changed ? encodeResponse(route, header, body, encodeApiVersionsResponse, frame.length) : frame;
    },
  };
}
