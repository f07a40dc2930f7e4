import type { ValidateFunction } from 'ajv';
import type { BinaryContract } from '../serdes/binary-codec';
import type { AddressMatcher } from './channel-address';

/** How a header's bytes are read before its schema sees them (headers are bytes on the wire). */
export type HeaderReading = 'string' | 'number' | 'integer' | 'boolean';

/** How a key's bytes are read: as text, as a number or boolean written as text, or as JSON. */
export type KeyReading = 'string' | 'number' | 'boolean' | 'json';

/** One message a channel may carry, with its compiled validators. */
export interface MessageContract {
  name: string;
  value: ValidateFunction | null;
  key: ValidateFunction | null;
  keyReading: KeyReading;
  headers: ValidateFunction | null;
  headerReadings: ReadonlyMap<string, HeaderReading>;
  /** The CloudEvents types this message carries: its name, and its `x-cloudevents-type` if set. */
  eventTypes: readonly string[];
  /** An Avro or Protobuf payload: `value` is then null, the bytes are checked by decoding them. */
  binaryValue?: BinaryContract;
  /** An Avro or Protobuf key: `key` is then null. */
  binaryKey?: BinaryContract;
}

/** A channel of a spec, as the topics it stands for and the messages they may carry. */
export interface ChannelContract {
  specId: string;
  channel: string;
  /** The Kafka topic, or the channel address with its {parameters} when `pattern` is set. */
  topic: string;
  pattern: AddressMatcher | null;
  messages: MessageContract[];
  /** From the channel's `x-eg-fail-when-invalid`; undefined means the configured default. */
  failWhenInvalid: boolean | undefined;
  /** From the channel's `x-eg-observe`; undefined means the configured default (asyncapi.observe). */
  observe?: boolean;
  /** The schema registry the document's servers name (Kafka server binding `schemaRegistryUrl`). */
  schemaRegistry?: { url: string; vendor: string | undefined };
}
