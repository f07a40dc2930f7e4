import type { JsonReading } from '../patterns/record-json';
import type { RecordHeader } from '../serdes/schema-framing';
import type { BinaryFormat } from '../serdes/binary-codec';
import { Frame } from '../serdes/schema-framing';
import type { ChannelContract } from './channel-contract';

/** An Avro or Protobuf value decoded with its contract's schema, for what reads values as JSON. */
export interface DecodedValue {
  reading: JsonReading;
  format: BinaryFormat;
  /** The schema id the record carried, when its framing has one. */
  schemaId?: number;
}

/** Whether a channel's values are Avro or Protobuf (so JSON readers must be given decoded values). */
export function hasBinaryValues(contract: ChannelContract | undefined): contract is ChannelContract {
  return contract !== undefined && contract.messages.some((message) => message.binaryValue !== undefined);
}

const frame = new Frame();

/**
 * The value of a record of a channel whose contract is Avro or Protobuf, decoded as JSON data
 * (the tap, the filter's patterns and discovery see this instead of the bytes); undefined when
 * the channel's values are not binary. Bytes are checked before they are decoded, so decoding is
 * bounded as the check is; bytes that are no value of the schema read as not JSON, as invalid
 * JSON text does.
 */
export function decodeBinaryValue(
  contract: ChannelContract | undefined,
  value: Buffer | null,
  headers: readonly RecordHeader[],
): DecodedValue | undefined {
  if (!hasBinaryValues(contract)) return undefined;
  let failure: DecodedValue | undefined;
  for (const message of contract.messages) {
    const binary = message.binaryValue;
    if (binary === undefined) continue;
    const { schema, framing } = binary;
    if (value === null) return { reading: { ok: true, data: null }, format: schema.format };
    const problem = frame.read(framing, value, headers, 'value');
    const schemaId = frame.id >= 0 ? frame.id : undefined;
    const indexes = framing.messageIndexes ? [...frame.indexes] : null;
    const reason = problem ?? schema.check(value, frame.start, value.length, indexes);
    if (reason !== null) {
      failure ??= {
        reading: { ok: false, reason: `value is not ${schema.format}: ${reason}` },
        format: schema.format,
      };
      continue;
    }
    try {
      return {
        reading: { ok: true, data: schema.decode(value, frame.start, value.length, indexes) },
        format: schema.format,
        ...(schemaId === undefined ? {} : { schemaId }),
      };
    } catch (error) {
      failure ??= {
        reading: { ok: false, reason: `value is not ${schema.format}: ${(error as Error).message}` },
        format: schema.format,
      };
    }
  }
  return failure;
}
