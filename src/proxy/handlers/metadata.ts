import { decodeMetadataResponse, encodeMetadataResponse } from '../../protocol/messages/generated/metadata';
import { ZERO_UUID } from '../../protocol/messages/runtime';
import type { ApiHandler } from '../api-handler';
import { afterRegistering, rewriteAddresses, type AddressBook } from './address-book';
import { decodeResponse, encodeResponse } from './response-codec';

/** Metadata responses name every broker: all of them are pointed at the gateway. */
export function metadataHandler(book: AddressBook): ApiHandler {
  return {
    onResponse(frame, route) {
      const { header, body } = decodeResponse(frame, route, decodeMetadataResponse);
      for (const topic of body.topics) {
        if (topic.name !== null && topic.topicId !== ZERO_UUID) book.rememberTopic(topic.topicId, topic.name);
      }
      const endpoints = rewriteAddresses(book, body.brokers, (broker) => broker.nodeId);
      return afterRegistering(
        book,
        endpoints,
        encodeResponse(route, header, body, encodeMetadataResponse, frame.length + 64),
      );
    },
  };
}
