import { h } from './dom';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Follows a local `$ref` (`#/components/...`); the gateway refuses documents with any other kind. */
export function resolve(document: unknown, value: unknown, depth = 0): unknown {
  if (!isObject(value) || typeof value.$ref !== 'string' || depth > 20) return value;
  const pointer = value.$ref.replace(/^#\/?/, '').split('/').filter(Boolean);
  let node: unknown = document;
  for (const part of pointer) {
    const key = decodeURIComponent(part.replace(/~1/g, '/').replace(/~0/g, '~'));
    node = isObject(node) || Array.isArray(node) ? (node as Json)[key] : undefined;
  }
  return resolve(document, node, depth + 1);
}

export interface MessageView {
  name: string;
  contentType?: string;
  payload?: unknown;
  headers?: unknown;
  key?: unknown;
}

/** The messages a channel carries, for AsyncAPI 3 (channel.messages) and 2 (publish/subscribe). */
export function channelMessages(document: unknown, channelName: string): MessageView[] {
  const channels = (isObject(document) ? document.channels : undefined) as Json | undefined;
  const channel = resolve(document, channels?.[channelName]);
  if (!isObject(channel)) return [];
  const found: [string, unknown][] = [];
  if (isObject(channel.messages)) {
    for (const [name, message] of Object.entries(channel.messages)) found.push([name, message]);
  }
  for (const operation of ['publish', 'subscribe']) {
    const op = channel[operation];
    if (!isObject(op)) continue;
    const message = resolve(document, op.message);
    const list = isObject(message) && Array.isArray(message.oneOf) ? message.oneOf : [op.message];
    list.forEach((entry, i) => {
      const ref =
        isObject(entry) && typeof entry.$ref === 'string' ? entry.$ref.split('/').at(-1) : undefined;
      found.push([ref ?? `${operation}${list.length > 1 ? ` ${i + 1}` : ''}`, entry]);
    });
  }
  return found.map(([fallback, raw]) => {
    const message = resolve(document, raw);
    if (!isObject(message)) return { name: fallback };
    const kafka =
      isObject(message.bindings) && isObject(message.bindings.kafka) ? message.bindings.kafka : {};
    return {
      name: typeof message.name === 'string' ? message.name : fallback,
      contentType: typeof message.contentType === 'string' ? message.contentType : undefined,
      payload: resolve(document, message.payload),
      headers: resolve(document, message.headers),
      key: resolve(document, kafka.key),
    };
  });
}

const FACETS = [
  'format',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'const',
  'default',
];

function typeOf(schema: Json): string {
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  if (typeof schema.type === 'string') return schema.type;
  if (schema.enum !== undefined) return 'enum';
  for (const k of ['oneOf', 'anyOf', 'allOf']) if (Array.isArray(schema[k])) return k;
  return isObject(schema.properties) ? 'object' : 'any';
}

/** A JSON Schema as a nested list: name, type, required, constraints and description. */
export function schemaTree(document: unknown, raw: unknown, depth = 0): HTMLElement {
  const schema = resolve(document, raw);
  if (!isObject(schema))
    return h('span', { class: 'muted' }, schema === undefined ? 'none' : JSON.stringify(schema));
  if (depth > 8) return h('span', { class: 'muted' }, '…');
  const facets = FACETS.filter((f) => schema[f] !== undefined).map((f) =>
    h('span', { class: 'facet' }, `${f}: ${JSON.stringify(schema[f])}`),
  );
  if (Array.isArray(schema.enum))
    facets.push(
      h('span', { class: 'facet' }, `one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`),
    );
  const head = h(
    'span',
    {},
    h('span', { class: 'type' }, typeOf(schema)),
    facets,
    typeof schema.description === 'string' ? h('span', { class: 'desc' }, schema.description) : null,
  );
  const required = new Set(Array.isArray(schema.required) ? schema.required.map(String) : []);
  const children: HTMLElement[] = [];
  if (isObject(schema.properties)) {
    for (const [name, property] of Object.entries(schema.properties)) {
      children.push(
        h(
          'li',
          {},
          h('code', { class: 'prop' }, name),
          required.has(name) ? h('span', { class: 'req', title: 'required' }, '*') : null,
          ' ',
          schemaTree(document, property, depth + 1),
        ),
      );
    }
  }
  if (schema.items !== undefined)
    children.push(
      h(
        'li',
        {},
        h('code', { class: 'prop' }, '[items]'),
        ' ',
        schemaTree(document, schema.items, depth + 1),
      ),
    );
  for (const k of ['oneOf', 'anyOf', 'allOf']) {
    const list = schema[k];
    if (Array.isArray(list))
      list.forEach((option, i) =>
        children.push(
          h(
            'li',
            {},
            h('code', { class: 'prop' }, `${k}[${i}]`),
            ' ',
            schemaTree(document, option, depth + 1),
          ),
        ),
      );
  }
  return children.length === 0 ? head : h('span', {}, head, h('ul', { class: 'schema' }, children));
}
