import { storedToken, type Session } from './api';
import { h, replace } from './dom';
import type { Page } from './page';

/** A record as the tap sends it (docs/http-api.md, WebSocket tap). */
export interface TapRecord {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: string | null;
  keyEncoding?: string;
  value: string | null;
  valueEncoding?: string;
  headers: Record<string, string>;
  /** `observed`: the channel is in observe mode, so the record was written as sent, untagged. */
  validationError?: { ts?: string; errors?: string[]; observed?: boolean } & Record<string, unknown>;
}

const SHOWN = 500;
const HELD = 5000;
const VALIDATION_HEADER = '_asyncapi_eg_validation_error';

/** JSON indented when the text is JSON, the text as it is otherwise. */
export function pretty(text: string | null, encoding?: string): string {
  if (text === null) return 'null';
  if (encoding === 'base64') return `(base64) ${text}`;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function recordCard(record: TapRecord): HTMLElement {
  const errors = record.validationError?.errors ?? [];
  const invalid = record.validationError !== undefined;
  const observed = record.validationError?.observed === true;
  const headers = Object.entries(record.headers ?? {}).filter(([name]) => name !== VALIDATION_HEADER);
  return h(
    'article',
    {
      class: `record${invalid ? ' invalid' : ''}${observed ? ' observed' : ''}`,
      'data-topic': record.topic,
      'data-offset': record.offset,
    },
    h(
      'div',
      { class: 'meta' },
      h('code', {}, record.topic),
      ` [${record.partition}] @${record.offset} · ${record.timestamp}`,
      record.key === null ? null : [' · key ', h('code', {}, pretty(record.key, record.keyEncoding))],
      headers.length === 0
        ? null
        : h(
            'span',
            { class: 'headers' },
            headers.map(([name, value]) => h('code', {}, `${name}: ${value}`)),
          ),
    ),
    h(
      'div',
      { class: 'body' },
      h('pre', { class: 'value' }, pretty(record.value, record.valueEncoding)),
      invalid
        ? h(
            'div',
            { class: 'validation' },
            h('strong', {}, 'Invalid'),
            observed
              ? h(
                  'span',
                  {
                    class: 'badge observed',
                    title: 'The channel is in observe mode: written as sent, not tagged',
                  },
                  'observed',
                )
              : null,
            errors.length === 0
              ? h('pre', {}, JSON.stringify(record.validationError, null, 2))
              : h(
                  'ul',
                  {},
                  errors.map((error) => h('li', {}, error)),
                ),
          )
        : null,
    ),
  );
}

/** The tap over a WebSocket, with its filters, and pause without losing what arrives meanwhile. */
export function livePage(_session: Session): Page {
  const topics = h('input', { type: 'text', name: 'topics', placeholder: 'all mirrored topics', size: 30 });
  const invalidOnly = h('input', { type: 'checkbox', name: 'invalid' });
  const pattern = h('textarea', {
    name: 'pattern',
    rows: 2,
    cols: 40,
    placeholder: '{"value": {"status": ["failed"]}}',
  });
  const from = h(
    'select',
    { name: 'from' },
    h('option', { value: '' }, 'new records'),
    h('option', { value: 'earliest' }, 'history, then new'),
  );
  const connect = h('button', { type: 'submit' }, 'Connect');
  const pause = h('button', { type: 'button', disabled: true }, 'Pause');
  const clear = h('button', { type: 'button' }, 'Clear');
  const status = h('span', { class: 'tap-status muted' }, 'Not connected.');
  const list = h('div', { class: 'records' });
  let socket: WebSocket | null = null;
  let paused = false;
  let held: TapRecord[] = [];

  const show = (record: TapRecord) => {
    list.prepend(recordCard(record));
    while (list.childElementCount > SHOWN) list.lastElementChild!.remove();
  };
  const setStatus = (text: string, kind = 'muted') => {
    status.className = `tap-status ${kind}`;
    status.textContent = text;
  };

  const close = () => {
    socket?.close(1000);
    socket = null;
    connect.textContent = 'Connect';
    pause.disabled = true;
  };

  const open = () => {
    const query = new URLSearchParams();
    const token = storedToken();
    if (token !== null) query.set('token', token);
    for (const topic of topics.value.split(/[\s,]+/).filter(Boolean)) query.append('topic', topic);
    if (invalidOnly.checked) query.set('invalid', 'true');
    if (pattern.value.trim() !== '') {
      try {
        query.set('pattern', JSON.stringify(JSON.parse(pattern.value)));
      } catch {
        setStatus('The pattern is not JSON.', 'error');
        return;
      }
    }
    if (from.value !== '') query.set('from', from.value);
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/ws?${query}`);
    socket = ws;
    connect.textContent = 'Disconnect';
    setStatus('Connecting…');
    ws.onopen = () => {
      pause.disabled = false;
      setStatus('Connected: records appear as they land in Kafka.', 'ok');
    };
    ws.onmessage = (event) => {
      const record = JSON.parse(String(event.data)) as TapRecord;
      if (paused) {
        held.push(record);
        if (held.length > HELD) held.shift();
        pause.textContent = `Resume (${held.length} waiting)`;
      } else show(record);
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      connect.textContent = 'Connect';
      pause.disabled = true;
      // A refused upgrade reaches the page as a bare 1006: the browser hides the answer's reason.
      setStatus(
        event.code === 1006
          ? 'The tap refused or dropped the connection (no tap topics, a bad filter, or the token).'
          : `Closed (${event.code}${event.reason ? `: ${event.reason}` : ''}).`,
        'error',
      );
    };
  };

  pause.addEventListener('click', () => {
    paused = !paused;
    if (!paused) {
      for (const record of held) show(record);
      held = [];
    }
    pause.textContent = paused ? 'Resume' : 'Pause';
    list.classList.toggle('paused', paused);
  });
  clear.addEventListener('click', () => {
    list.replaceChildren();
    held = [];
  });
  const form = h(
    'form',
    { class: 'filters' },
    h('label', {}, 'Topics', topics),
    h('label', { class: 'inline' }, invalidOnly, 'Invalid only'),
    h('label', {}, 'Pattern', pattern),
    h('label', {}, 'From', from),
    h('div', { class: 'buttons' }, connect, pause, clear),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (socket !== null) close();
    else open();
  });
  const root = h('section', { class: 'live' }, form, status, list);
  return {
    title: 'Live',
    element: root,
    start() {
      replace(list);
      open();
    },
    stop() {
      close();
    },
  };
}
