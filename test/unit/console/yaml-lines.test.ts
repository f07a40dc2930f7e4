import { lineOfPath } from '../../../ui/src/yaml-lines';

const SPEC = `asyncapi: 3.0.0
info:
  title: Lights
  version: 1.0.0
channels:
  lighting.measured:
    address: lighting
    messages:
      lightMeasured:
        payload:
          type: object
          properties:
            lumens:
              type: numbr
`;

describe('the line a diagnostic path points at', () => {
  it('finds a nested key, keys with dots in them included', () => {
    expect(
      lineOfPath(SPEC, 'channels.lighting.measured.messages.lightMeasured.payload.properties.lumens.type'),
    ).toBe(14);
    expect(lineOfPath(SPEC, 'info.version')).toBe(4);
  });

  it('falls back to the deepest part of the path that is there', () => {
    expect(lineOfPath(SPEC, 'info.contact.email')).toBe(2);
  });

  it('reads JSON documents and sequence indexes', () => {
    const json = '{\n  "tags": [\n    {"name": "a"},\n    {"name": 1}\n  ]\n}';
    expect(lineOfPath(json, 'tags.1.name')).toBe(4);
  });

  it('gives the first line for the whole document', () => {
    expect(lineOfPath(SPEC, '')).toBe(1);
  });
});
