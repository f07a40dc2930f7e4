import {
  decodeDescribeClusterResponse,
  encodeDescribeClusterResponse,
} from '../../protocol/messages/generated/describe-cluster';
import type { ApiHandler } from '../api-handler';
import { afterRegistering, rewriteAddresses, type AddressBook } from './address-book';
import { decodeResponse, encodeResponse } from './response-codec';

const BROKER_ENDPOINTS = 1;

/**
 * Admin clients and UIs list brokers through DescribeCluster. Since v1 it can also describe the
 * controllers (endpoint type 2), which clients reach through a bootstrap-controllers setting the
 * gateway does not front; only broker endpoints are rewritten.
 */
export function describeClusterHandler(book: AddressBook): ApiHandler {
  return {
    onResponse(frame, route) {
      const { header, body } = decodeResponse(frame, route, decodeDescribeClusterResponse);
      if (body.endpointType !== BROKER_ENDPOINTS) return frame;
      const endpoints = rewriteAddresses(book, body.brokers, (broker) => broker.brokerId);
      if (endpoints.length === 0) return frame;
      return afterRegistering(
        book,
        endpoints,
        encodeResponse(route, header, body, encodeDescribeClusterResponse, frame.length + 64),
      );
    },
  };
}
