import {
  decodeFindCoordinatorResponse,
  encodeFindCoordinatorResponse,
} from '../../protocol/messages/generated/find-coordinator';
import type { ApiHandler } from '../api-handler';
import { afterRegistering, rewriteAddresses, type AddressBook } from './address-book';
import { decodeResponse, encodeResponse } from './response-codec';

/** Group and transaction coordinators: one address up to v3, a list of them (batched lookups) from v4. */
export function findCoordinatorHandler(book: AddressBook): ApiHandler {
  return {
    onResponse(frame, route) {
      const { header, body } = decodeResponse(frame, route, decodeFindCoordinatorResponse);
      const endpoints =
        route.apiVersion >= 4
          ? rewriteAddresses(book, body.coordinators, (coordinator) => coordinator.nodeId)
          : rewriteAddresses(book, [body], (single) => single.nodeId);
      if (endpoints.length === 0) return frame;
      return afterRegistering(
        book,
        endpoints,
        encodeResponse(route, header, body, encodeFindCoordinatorResponse, frame.length + 64),
      );
    },
  };
}
