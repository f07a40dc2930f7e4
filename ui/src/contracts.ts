import { parse } from 'yaml';
import { ApiFailure, call, get, type Session } from './api';
import { errorBox, h, replace } from './dom';
import type { Page } from './page';
import { channelMessages, schemaTree } from './schema';
import { lineOfPath } from './yaml-lines';

export interface Diagnostic {
  message: string;
  path: string;
  code?: string;
}
interface Summary {
  id: string;
  asyncapi: string;
  title: string;
  version: string;
  source: 'file' | 'api';
  loadedAt: string;
  loadedBy?: string;
  revision?: string;
  channels: { channel: string; topic: string; messages: string[]; failWhenInvalid?: boolean }[];
  warnings: Diagnostic[];
}
interface Revisions {
  revisions: { revision: string; updatedAt: string; by?: string }[];
}

const CONTEXT = 2;

/** The document's lines around each diagnostic, the diagnostic under the line it is about. */
export function annotated(text: string, diagnostics: readonly Diagnostic[]): HTMLElement {
  const lines = text.split('\n');
  const at = new Map<number, Diagnostic[]>();
  const unplaced: Diagnostic[] = [];
  for (const diagnostic of diagnostics) {
    const line = lineOfPath(text, diagnostic.path);
    if (line === null) unplaced.push(diagnostic);
    else at.set(line, [...(at.get(line) ?? []), diagnostic]);
  }
  const shown = new Set<number>();
  for (const line of at.keys())
    for (let n = Math.max(1, line - CONTEXT); n <= Math.min(lines.length, line + CONTEXT); n++) shown.add(n);
  const rows: HTMLElement[] = [];
  let last = 0;
  for (const n of [...shown].sort((a, b) => a - b)) {
    if (n > last + 1) rows.push(h('div', { class: 'gap' }, '⋯'));
    last = n;
    const here = at.get(n);
    rows.push(
      h(
        'div',
        { class: `line${here ? ' marked' : ''}`, 'data-line': n },
        h('span', { class: 'no' }, n),
        h('code', {}, lines[n - 1]),
      ),
    );
    for (const d of here ?? [])
      rows.push(
        h(
          'div',
          { class: 'diagnostic' },
          `line ${n}: ${d.message}`,
          d.path ? h('span', { class: 'muted' }, ` (${d.path})`) : null,
        ),
      );
  }
  return h(
    'div',
    { class: 'diagnostics' },
    unplaced.map((d) => h('div', { class: 'diagnostic' }, d.path ? `${d.path}: ${d.message}` : d.message)),
    rows,
  );
}

