import Ajv, { type ValidateFunction } from 'ajv';
import { compileLinearRegex, type LinearRegex } from '../regex/linear-regex';
import { RegexError } from '../regex/regex-error';
import { binaryFormatOf, compileSchema, type BinaryContract } from '../serdes/binary-codec';
import { framingOf } from '../serdes/schema-framing';
import { addressMatcher } from './channel-address';
import type { ChannelContract, HeaderReading, KeyReading, MessageContract } from './channel-contract';
import { addJsonFormats } from './json-formats';
import { schemaPatternProblems } from './schema-patterns';
import { SpecError, type SpecDiagnostic } from './spec-error';
import {
  CLOUDEVENTS_TYPE_EXTENSION,
  FAIL_WHEN_INVALID_EXTENSION,
  OBSERVE_EXTENSION,
  type JsonSchema,
  type MessageOutline,
  type SpecOutline,
} from './spec-outline';
const JSON_SCHEMA_FORMATS =
  /^application\/(vnd\.aai\.asyncapi(\+json|\+yaml)?|schema\+json|schema\+yaml)(;|$)/;

/** Each distinct pattern of a document compiled once, for the check and for Ajv alike. */
function regexCache(): (source: string) => LinearRegex {
  const compiled = new Map<string, LinearRegex | RegexError>();
  return (source) => {
    let regex = compiled.get(source);
    if (regex === undefined) {
      try {
        regex = compileLinearRegex(source);
      } catch (error) {
        if (!(error instanceof RegexError)) throw error;
        regex = error;
      }
      compiled.set(source, regex);
    }
    if (regex instanceof RegexError) throw regex;
    return regex;
  };
}

function createAjv(regex: (source: string) => LinearRegex): Ajv {
  // Schema patterns run on a linear-time engine: with Ajv's default (RegExp) a producer's value
  // could make a pattern such as ^(a+)+$ backtrack for seconds on the proxy's thread. Ajv keys
  // compiled patterns by toString(), so it must differ between patterns.
  const regExp = Object.assign(
    (source: string) => {
      const compiled = regex(source);
      return { test: (text: string) => compiled.test(text), toString: () => `/${source}/u` };
    },
    { code: 'linearRegex' },
  );
  // strict: false because AsyncAPI schemas carry keywords JSON Schema does not know
  // (discriminator, externalDocs, x-* extensions, the parser's x-parser-schema-id).
  // ownProperties: Ajv otherwise reads `data.toString`, and a record without a `toString` field
  // would be judged by Object.prototype's function (a false rejection of a valid record).
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    validateFormats: true,
    ownProperties: true,
    code: { regExp },
  });
  return addJsonFormats(ajv);
}

function typeOf(schema: JsonSchema | null | undefined): string | undefined {
  const type = schema?.type;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return type.find((t) => t !== 'null') as string | undefined;
  return undefined;
}

function headerReadings(headers: JsonSchema | null): Map<string, HeaderReading> {
  const readings = new Map<string, HeaderReading>();
  const properties = headers?.properties;
  if (properties === null || typeof properties !== 'object') return readings;
  for (const [name, property] of Object.entries(properties as Record<string, Record<string, unknown>>)) {
    const type = typeOf(property);
    if (type === 'number' || type === 'integer' || type === 'boolean') readings.set(name, type);
  }
  return readings;
}

function keyReading(key: JsonSchema | null): KeyReading {
  const type = typeOf(key);
  if (type === 'string' || type === undefined) return 'string';
  if (type === 'number' || type === 'integer') return 'number';
  if (type === 'boolean') return 'boolean';
  return 'json';
}

