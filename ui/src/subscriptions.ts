import { ApiFailure, call, get, type Session } from './api';
import { errorBox, h, replace } from './dom';
import type { Page } from './page';

interface Subscription {
  id: string;
  type: 'async' | 'sync';
  events?: { topics?: string[] };
  target: { url: string };
  paused: boolean;
  deadLetterTopic?: string;
}
interface Status {
  state: 'active' | 'paused' | 'failing';
  detail?: string;
  instance: {
    delivered: number;
    retried: number;
    deadLettered: number;
    lastError?: { at?: string; message?: string };
  };
  totalLag?: number;
  replays: { id: string }[];
}

const EVERY_MS = 5000;

/** Subscriptions with their status; pause, resume and replay for an admin token. */
export function subscriptionsPage(session: Session): Page {
  const root = h('section', { class: 'subscriptions' });
  const message = h('div', {});
  const admin = session.role === 'admin';
  let timer: number | undefined;

  const act = async (what: string, run: () => Promise<unknown>) => {
    try {
      await run();
      replace(message, h('p', { class: 'ok' }, what));
    } catch (error) {
      replace(message, errorBox(error));
    }
    await refresh();
  };

  const controls = (s: Subscription) => {
    if (!admin) return null;
    const path = `/subscriptions/${encodeURIComponent(s.id)}`;
    const from = h('input', { type: 'datetime-local', name: 'replay-from', step: 1 });
    from.value = new Date(Date.now() - 3600_000 - new Date().getTimezoneOffset() * 60_000)
      .toISOString()
      .slice(0, 19);
    return h(
      'div',
      { class: 'buttons' },
      s.paused
        ? h(
            'button',
            {
              type: 'button',
              onclick: () => void act(`${s.id} resumed`, () => call('POST', `${path}/resume`)),
            },
            'Resume',
          )
        : h(
            'button',
            {
              type: 'button',
              onclick: () => void act(`${s.id} paused`, () => call('POST', `${path}/pause`)),
            },
            'Pause',
          ),
      s.type === 'async'
        ? [
            from,
            h(
              'button',
              {
                type: 'button',
                onclick: () =>
                  void act(`${s.id}: replay started`, () =>
                    call('POST', `${path}/replay`, {
                      body: JSON.stringify({ from: new Date(from.value).toISOString() }),
                      headers: { 'content-type': 'application/json' },
                    }),
                  ),
              },
              'Replay from',
            ),
          ]
        : null,
    );
  };

  const refresh = async () => {
    let list: Subscription[];
    try {
      list = (await get<{ subscriptions: Subscription[] }>('/subscriptions')).subscriptions;
    } catch (error) {
      replace(
        root,
        error instanceof ApiFailure && error.status === 404
          ? h(
              'p',
              { class: 'muted' },
              'Subscriptions are not enabled on this gateway (subscriptions.enabled).',
            )
          : errorBox(error),
      );
      return;
    }
    const statuses = await Promise.all(
      list.map((s) =>
        get<Status>(`/subscriptions/${encodeURIComponent(s.id)}/status`).catch(
          (error: unknown) => error as Error,
        ),
      ),
    );
    replace(
      root,
      message,
      list.length === 0
        ? h('p', { class: 'muted' }, 'No subscriptions.')
        : h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                [
                  'subscription',
                  'events → target',
                  'state',
                  'lag',
                  'delivered',
                  'retried',
                  'dead letters',
                  'last error',
                  '',
                ].map((t) => h('th', {}, t)),
              ),
            ),
            h(
              'tbody',
              {},
              list.map((s, i) => {
                const status = statuses[i];
                const ok = !(status instanceof Error);
                return h(
                  'tr',
                  { 'data-subscription': s.id },
                  h('td', {}, h('strong', {}, s.id), h('div', { class: 'muted' }, s.type)),
                  h(
                    'td',
                    {},
                    (s.events?.topics ?? []).map((t) => h('code', { class: 'topic' }, t)),
                    ' → ',
                    h('code', {}, s.target.url),
                    s.deadLetterTopic
                      ? h('div', { class: 'muted' }, `dead letters to ${s.deadLetterTopic}`)
                      : null,
                  ),
                  ok
                    ? h(
                        'td',
                        {},
                        h('span', { class: `state ${status.state}` }, status.state),
                        status.detail ? h('div', { class: 'muted' }, status.detail) : null,
                        status.replays.length > 0
                          ? h('div', { class: 'muted' }, `${status.replays.length} replay(s) running`)
                          : null,
                      )
                    : h('td', { class: 'error' }, status.message),
                  h('td', {}, ok ? (status.totalLag ?? '—') : '—'),
                  h('td', { class: 'delivered' }, ok ? status.instance.delivered : '—'),
                  h('td', {}, ok ? status.instance.retried : '—'),
                  h('td', {}, ok ? status.instance.deadLettered : '—'),
                  h(
                    'td',
                    { class: 'error' },
                    ok && status.instance.lastError
                      ? `${status.instance.lastError.message ?? ''} ${status.instance.lastError.at ? `(${new Date(status.instance.lastError.at).toLocaleTimeString()})` : ''}`
                      : '',
                  ),
                  h('td', {}, controls(s)),
                );
              }),
            ),
          ),
      h(
        'p',
        { class: 'muted' },
        'Deliveries, retries and dead letters are counted by the instance that answered, since it started.',
      ),
    );
  };

  return {
    title: 'Subscriptions',
    element: root,
    start() {
      void refresh();
      timer = window.setInterval(() => {
        // Not while someone is choosing a replay time: the table is rebuilt on refresh.
        if (!root.contains(document.activeElement)) void refresh();
      }, EVERY_MS);
    },
    stop() {
      window.clearInterval(timer);
    },
  };
}
