import type { AsyncAPIDocumentInterface, ChannelInterface, MessageInterface } from '@asyncapi/parser';
import type { SpecDiagnostic } from './spec-error';

/**
 * What the gateway takes from a parsed AsyncAPI document: plain data, so that a document can be
 * parsed away from the proxy's thread and only this crosses over. Schemas are the resolved JSON
 * the parser produced (recursive schemas stay recursive: structured cloning keeps cycles).
 */
export interface SpecOutline {
  /** The document's `asyncapi` version. */
  asyncapi: string;
  title: string;
  version: string;
  warnings: SpecDiagnostic[];
  channels: ChannelOutline[];
  /** The first server's Kafka binding that names a schema registry (`schemaRegistryUrl`), unchecked. */
  schemaRegistry?: { url: unknown; vendor: unknown };
}

export interface ChannelOutline {
  id: string;
  /** The Kafka topic: the binding's `topic`, else the channel address (3.x) or name (2.x). */
  topic: string;
  /** The channel's `x-eg-fail-when-invalid`, unchecked. */
  failWhenInvalid: unknown;
  /** The channel's `x-eg-observe`, unchecked. */
  observe?: unknown;
  messages: MessageOutline[];
}

export type JsonSchema = Record<string, unknown>;

export interface MessageOutline {
  name: string;
  schemaFormat: string;
  payload: JsonSchema | null;
  headers: JsonSchema | null;
  /** The Kafka message binding's `key` schema. */
  key: JsonSchema | null;
  /** The message's `x-cloudevents-type`, unchecked: the CloudEvents type it carries besides its name. */
  cloudEventsType?: unknown;
  /**
   * The payload's schema as written, when its format is not JSON Schema (Avro, Protobuf): `payload`
   * is then the parser's JSON Schema rendering of it, which cannot tell whether bytes are right.
   */
  payloadSource?: unknown;
  /** The key's schema format when it is not JSON Schema, and its schema as written. */
  keyFormat?: string;
  keySource?: unknown;
  /** The Kafka message binding's framing fields, unchecked. */
  framing?: {
    schemaIdLocation?: unknown;
    schemaIdPayloadEncoding?: unknown;
    schemaLookupStrategy?: unknown;
  };
}

export const FAIL_WHEN_INVALID_EXTENSION = 'x-eg-fail-when-invalid';
export const OBSERVE_EXTENSION = 'x-eg-observe';
export const CLOUDEVENTS_TYPE_EXTENSION = 'x-cloudevents-type';
const DEFAULT_SCHEMA_FORMAT = 'application/vnd.aai.asyncapi+json';

const ORIGINAL_PAYLOAD = 'x-parser-original-payload';
/** Where the Avro parser keeps a 2.x message's key as written, having put its JSON Schema rendering in the binding. */
const ORIGINAL_KAFKA_KEY = 'x-parser-original-bindings-kafka-key';

/** A 3.x Multi Format Schema Object: a schema with the format it is written in. */
function multiFormat(json: unknown): { schemaFormat: string; schema: unknown } | undefined {
  if (json === null || typeof json !== 'object') return undefined;
  const { schemaFormat, schema } = json as { schemaFormat?: unknown; schema?: unknown };
  return typeof schemaFormat === 'string' && schema !== undefined ? { schemaFormat, schema } : undefined;
}

/** Schemas as JSON; models from the parser expose json(), plain binding values are already JSON. */
function schemaJson(schema: unknown): JsonSchema | null {
  if (schema === undefined || schema === null) return null;
  let json =
    typeof (schema as { json?: unknown }).json === 'function'
      ? (schema as { json(): unknown }).json()
      : schema;
  json = multiFormat(json)?.schema ?? json;
  if (typeof json === 'boolean') return json ? {} : { not: {} };
  if (typeof json !== 'object' || json === null) return null;
  const { $schema: _ignored, ...rest } = json as JsonSchema;
  return rest;
}

function kafkaBinding(holder: {
  bindings(): { get(name: string): { value(): unknown } | undefined };
}): JsonSchema | undefined {
  const value = holder.bindings().get('kafka')?.value();
  return value && typeof value === 'object' ? (value as JsonSchema) : undefined;
}

function channelTopic(channel: ChannelInterface): string {
  const bound = kafkaBinding(channel)?.topic;
  if (typeof bound === 'string' && bound.length > 0) return bound;
  return channel.address() ?? channel.id();
}

function outlineMessage(message: MessageInterface): MessageOutline {
  const schemaFormat = message.schemaFormat() ?? DEFAULT_SCHEMA_FORMAT;
  const raw = message.json() as Record<string, unknown>;
  const binding = kafkaBinding(message);
  const outline: MessageOutline = {
    name: message.name() ?? message.id(),
    schemaFormat,
    payload: schemaJson(message.payload()),
    headers: schemaJson(message.headers()),
    key: schemaJson(binding?.key),
    cloudEventsType: message.extensions().get(CLOUDEVENTS_TYPE_EXTENSION)?.value(),
  };
  // 2.x keeps the payload as written on the message, 3.x on its Multi Format Schema Object.
  const payload = raw.payload as Record<string, unknown> | undefined;
  const source = raw[ORIGINAL_PAYLOAD] ?? payload?.[ORIGINAL_PAYLOAD];
  if (source !== undefined) outline.payloadSource = source;
  const key = multiFormat(binding?.key);
  if (raw[ORIGINAL_KAFKA_KEY] !== undefined) {
    outline.keyFormat = schemaFormat;
    outline.keySource = raw[ORIGINAL_KAFKA_KEY];
  } else if (key !== undefined) {
    outline.keyFormat = key.schemaFormat;
    outline.keySource = key.schema;
  }
  if (binding !== undefined) {
    const { schemaIdLocation, schemaIdPayloadEncoding, schemaLookupStrategy } = binding;
    if (schemaIdLocation !== undefined || schemaIdPayloadEncoding !== undefined)
      outline.framing = { schemaIdLocation, schemaIdPayloadEncoding, schemaLookupStrategy };
  }
  return outline;
}

function schemaRegistryOf(document: AsyncAPIDocumentInterface): SpecOutline['schemaRegistry'] {
  for (const server of document.servers().all()) {
    const binding = kafkaBinding(server);
    if (binding?.schemaRegistryUrl !== undefined)
      return { url: binding.schemaRegistryUrl, vendor: binding.schemaRegistryVendor };
  }
  return undefined;
}

/** The outline of a document the parser accepted. */
export function outlineDocument(
  document: AsyncAPIDocumentInterface,
  asyncapi: string,
  warnings: SpecDiagnostic[],
): SpecOutline {
  const info = document.info();
  const schemaRegistry = schemaRegistryOf(document);
  return {
    ...(schemaRegistry === undefined ? {} : { schemaRegistry }),
    asyncapi,
    title: info.title(),
    version: info.version(),
    warnings,
    channels: document
      .channels()
      .all()
      .map((channel) => ({
        id: channel.id(),
        topic: channelTopic(channel),
        failWhenInvalid: channel.extensions().get(FAIL_WHEN_INVALID_EXTENSION)?.value(),
        observe: channel.extensions().get(OBSERVE_EXTENSION)?.value(),
        messages: channel.messages().all().map(outlineMessage),
      })),
  };
}