function compileMessage(
  ajv: Ajv,
  regex: (source: string) => LinearRegex,
  message: MessageOutline,
  where: string,
  problems: SpecDiagnostic[],
): MessageContract | null {
  const { name, schemaFormat: format, cloudEventsType } = message;
  const eventTypes = [name];
  if (typeof cloudEventsType === 'string' && cloudEventsType.length > 0) {
    if (cloudEventsType !== name) eventTypes.push(cloudEventsType);
  } else if (cloudEventsType !== undefined) {
    problems.push({
      path: `${where}.messages.${name}.${CLOUDEVENTS_TYPE_EXTENSION}`,
      message: 'must be a non-empty string (the CloudEvents type the message carries)',
      code: 'extension-type',
    });
  }
  const binary = binaryFormatOf(format);
  if (binary === undefined && !JSON_SCHEMA_FORMATS.test(format)) {
    problems.push({
      path: where,
      message: `message ${name}: unsupported schema format '${format}' (JSON Schema, AsyncAPI, Avro and Protobuf schemas are supported)`,
      code: 'unsupported-schema-format',
    });
    return null;
  }
  const keyBinary = message.keyFormat === undefined ? undefined : binaryFormatOf(message.keyFormat);
  if (
    message.keyFormat !== undefined &&
    keyBinary === undefined &&
    !JSON_SCHEMA_FORMATS.test(message.keyFormat)
  ) {
    problems.push({
      path: `${where}.messages.${name}.bindings.kafka.key`,
      message: `message ${name}: unsupported key schema format '${message.keyFormat}'`,
      code: 'unsupported-schema-format',
    });
    return null;
  }
  const compile = (schema: JsonSchema | null, part: string): ValidateFunction | null => {
    if (schema === null) return null;
    // Checked first so that a refusal names the pattern's place, which Ajv's error would not.
    const patterns = schemaPatternProblems(schema, `${where}.messages.${name}.${part}`, regex);
    if (patterns.length > 0) {
      problems.push(...patterns);
      return null;
    }
    try {
      return ajv.compile(schema);
    } catch (error) {
      const reason =
        error instanceof RangeError
          ? 'the schema is recursive, which the gateway cannot validate'
          : (error as Error).message;
      problems.push({
        path: where,
        message: `message ${name}: ${part} schema: ${reason}`,
        code: 'schema-compile',
      });
      return null;
    }
  };
  const compileBinary = (
    binaryFormat: 'avro' | 'protobuf',
    source: unknown,
    part: 'payload' | 'key',
  ): BinaryContract | null => {
    const path = `${where}.messages.${name}.${part === 'key' ? 'bindings.kafka.key' : 'payload'}`;
    const framing = framingOf(message.framing, binaryFormat);
    if (typeof framing === 'string') {
      problems.push({
        path: `${where}.messages.${name}.bindings.kafka`,
        message: framing,
        code: 'schema-framing',
      });
      return null;
    }
    try {
      return { schema: compileSchema(binaryFormat, source), framing };
    } catch (error) {
      problems.push({
        path,
        message: `message ${name}: ${part} schema: ${(error as Error).message}`,
        code: 'schema-compile',
      });
      return null;
    }
  };
  const { payload, headers, key } = message;
  const binaryValue =
    binary === undefined ? null : compileBinary(binary, message.payloadSource ?? payload, 'payload');
  const binaryKey = keyBinary === undefined ? null : compileBinary(keyBinary, message.keySource, 'key');
  return {
    name,
    value: binary === undefined ? compile(payload, 'payload') : null,
    key: keyBinary === undefined ? compile(key, 'key') : null,
    keyReading: keyReading(key),
    headers: compile(headers, 'headers'),
    headerReadings: headerReadings(headers),
    eventTypes,
    ...(binaryValue === null ? {} : { binaryValue }),
    ...(binaryKey === null ? {} : { binaryKey }),
  };
}

function registryOf(outline: SpecOutline, problems: SpecDiagnostic[]): ChannelContract['schemaRegistry'] {
  const named = outline.schemaRegistry;
  if (named === undefined) return undefined;
  const { url, vendor } = named;
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
    problems.push({
      path: 'servers',
      message: "the Kafka server binding's schemaRegistryUrl must be an http(s) URL",
      code: 'schema-registry',
    });
    return undefined;
  }
  return { url, vendor: typeof vendor === 'string' ? vendor : undefined };
}

/** Compiles every channel of a parsed document into contracts; refuses the document if any schema cannot be used. */
export function compileContracts(specId: string, outline: SpecOutline): ChannelContract[] {
  const regex = regexCache();
  const ajv = createAjv(regex);
  const problems: SpecDiagnostic[] = [];
  const contracts: ChannelContract[] = [];
  const schemaRegistry = registryOf(outline, problems);
  for (const channel of outline.channels) {
    const where = `channels.${channel.id}`;
    const messages = channel.messages
      .map((message) => compileMessage(ajv, regex, message, where, problems))
      .filter((m): m is MessageContract => m !== null);
    const extension = channel.failWhenInvalid;
    if (extension !== undefined && typeof extension !== 'boolean') {
      problems.push({
        path: `${where}.${FAIL_WHEN_INVALID_EXTENSION}`,
        message: 'must be true or false',
        code: 'extension-type',
      });
    }
    const observe = channel.observe;
    if (observe !== undefined && typeof observe !== 'boolean') {
      problems.push({
        path: `${where}.${OBSERVE_EXTENSION}`,
        message: 'must be true or false',
        code: 'extension-type',
      });
    }
    contracts.push({
      specId,
      channel: channel.id,
      topic: channel.topic,
      pattern: addressMatcher(channel.topic),
      messages,
      failWhenInvalid: typeof extension === 'boolean' ? extension : undefined,
      observe: typeof observe === 'boolean' ? observe : undefined,
      ...(schemaRegistry === undefined ? {} : { schemaRegistry }),
    });
  }
  if (problems.length > 0) throw new SpecError('the document cannot be enforced', problems);
  return contracts;
}
