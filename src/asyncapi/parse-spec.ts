import { Parser } from '@asyncapi/parser';
import { parse as parseYaml } from 'yaml';
import { SpecError, type SpecDiagnostic } from './spec-error';
import { outlineDocument, type SpecOutline } from './spec-outline';

/** Errors only: warnings and hints from the parser's ruleset do not refuse a document. */
const SEVERITY_ERROR = 0;

const parser = new Parser();
/**
 * The parser without its rulesets, for documents that passed them when they were accepted: the
 * rulesets are nearly all of a parse's time (about 250 ms for a small document, against 2 ms),
 * and a gateway reading a thousand stored specs at start would otherwise take minutes.
 */
const validatedParser = new Parser({ ruleset: { core: false, recommended: false } });

/** A document naming one of these formats needs the AsyncAPI project's parsers for them. */
const BINARY_SCHEMA_FORMAT = /vnd\.apache\.avro|vnd\.google\.protobuf/;
let binaryParsers: { checked: Parser; validated: Parser } | undefined;

/**
 * Parsers that read Avro and Protobuf payloads too, with the AsyncAPI project's own parsers for
 * those formats; loaded on the first such document, as most gateways never see one and the
 * Protobuf parser alone takes half a second to load.
 */
function withBinaryFormats(): { checked: Parser; validated: Parser } {
  if (binaryParsers !== undefined) return binaryParsers;
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { AvroSchemaParser } =
    require('@asyncapi/avro-schema-parser') as typeof import('@asyncapi/avro-schema-parser');
  const { ProtoBuffSchemaParser } =
    require('@asyncapi/protobuf-schema-parser') as typeof import('@asyncapi/protobuf-schema-parser');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const schemaParsers = [AvroSchemaParser(), ProtoBuffSchemaParser()];
  binaryParsers = {
    checked: new Parser({ schemaParsers }),
    validated: new Parser({ ruleset: { core: false, recommended: false }, schemaParsers }),
  };
  return binaryParsers;
}

/**
 * Every `$ref` must point inside the document. Resolving anything else would make the gateway
 * read files or fetch URLs chosen by whoever uploads a spec.
 */
function findExternalRefs(node: unknown, path: string[], found: SpecDiagnostic[]): void {
  if (found.length >= 20 || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    node.forEach((item, index) => findExternalRefs(item, [...path, String(index)], found));
    return;
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && !value.startsWith('#')) {
      found.push({
        path: path.join('.'),
        message: `$ref '${value}' points outside the document; only local references (#/...) are allowed`,
        code: 'external-ref',
      });
    } else {
      findExternalRefs(value, [...path, key], found);
    }
  }
}

/**
 * Parses and checks an AsyncAPI 2.x or 3.x document (YAML or JSON), refusing it with the parser's
 * own diagnostics. The gateway runs this in a worker thread (spec-parser.ts): parsing takes long
 * enough to stall traffic, and the parser is the largest thing the gateway would otherwise keep in
 * the heap its garbage collector walks.
 */
export async function parseSpec(text: string, source: string, validated = false): Promise<SpecOutline> {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new SpecError('the document is neither YAML nor JSON', [
      { path: '', message: (error as Error).message },
    ]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SpecError('the document must be a YAML or JSON object');
  }
  const version = (raw as { asyncapi?: unknown }).asyncapi;
  if (typeof version !== 'string' || !/^(2\.[0-6]|3\.[01])\.\d+$/.test(version)) {
    throw new SpecError('unsupported document', [
      {
        path: 'asyncapi',
        message: `AsyncAPI version ${JSON.stringify(version ?? null)} is not supported (2.0-2.6 and 3.0-3.1 are)`,
      },
    ]);
  }
  const external: SpecDiagnostic[] = [];
  findExternalRefs(raw, [], external);
  if (external.length > 0) throw new SpecError('the document references external resources', external);

  const parsers = BINARY_SCHEMA_FORMAT.test(text)
    ? withBinaryFormats()
    : { checked: parser, validated: validatedParser };
  const { document, diagnostics } = await (validated ? parsers.validated : parsers.checked).parse(text, {
    source,
  });
  const toDiagnostic = (d: (typeof diagnostics)[number]): SpecDiagnostic => ({
    message: d.message,
    path: d.path.join('.'),
    code: String(d.code),
  });
  const errors = diagnostics.filter((d) => d.severity === SEVERITY_ERROR).map(toDiagnostic);
  if (document === undefined || errors.length > 0)
    throw new SpecError('the document is not a valid AsyncAPI document', errors);
  const warnings = diagnostics.filter((d) => d.severity !== SEVERITY_ERROR).map(toDiagnostic);
  return outlineDocument(document, version, warnings);
}
