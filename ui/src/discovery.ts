import { ApiFailure, call, get, type Session } from './api';
import { annotated, type Diagnostic } from './contracts';
import { errorBox, h, replace } from './dom';
import type { Page } from './page';
import { SPEC_ID, specIdFor } from './spec-id';

interface TopicSampling {
  topic: string;
  seen: number;
  sampled: number;
  oversized: number;
  lastSeenAt: string;
  described: boolean;
  headers: string[];
}
interface Discovered {
  enabled: boolean;
  topics: TopicSampling[];
}
interface Checked {
  title: string;
  version: string;
  channels: { topic: string }[];
  warnings: Diagnostic[];
}

/** The draft as the gateway sent it, indented for reading when it is JSON. */
function indented(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/**
 * Adopting checks first and then uploads the draft exactly as the gateway drafted it: the promise
 * that it accepts every sampled record holds for that text, not for one the console reworked.
 */
function adoptForm(topic: string, draft: string, done: (id: string) => void): HTMLElement {
  const id = h('input', {
    type: 'text',
    name: 'spec-id',
    value: specIdFor(topic),
    required: true,
    pattern: SPEC_ID.source.slice(1, -1),
  });
  const adopt = h('button', { type: 'button', class: 'primary', disabled: true }, 'Adopt as contract');
  const result = h('div', { class: 'result' });
  let checkedId: string | null = null;
  id.addEventListener('input', () => {
    checkedId = null;
    adopt.disabled = true;
  });
  // If-None-Match: adopting never replaces a spec that happens to have the same id.
  const headers = { 'content-type': 'application/json', 'if-none-match': '*' };
  const refused = (error: unknown): HTMLElement[] => {
    if (error instanceof ApiFailure && error.status === 412)
      return [errorBox(`A spec named ${id.value} exists already: choose another id.`)];
    const diagnostics =
      error instanceof ApiFailure && Array.isArray(error.body.diagnostics)
        ? (error.body.diagnostics as Diagnostic[])
        : [];
    return diagnostics.length === 0
      ? [errorBox(error)]
      : [errorBox('The draft is refused; nothing changed.'), annotated(indented(draft), diagnostics)];
  };
  const check = async () => {
    replace(result, h('p', { class: 'muted' }, 'Checking…'));
    try {
      const answer = await call<Checked>('PUT', `/specs/${encodeURIComponent(id.value)}?dryRun=true`, {
        body: draft,
        headers,
      });
      checkedId = id.value;
      adopt.disabled = false;
      const s = answer.body;
      replace(
        result,
        h(
          'p',
          { class: 'ok' },
          `Valid: ${s.title} ${s.version}, ${s.channels.length} channel(s): ${s.channels.map((c) => c.topic).join(', ')}. Nothing is changed until you adopt it.`,
        ),
        s.warnings.length === 0 ? null : [h('p', {}, 'Warnings:'), annotated(indented(draft), s.warnings)],
      );
    } catch (error) {
      replace(result, refused(error));
    }
  };
  adopt.addEventListener('click', async () => {
    if (checkedId !== id.value) return;
    try {
      await call('PUT', `/specs/${encodeURIComponent(id.value)}`, { body: draft, headers });
      done(id.value);
    } catch (error) {
      replace(result, refused(error));
    }
  });
  const form = h(
    'form',
    { class: 'editor adopt' },
    h('h3', {}, 'Adopt as contract'),
    h(
      'p',
      { class: 'muted' },
      'Uploads the draft below unchanged. From then on the topic is validated against it, and no longer sampled.',
    ),
    h('label', {}, 'Spec id', id),
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, 'Check'), adopt),
    result,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void check();
  });
  return form;
}

function off(): HTMLElement {
  return h(
    'p',
    { class: 'notice discovery-off' },
    'Schema discovery is off on this gateway. With ',
    h('code', {}, 'discovery: {enabled: true}'),
    ' in its configuration it samples the records of topics no contract describes and drafts a contract from them (docs/discovery.md).',
  );
}

/** Topics no contract describes, as sampled, and the contract drafted from each. */
export function discoveryPage(session: Session, selected?: string): Page {
  const root = h('section', { class: 'discovery' });
  const admin = session.role === 'admin';

  const showList = async () => {
    const { enabled, topics } = await get<Discovered>('/discovery/topics');
    if (!enabled) return replace(root, off());
    replace(
      root,
      h(
        'p',
        { class: 'muted' },
        'Topics no contract describes, sampled as records are produced to them. Each has a draft contract inferred from its samples.',
      ),
      topics.length === 0
        ? h('p', { class: 'muted' }, 'Nothing sampled yet: no records produced to a sampled topic.')
        : h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['topic', 'sampled', 'seen', 'oversized', 'headers', 'last seen', ''].map((t) =>
                  h('th', {}, t),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              topics.map((t) =>
                h(
                  'tr',
                  { 'data-topic': t.topic },
                  h('td', {}, h('a', { href: `#/discovery/${encodeURIComponent(t.topic)}` }, t.topic)),
                  h('td', { class: 'sampled' }, t.sampled),
                  h('td', { class: 'seen' }, t.seen),
                  h('td', {}, t.oversized),
                  h(
                    'td',
                    {},
                    t.headers.length === 0
                      ? h('span', { class: 'muted' }, 'none')
                      : t.headers.map((name) => h('code', { class: 'topic' }, name)),
                  ),
                  h('td', {}, new Date(t.lastSeenAt).toLocaleString()),
                  h(
                    'td',
                    {},
                    t.described
                      ? h('span', { class: 'facet described' }, 'described by a contract')
                      : h('span', { class: 'facet' }, 'no contract'),
                  ),
                ),
              ),
            ),
          ),
    );
  };

  const showDraft = async (topic: string) => {
    const { enabled, topics } = await get<Discovered>('/discovery/topics');
    if (!enabled) return replace(root, off());
    const sampling = topics.find((t) => t.topic === topic);
    const back = h('p', {}, h('a', { href: '#/discovery' }, '← all discovered topics'));
    if (sampling === undefined)
      return replace(root, back, h('p', { class: 'muted' }, `No samples of ${topic} (yet, or any more).`));
    const draft = (
      await call<string>('GET', `/discovery/topics/${encodeURIComponent(topic)}/asyncapi`, { text: true })
    ).body;
    const done = (id: string) => {
      location.hash = `#/contracts/${encodeURIComponent(id)}`;
    };
    replace(
      root,
      back,
      h('h2', {}, h('code', { class: 'topic' }, topic)),
      h(
        'p',
        { class: 'muted' },
        `${sampling.sampled} records sampled of ${sampling.seen} seen${sampling.oversized > 0 ? ` (${sampling.oversized} too large to sample)` : ''}; last ${new Date(sampling.lastSeenAt).toLocaleString()}.`,
        sampling.headers.length === 0 ? null : ` Headers: ${sampling.headers.join(', ')}.`,
      ),
      sampling.described
        ? h(
            'p',
            { class: 'notice' },
            'A contract now describes this topic: it is no longer sampled. See ',
            h('a', { href: '#/contracts' }, 'Contracts'),
            '.',
          )
        : admin
          ? adoptForm(topic, draft, done)
          : null,
      h('h3', {}, 'Draft (AsyncAPI 3.0)'),
      h('pre', { class: 'document draft' }, indented(draft)),
    );
  };

  return {
    title: 'Discovery',
    element: root,
    start() {
      (selected === undefined ? showList() : showDraft(selected)).catch((error: unknown) =>
        replace(root, errorBox(error)),
      );
    },
    stop() {},
  };
}
