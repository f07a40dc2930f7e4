import { ApiFailure, storedToken, storeToken, whoami, type Session } from './api';
import { contractsPage } from './contracts';
import { discoveryPage } from './discovery';
import { errorBox, h, replace } from './dom';
import { livePage } from './live';
import { overviewPage } from './overview';
import type { Page } from './page';
import { subscriptionsPage } from './subscriptions';

const PAGES: Record<string, { title: string; make: (session: Session, rest: string[]) => Page }> = {
  overview: { title: 'Overview', make: () => overviewPage() },
  contracts: { title: 'Contracts', make: (session, rest) => contractsPage(session, rest[0]) },
  discovery: { title: 'Discovery', make: (session, rest) => discoveryPage(session, rest[0]) },
  live: { title: 'Live', make: (session) => livePage(session) },
  subscriptions: { title: 'Subscriptions', make: (session) => subscriptionsPage(session) },
};

let current: Page | null = null;

function route(session: Session, main: HTMLElement, nav: HTMLElement): void {
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const chosen = PAGES[name] === undefined ? 'overview' : name;
  current?.stop();
  current = PAGES[chosen].make(session, rest);
  for (const link of nav.querySelectorAll('a')) link.classList.toggle('active', link.dataset.page === chosen);
  document.title = `${current.title} · Event Gateway`;
  replace(main, h('h1', {}, current.title), current.element);
  current.start();
}

function shell(session: Session): void {
  const nav = h(
    'nav',
    {},
    Object.entries(PAGES).map(([name, page]) => h('a', { href: `#/${name}`, 'data-page': name }, page.title)),
  );
  const main = h('main', {});
  const signOut =
    storedToken() === null
      ? null
      : h(
          'button',
          {
            type: 'button',
            class: 'link',
            onclick: () => {
              storeToken(null);
              location.reload();
            },
          },
          'Sign out',
        );
  replace(
    document.body,
    h(
      'header',
      {},
      h('span', { class: 'brand' }, 'Event Gateway'),
      nav,
      h(
        'span',
        { class: 'who', 'data-role': session.role },
        `${session.name} · ${session.role === 'admin' ? 'admin' : 'read-only'}`,
        signOut,
      ),
    ),
    main,
  );
  window.addEventListener('hashchange', () => route(session, main, nav));
  route(session, main, nav);
}

function login(problem?: string): void {
  const input = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'current-password',
    required: true,
    autofocus: true,
  });
  const form = h(
    'form',
    { class: 'login' },
    h('h1', {}, 'Event Gateway'),
    h('label', {}, 'Token', input),
    h('p', { class: 'muted' }, 'An admin or read token of this gateway (http.adminToken, http.tokens).'),
    problem === undefined ? null : h('p', { class: 'error' }, problem),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    storeToken(input.value);
    void start();
  });
  replace(document.body, form);
}

async function start(): Promise<void> {
  try {
    const session = await whoami();
    if (session !== null) return shell(session);
    const hadToken = storedToken() !== null;
    storeToken(null);
    login(hadToken ? 'That token is not known to this gateway.' : undefined);
  } catch (error) {
    replace(
      document.body,
      errorBox(error instanceof ApiFailure ? `The gateway answered: ${error.message}` : error),
    );
  }
}

void start();
