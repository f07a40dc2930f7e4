import type { JsonSchema } from '../pipeline/middleware';
import { ALL_FORMATS, bestFormat, formatsOf } from './string-formats';

/**
 * What the inference gives up on, so that hostile samples cost linear time and bounded memory.
 * Every limit widens the schema rather than narrowing it: the draft still accepts every sample.
 */
export interface SketchLimits {
  /** Values nested deeper than this are not looked into; the schema accepts anything there. */
  maxDepth: number;
  /** Named properties per object; keys first seen after that share one `additionalProperties` schema. */
  maxProperties: number;
  /** A string field becomes an enum only with at most this many distinct values... */
  enumMaxValues: number;
  /** ...seen at least this many times... */
  enumMinStrings: number;
  /** ...each distinct value standing for at least this many occurrences on average... */
  enumMinRepeats: number;
  /** ...and none longer than this. */
  enumMaxLength: number;
}

export const DEFAULT_SKETCH_LIMITS: SketchLimits = {
  maxDepth: 32,
  maxProperties: 256,
  enumMaxValues: 10,
  enumMinStrings: 20,
  enumMinRepeats: 4,
  enumMaxLength: 100,
};

const NULL = 1;
const BOOLEAN = 2;
const INTEGER = 4;
const NUMBER = 8;
const STRING = 16;
const OBJECT = 32;
const ARRAY = 64;
const TYPE_NAMES: [number, string][] = [
  [OBJECT, 'object'],
  [ARRAY, 'array'],
  [STRING, 'string'],
  [INTEGER, 'integer'],
  [NUMBER, 'number'],
  [BOOLEAN, 'boolean'],
  [NULL, 'null'],
];

/**
 * Property names that would not survive the trip through an AsyncAPI document as names: a JSON
 * reference resolver takes any object with a `$ref` key for a reference. Such keys are described
 * by `additionalProperties` instead.
 */
const UNNAMEABLE = new Set(['$ref']);

interface PropertySketch {
  sketch: SchemaSketch;
  /** In how many of the objects it was present. */
  present: number;
}

/**
 * A summary of every value seen at one place of the samples (the root, a property, the items of
 * an array), folded in one value at a time: the work per value is constant besides its children,
 * so sketching samples is linear in their size, and `schema()` is linear in the sketch's.
 */
export class SchemaSketch {
  private types = 0;
  private strings = 0;
  private formats = ALL_FORMATS;
  /** The distinct strings, while few enough to make an enum; null once they are not. */
  private distinct: Set<string> | null = new Set();
  private objects = 0;
  private properties: Map<string, PropertySketch> | null = null;
  private rest: SchemaSketch | null = null;
  private items: SchemaSketch | null = null;
  /** Something at this place was nested deeper than maxDepth: the schema accepts anything here. */
  private opaque = false;

  constructor(
    private readonly limits: SketchLimits = DEFAULT_SKETCH_LIMITS,
    private readonly depth = 0,
  ) {}

  /** Folds in one value (parsed JSON). */
  add(value: unknown): void {
    if (this.depth >= this.limits.maxDepth) {
      this.opaque = true;
      return;
    }
    if (value === null) this.types |= NULL;
    else if (typeof value === 'boolean') this.types |= BOOLEAN;
    else if (typeof value === 'number') this.types |= Number.isInteger(value) ? INTEGER : NUMBER;
    else if (typeof value === 'string') this.addString(value);
    else if (Array.isArray(value)) this.addArray(value);
    else if (typeof value === 'object') this.addObject(value as Record<string, unknown>);
    // Anything else (undefined, functions) cannot come out of JSON; callers only pass parsed JSON.
  }

  private addString(text: string): void {
    this.types |= STRING;
    this.strings++;
    this.formats = formatsOf(text, this.formats);
    const distinct = this.distinct;
    if (distinct === null || distinct.has(text)) return;
    if (text.length > this.limits.enumMaxLength || distinct.size >= this.limits.enumMaxValues) {
      this.distinct = null;
      return;
    }
    distinct.add(text);
  }

  private addArray(values: unknown[]): void {
    this.types |= ARRAY;
    if (values.length === 0) return;
    const items = (this.items ??= this.child());
    for (const value of values) items.add(value);
  }

  private addObject(object: Record<string, unknown>): void {
    this.types |= OBJECT;
    this.objects++;
    const properties = (this.properties ??= new Map());
    for (const name of Object.keys(object)) {
      const value = object[name];
      let property = properties.get(name);
      if (property === undefined) {
        if (properties.size >= this.limits.maxProperties || UNNAMEABLE.has(name)) {
          (this.rest ??= this.child()).add(value);
          continue;
        }
        property = { sketch: this.child(), present: 0 };
        properties.set(name, property);
      }
      property.present++;
      property.sketch.add(value);
    }
  }

  private child(): SchemaSketch {
    return new SchemaSketch(this.limits, this.depth + 1);
  }

  /** Whether any value was folded in. */
  get empty(): boolean {
    return this.types === 0 && !this.opaque;
  }

  /**
   * The narrowest schema this sketch can vouch for: every value folded in is valid under it.
   * Keywords apply per type (`properties` to objects, `format` to strings), so one schema with a
   * list of types describes a place that held several; only `enum` constrains every type and is
   * given only to places that held nothing but strings (and null).
   */
  schema(): Record<string, unknown> {
    if (this.opaque || this.types === 0) return {};
    let types = this.types;
    if ((types & NUMBER) !== 0) types &= ~INTEGER;
    const names = TYPE_NAMES.filter(([bit]) => (types & bit) !== 0).map(([, name]) => name);
    const schema: Record<string, unknown> = { type: names.length === 1 ? names[0] : names };
    if ((types & STRING) !== 0) {
      const values = this.enumValues(types);
      if (values !== null) schema.enum = values;
      else {
        const format = bestFormat(this.formats);
        if (format !== undefined) schema.format = format;
      }
    }
    if ((types & OBJECT) !== 0 && this.properties !== null) {
      const required: string[] = [];
      const properties: [string, Record<string, unknown>][] = [];
      for (const [name, property] of this.properties) {
        properties.push([name, property.sketch.schema()]);
        if (property.present === this.objects) required.push(name);
      }
      // fromEntries defines own properties: a field named __proto__ stays a field.
      if (properties.length > 0) schema.properties = Object.fromEntries(properties);
      if (required.length > 0) schema.required = required;
      if (this.rest !== null) schema.additionalProperties = this.rest.schema();
    }
    if ((types & ARRAY) !== 0 && this.items !== null) schema.items = this.items.schema();
    return schema;
  }

  /** The enum rule (docs/discovery.md): few distinct strings, each seen often. */
  private enumValues(types: number): (string | null)[] | null {
    const distinct = this.distinct;
    const { enumMinStrings, enumMinRepeats } = this.limits;
    if (distinct === null || (types & ~(STRING | NULL)) !== 0) return null;
    if (this.strings < enumMinStrings || distinct.size * enumMinRepeats > this.strings) return null;
    const values: (string | null)[] = [...distinct];
    if ((types & NULL) !== 0) values.push(null);
    return values;
  }
}

/** The schema of a list of parsed JSON values. */
export function inferSchema(values: Iterable<unknown>, limits?: SketchLimits): JsonSchema {
  const sketch = new SchemaSketch(limits);
  for (const value of values) sketch.add(value);
  return sketch.schema();
}