function editor(existing: Summary | undefined, initialText: string, done: (id: string) => void): HTMLElement {
  const id = h('input', {
    type: 'text',
    name: 'spec-id',
    value: existing?.id ?? '',
    required: true,
    pattern: '[A-Za-z0-9][A-Za-z0-9._-]{0,127}',
    readonly: existing !== undefined,
  });
  const text = h('textarea', {
    name: 'document',
    rows: 18,
    spellcheck: false,
    placeholder: 'asyncapi: 3.0.0\ninfo: …',
  });
  text.value = initialText;
  const file = h('input', { type: 'file', accept: '.yaml,.yml,.json' });
  const upload = h('button', { type: 'button', class: 'primary', disabled: true }, 'Upload');
  const result = h('div', { class: 'result' });
  let checkedText: string | null = null;
  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    if (chosen === undefined) return;
    text.value = await chosen.text();
    if (id.value === '') id.value = chosen.name.replace(/\.(ya?ml|json)$/i, '');
    invalidate();
  });
  const invalidate = () => {
    checkedText = null;
    upload.disabled = true;
  };
  text.addEventListener('input', invalidate);
  id.addEventListener('input', invalidate);
  const headers = () => ({
    'content-type': 'application/yaml',
    ...(existing?.revision ? { 'if-match': `"${existing.revision}"` } : {}),
  });
  const check = async () => {
    replace(result, h('p', { class: 'muted' }, 'Checking…'));
    try {
      const answer = await call<Summary>('PUT', `/specs/${encodeURIComponent(id.value)}?dryRun=true`, {
        body: text.value,
        headers: headers(),
      });
      checkedText = text.value;
      upload.disabled = false;
      const s = answer.body;
      replace(
        result,
        h(
          'p',
          { class: 'ok' },
          `Valid: ${s.title} ${s.version} (AsyncAPI ${s.asyncapi}), ${s.channels.length} channel(s): ${s.channels.map((c) => c.topic).join(', ')}. Nothing is changed until you upload.`,
        ),
        s.warnings.length === 0 ? null : [h('p', {}, 'Warnings:'), annotated(text.value, s.warnings)],
      );
    } catch (error) {
      const diagnostics =
        error instanceof ApiFailure && Array.isArray(error.body.diagnostics)
          ? (error.body.diagnostics as Diagnostic[])
          : [];
      replace(
        result,
        errorBox(
          error instanceof ApiFailure && diagnostics.length > 0
            ? 'The document is refused; nothing changed.'
            : error,
        ),
        diagnostics.length > 0 ? annotated(text.value, diagnostics) : null,
      );
    }
  };
  upload.addEventListener('click', async () => {
    if (checkedText !== text.value) return;
    try {
      await call('PUT', `/specs/${encodeURIComponent(id.value)}`, { body: text.value, headers: headers() });
      done(id.value);
    } catch (error) {
      replace(result, errorBox(error));
    }
  });
  const form = h(
    'form',
    { class: 'editor' },
    h('h2', {}, existing ? `Replace ${existing.id}` : 'Upload a spec'),
    h('label', {}, 'Spec id', id),
    h('label', {}, 'From a file', file),
    h('label', {}, 'Document (YAML or JSON)', text),
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Check'), upload),
    result,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void check();
  });
  return form;
}

