import * as messages from '../../../../src/protocol/messages';
import { SCHEMAS } from './support/schemas';

/** PRODUCE_REQUEST for ProduceRequest, as the generator names a message's constants. */
function prefix(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toUpperCase();
}

type Span = { lowest: number; highest: number };

describe('generated version facts', () => {
  it.each(SCHEMAS.map((schema) => [schema.name, schema] as const))(
    '%s exports its versions and the fields that exist in only some of them',
    (_, schema) => {
      const exported = messages as unknown as Record<string, unknown>;
      const [lowest, highest] = schema.validVersions;
      expect(exported[`${prefix(schema.name)}_VERSIONS`]).toEqual({
        lowest,
        highest,
        firstFlexible:
          schema.flexibleVersions === null || schema.flexibleVersions[0] > highest
            ? null
            : Math.max(schema.flexibleVersions[0], lowest),
      });

      const expected: Record<string, Record<string, Span>> = {};
      for (const [struct, { versions, fields }] of Object.entries(schema.structs)) {
        for (const field of fields) {
          const lo = Math.max(field.versions[0], versions[0]);
          const hi = Math.min(field.versions[1], versions[1]);
          if (lo === versions[0] && hi === versions[1]) continue;
          (expected[struct] ??= {})[field.name] = { lowest: lo, highest: hi };
        }
      }
      expect(exported[`${prefix(schema.name)}_FIELD_VERSIONS`]).toEqual(expected);
    },
  );
});
