import type { AddressBook } from '../../../src/proxy/handlers/address-book';

/** An address book for handlers under test: broker N at `firstPort + N`, nothing registered or remembered. */
export function staticAddressBook(advertisedHost = '127.0.0.1', firstPort = 30000): AddressBook {
  return {
    advertisedHost,
    gatewayPortFor: (nodeId) => firstPort + nodeId,
    registerBrokers: () => undefined,
    rememberTopic: () => undefined,
    topicName: () => undefined,
  };
}
