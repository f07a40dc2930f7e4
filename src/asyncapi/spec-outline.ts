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
}

export const FAIL_WHEN_INVALID_EXTENSION = 'x-eg-fail-when-invalid';
export const OBSERVE_EXTENSION = 'x-eg-observe';
export const CLOUDEVENTS_TYPE_EXTENSION = 'x-cloudevents-type';
const DEFAULT_SCHEMA_FORMAT = 'application/vnd.aai.asyncapi+json';

/** Schemas as JSON; models from the parser expose json(), plain binding values are already JSON. */
function schemaJson(schema: unknown): JsonSchema | null {
  if (schema === undefined || schema === null) return null;
  const json =
    typeof (schema as { json?: unknown }).json === 'function'
      ? (schema as { json(): unknown }).json()
      : schema;
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
  return {
    name: message.name() ?? message.id(),
    schemaFormat: message.schemaFormat() ?? DEFAULT_SCHEMA_FORMAT,
    payload: schemaJson(message.payload()),
    headers: schemaJson(message.headers()),
    key: schemaJson(kafkaBinding(message)?.key),
    cloudEventsType: message.extensions().get(CLOUDEVENTS_TYPE_EXTENSION)?.value(),
  };
}

/** The outline of a document the parser accepted. */
export function outlineDocument(
  document: AsyncAPIDocumentInterface,
  asyncapi: string,
  warnings: SpecDiagnostic[],
): SpecOutline {
  const info = document.info();
  return {
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