/** Specs: what each declares, its schemas, its revisions; uploads checked before they change anything. */
export function contractsPage(session: Session, selected?: string): Page {
  const root = h('section', { class: 'contracts' });
  const admin = session.role === 'admin';
  const go = (id?: string) => {
    const target = id === undefined ? '#/contracts' : `#/contracts/${encodeURIComponent(id)}`;
    // Setting the hash it already has fires nothing; the page must still show what changed.
    if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = target;
  };

  const showList = async () => {
    const { specs } = await get<{ specs: Summary[] }>('/specs');
    const newButton = admin
      ? h(
          'button',
          { type: 'button', class: 'primary', onclick: () => replace(root, editor(undefined, '', go)) },
          'Upload a spec',
        )
      : null;
    replace(
      root,
      newButton,
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['spec', 'title', 'version', 'source', 'topics', 'revision', 'loaded'].map((t) => h('th', {}, t)),
          ),
        ),
        h(
          'tbody',
          {},
          specs.map((s) =>
            h(
              'tr',
              {},
              h('td', {}, h('a', { href: `#/contracts/${encodeURIComponent(s.id)}` }, s.id)),
              h('td', {}, s.title),
              h('td', {}, s.version),
              h('td', {}, s.source),
              h(
                'td',
                {},
                s.channels.map((c) => h('code', { class: 'topic' }, c.topic)),
              ),
              h('td', {}, s.revision ?? '—'),
              h('td', {}, `${new Date(s.loadedAt).toLocaleString()}${s.loadedBy ? ` by ${s.loadedBy}` : ''}`),
            ),
          ),
        ),
      ),
    );
  };

  const showSpec = async (id: string) => {
    const spec = await get<Summary>(`/specs/${encodeURIComponent(id)}`);
    const text = (await call<string>('GET', `/specs/${encodeURIComponent(id)}/document`, { text: true }))
      .body;
    let document: unknown = null;
    try {
      document = parse(text);
    } catch {
      // Shown as the summary alone; the gateway accepted it, so this is the console's shortcoming.
    }
    const revisions =
      spec.source === 'api'
        ? (await get<Revisions>(`/specs/${encodeURIComponent(id)}/revisions`)).revisions
        : [];
    const revisionList = h('div', { class: 'revisions' });
    const rollback = async (revision: string) => {
      const past = (
        await call<string>('GET', `/specs/${encodeURIComponent(id)}/revisions/${revision}/document`, {
          text: true,
        })
      ).body;
      replace(root, editor(spec, past, go));
    };
    replace(
      revisionList,
      revisions.length === 0
        ? h(
            'p',
            { class: 'muted' },
            spec.source === 'file' ? 'Loaded from a file: no revisions.' : 'No revisions kept.',
          )
        : h(
            'table',
            {},
            h(
              'tbody',
              {},
              revisions.map((r) =>
                h(
                  'tr',
                  {},
                  h(
                    'td',
                    {},
                    r.revision === spec.revision ? h('strong', {}, `${r.revision} (in force)`) : r.revision,
                  ),
                  h('td', {}, new Date(r.updatedAt).toLocaleString()),
                  h('td', {}, r.by ?? ''),
                  h(
                    'td',
                    {},
                    admin && r.revision !== spec.revision
                      ? h(
                          'button',
                          { type: 'button', onclick: () => void rollback(r.revision) },
                          'Roll back to this…',
                        )
                      : null,
                  ),
                ),
              ),
            ),
          ),
    );
    replace(
      root,
      h('p', {}, h('a', { href: '#/contracts' }, '← all specs')),
      h('h2', {}, `${spec.id}: ${spec.title} ${spec.version}`),
      h(
        'p',
        { class: 'muted' },
        `AsyncAPI ${spec.asyncapi} · from ${spec.source === 'file' ? 'a file' : 'the API'} · loaded ${new Date(spec.loadedAt).toLocaleString()}${spec.loadedBy ? ` by ${spec.loadedBy}` : ''}${spec.revision ? ` · revision ${spec.revision}` : ''}`,
      ),
      admin && spec.source === 'api'
        ? h(
            'div',
            { class: 'buttons' },
            h('button', { type: 'button', onclick: () => replace(root, editor(spec, text, go)) }, 'Replace…'),
            h(
              'button',
              {
                type: 'button',
                class: 'danger',
                onclick: async () => {
                  if (!confirm(`Delete spec ${spec.id}? Its topics are no longer checked against it.`))
                    return;
                  await call('DELETE', `/specs/${encodeURIComponent(id)}`);
                  go();
                },
              },
              'Delete',
            ),
          )
        : null,
      spec.warnings.length === 0 ? null : [h('h3', {}, 'Parser warnings'), annotated(text, spec.warnings)],
      h('h3', {}, 'Channels'),
      spec.channels.map((c) =>
        h(
          'div',
          { class: 'channel' },
          h(
            'h4',
            {},
            h('span', { class: 'muted' }, `${c.channel} → `),
            h('code', { class: 'topic' }, c.topic),
            c.failWhenInvalid === undefined
              ? null
              : h(
                  'span',
                  { class: 'facet' },
                  c.failWhenInvalid ? 'rejects invalid records' : 'tags invalid records',
                ),
          ),
          channelMessages(document, c.channel)
            .filter((m) => c.messages.length === 0 || c.messages.includes(m.name))
            .map((m) =>
              h(
                'details',
                { open: true, class: 'message' },
                h(
                  'summary',
                  {},
                  h('strong', {}, m.name),
                  m.contentType ? h('span', { class: 'muted' }, ` ${m.contentType}`) : null,
                ),
                m.key === undefined ? null : h('div', {}, h('em', {}, 'key '), schemaTree(document, m.key)),
                m.headers === undefined
                  ? null
                  : h('div', {}, h('em', {}, 'headers '), schemaTree(document, m.headers)),
                h('div', {}, h('em', {}, 'payload '), schemaTree(document, m.payload)),
              ),
            ),
        ),
      ),
      h('h3', {}, 'Revisions'),
      revisionList,
      h('details', {}, h('summary', {}, 'Document'), h('pre', { class: 'document' }, text)),
    );
  };

  return {
    title: 'Contracts',
    element: root,
    start() {
      (selected === undefined ? showList() : showSpec(selected)).catch((error: unknown) =>
        replace(root, errorBox(error)),
      );
    },
    stop() {},
  };
}
