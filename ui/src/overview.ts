import { get } from './api';
import { formatRate, lineChart } from './chart';
import { errorBox, h, replace } from './dom';
import { OUTCOMES, parseMetrics, rates, recordTotals, total } from './prom';
import type { Page } from './page';

interface Brokers {
  bootstrap: string;
  brokers: { nodeId: number; host: string; port: number; gateway: string }[];
}
interface Ready {
  status: string;
  checks: Record<string, string>;
}
interface SpecList {
  specs: { id: string; title: string; version: string; source: string; channels: { topic: string }[] }[];
}

const MEANING: Record<(typeof OUTCOMES)[number], string> = {
  valid: 'valid against the contract',
  invalid_observed: 'invalid, written as sent: the channel is in observe mode',
  invalid_tagged: 'invalid, written with the validation error header',
  invalid_rejected: 'invalid, refused to the producer',
  dropped: 'dropped by a middleware',
  unvalidated: 'no contract describes the topic',
};

const POINTS = 60;
const MIN_POINTS = 8;
const EVERY_MS = 2000;

/** Brokers, connections, specs and live record rates, read every two seconds. */
export function overviewPage(): Page {
  const root = h('section', { class: 'overview' });
  const history = new Map<string, Map<string, number[]>>();
  let previous: { at: number; totals: Map<string, Map<string, number>> } | null = null;
  let timer: number | undefined;

  const refresh = async () => {
    try {
      const [metricsText, brokers, ready, specs] = await Promise.all([
        fetch('/metrics', { cache: 'no-store' }).then((r) => r.text()),
        get<Brokers>('/brokers'),
        fetch('/readyz', { cache: 'no-store' }).then((r) => r.json() as Promise<Ready>),
        get<SpecList>('/specs'),
      ]);
      const samples = parseMetrics(metricsText);
      const now = performance.now();
      const totals = recordTotals(samples);
      if (previous !== null) {
        const perSecond = rates(previous.totals, totals, (now - previous.at) / 1000);
        for (const [topic, outcomes] of perSecond) {
          const series = history.get(topic) ?? new Map<string, number[]>();
          for (const outcome of OUTCOMES) {
            const values = series.get(outcome) ?? [];
            values.push(outcomes.get(outcome) ?? 0);
            if (values.length > POINTS) values.shift();
            series.set(outcome, values);
          }
          history.set(topic, series);
        }
      }
      previous = { at: now, totals };
      render(samples, brokers, ready, specs);
    } catch (error) {
      replace(root, errorBox(error));
    }
  };

  const render = (
    samples: ReturnType<typeof parseMetrics>,
    brokers: Brokers,
    ready: Ready,
    specs: SpecList,
  ) => {
    const connections = (side: string) => total(samples, 'event_gateway_connections', { side });
    const topics = [...history.keys()].sort();
    replace(
      root,
      h(
        'div',
        { class: 'cards' },
        h(
          'div',
          { class: 'card' },
          h('h3', {}, 'Status'),
          h('p', { class: `status ${ready.status === 'ready' ? 'ok' : 'bad'}` }, ready.status),
          h(
            'dl',
            {},
            Object.entries(ready.checks).map(([name, detail]) => [
              h('dt', {}, name),
              h('dd', { class: detail.startsWith('failing') ? 'bad' : '' }, detail),
            ]),
          ),
        ),
        h(
          'div',
          { class: 'card' },
          h('h3', {}, 'Connections'),
          h(
            'dl',
            {},
            h('dt', {}, 'clients'),
            h('dd', { 'data-metric': 'client-connections' }, connections('client')),
            h('dt', {}, 'to brokers'),
            h('dd', {}, connections('broker')),
            h('dt', {}, 'tap clients'),
            h('dd', {}, total(samples, 'event_gateway_tap_clients')),
          ),
        ),
        h(
          'div',
          { class: 'card' },
          h('h3', {}, `Specs loaded: ${specs.specs.length}`),
          h(
            'ul',
            { class: 'plain' },
            specs.specs.map((s) =>
              h(
                'li',
                {},
                h('a', { href: `#/contracts/${encodeURIComponent(s.id)}` }, s.id),
                ` — ${s.title} ${s.version} (${s.source}, ${s.channels.length} channels)`,
              ),
            ),
          ),
        ),
      ),
      h('h2', {}, 'Brokers'),
      h('p', {}, 'Clients bootstrap at ', h('code', {}, brokers.bootstrap)),
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, 'node'), h('th', {}, 'broker'), h('th', {}, 'gateway address')),
        ),
        h(
          'tbody',
          {},
          brokers.brokers.map((b) =>
            h(
              'tr',
              {},
              h('td', {}, b.nodeId),
              h('td', {}, h('code', {}, `${b.host}:${b.port}`)),
              h('td', {}, h('code', {}, b.gateway)),
            ),
          ),
        ),
      ),
      h('h2', {}, 'Records per second'),
      h(
        'p',
        { class: 'legend' },
        OUTCOMES.map((o) => h('span', { class: `key ${o}`, title: MEANING[o] }, o)),
      ),
      topics.length === 0
        ? h('p', { class: 'muted' }, previous === null ? 'Reading…' : 'No records counted yet.')
        : h(
            'div',
            { class: 'charts' },
            topics.map((topic) => {
              const series = history.get(topic)!;
              const latest = OUTCOMES.map((o) => [o, series.get(o)?.at(-1) ?? 0] as const).filter(
                ([, v]) => v > 0,
              );
              return h(
                'figure',
                { class: 'chart-card', 'data-topic': topic },
                h('figcaption', {}, h('code', {}, topic)),
                // The axis spans the readings so far (up to POINTS): a fresh page draws lines, not a dot.
                lineChart(
                  OUTCOMES.map((o) => ({ name: o, values: series.get(o) ?? [] })),
                  Math.max(MIN_POINTS, ...[...series.values()].map((v) => v.length)),
                ),
                h(
                  'p',
                  { class: 'now' },
                  latest.length === 0
                    ? 'idle'
                    : latest.map(([o, v]) => h('span', { class: `key ${o}` }, `${formatRate(v)}/s`)),
                ),
              );
            }),
          ),
    );
  };

  return {
    title: 'Overview',
    element: root,
    start() {
      void refresh();
      timer = window.setInterval(() => void refresh(), EVERY_MS);
    },
    stop() {
      window.clearInterval(timer);
    },
  };
}
