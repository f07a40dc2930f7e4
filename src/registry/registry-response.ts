import type { SchemaReference, SchemaType } from './schema-lookup';

/**
 * Reading a registry's JSON answers. A registry is a remote service the gateway does not control:
 * anything that is not the documented shape is reported as such, never trusted or thrown.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const SCHEMA_TYPES: ReadonlySet<string> = new Set(['AVRO', 'PROTOBUF', 'JSON']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseJson(text: string): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: 'the registry answered with a body that is not JSON' };
  }
}

/** A schema type as registries spell it; Confluent omits it for Avro. */
export function parseSchemaType(value: unknown): SchemaType | undefined {
  if (value === undefined || value === null) return 'AVRO';
  if (typeof value !== 'string') return undefined;
  const upper = value.toUpperCase();
  return SCHEMA_TYPES.has(upper) ? (upper as SchemaType) : undefined;
}

function parseVersion(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

/**
 * References as the Confluent API lists them ({name, subject, version}) or as Apicurio's own API
 * does ({name, groupId, artifactId, version}): the artifact id is the subject there.
 */
export function parseReferences(value: unknown): Parsed<SchemaReference[]> {
  if (value === undefined || value === null) return { ok: true, value: [] };
  if (!Array.isArray(value))
    return { ok: false, reason: 'the registry answered with references that are not a list' };
  const references: SchemaReference[] = [];
  for (const entry of value as unknown[]) {
    if (!isObject(entry))
      return { ok: false, reason: 'the registry answered with a reference that is not an object' };
    const subject = entry.subject ?? entry.artifactId;
    const version = parseVersion(entry.version);
    if (typeof entry.name !== 'string' || typeof subject !== 'string' || version === undefined) {
      return { ok: false, reason: 'the registry answered with a reference lacking name, subject or version' };
    }
    references.push({ name: entry.name, subject, version });
  }
  return { ok: true, value: references };
}

export interface ConfluentSchemaBody {
  schema: string;
  schemaType: SchemaType;
  references: SchemaReference[];
}

/** The body of Confluent's GET /schemas/ids/{id}. */
export function parseConfluentSchema(body: unknown): Parsed<ConfluentSchemaBody> {
  if (!isObject(body) || typeof body.schema !== 'string') {
    return { ok: false, reason: 'the registry answered without a schema string' };
  }
  const schemaType = parseSchemaType(body.schemaType);
  if (schemaType === undefined) {
    return { ok: false, reason: `the registry answered with an unsupported schema type` };
  }
  const references = parseReferences(body.references);
  if (!references.ok) return references;
  return { ok: true, value: { schema: body.schema, schemaType, references: references.value } };
}

/** Confluent's error body ({error_code, message}); 40403 is "schema not found". */
export function confluentErrorCode(body: unknown): number | undefined {
  return isObject(body) && typeof body.error_code === 'number' ? body.error_code : undefined;
}

/** The artifact type of the first version in Apicurio's GET /search/versions answer. */
export function parseApicurioSearch(body: unknown): Parsed<SchemaType | undefined> {
  if (!isObject(body) || !Array.isArray(body.versions)) {
    return { ok: false, reason: 'the registry answered a version search without a list of versions' };
  }
  const first: unknown = body.versions[0];
  if (first === undefined) return { ok: true, value: undefined };
  if (!isObject(first))
    return { ok: false, reason: 'the registry answered a version search with a non-object' };
  const type = parseSchemaType(first.artifactType ?? '');
  if (type === undefined)
    return { ok: false, reason: 'the artifact is of a type other than Avro, Protobuf or JSON Schema' };
  return { ok: true, value: type };
}

/** Apicurio's problem-details error body: a 404 naming a not-found exception means "no such id". */
export function isApicurioNotFound(body: unknown): boolean {
  return isObject(body) && typeof body.name === 'string' && /NotFoundException$/.test(body.name);
}
