/**
 * The browser console in a real browser (Debian's chromium driven by playwright-core) against a
 * gateway in front of the real broker: sign in with a token, the Overview's brokers and record
 * rates, a record produced by kcat on the Live page with its validation error, a spec uploaded
 * through the Contracts page (refused first, with its diagnostic at its line) and then enforced,
 * the Subscriptions page, a draft from schema discovery adopted as the contract and then enforced,
 * a channel in observe mode whose invalid records show as observed, and a read token's console
 * offering no change.
 *
 * Screenshots of each page go to $CONSOLE_SCREENSHOTS (docs/images refreshes the README's) or a
 * temporary directory.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { resolveConfig } from '../../src/config/load-config';
import { startGateway, type RunningGateway } from '../../src/main';
import { createLogger } from '../../src/observability/logger';
import { BOOTSTRAP, eventually, kcat, REPO_ROOT, uniqueTopic } from './support/kafka-harness';
import { createTopics, demoSpec, httpCall } from './support/validating-gateway';
import { isolatedState } from './support/isolated-state';
import { CapturedLogs } from './support/gateway-harness';

jest.setTimeout(120_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PORT = 26200;
const HTTP_PORT = 26210;
const HOOK_PORT = 26220;
const BASE = `http://127.0.0.1:${HTTP_PORT}`;
const GATEWAY = `127.0.0.1:${PORT}`;
const ADMIN_TOKEN = 'console-test-admin-token';
const READ_TOKEN = 'console-test-read-token';
const LAMPS = uniqueTopic('console-lamps');
const ORDERS = uniqueTopic('console-orders');
const DEAD_LETTERS = uniqueTopic('console-dlq');
const SENSORS = uniqueTopic('console-sensors');
const OBSERVED = uniqueTopic('console-observed');
const SHOTS = process.env.CONSOLE_SCREENSHOTS
  ? path.resolve(REPO_ROOT, process.env.CONSOLE_SCREENSHOTS)
  : mkdtempSync(path.join(tmpdir(), 'console-shots-'));

const ORDERS_SPEC = `asyncapi: 3.0.0
info:
  title: Orders
  version: 2.1.0
channels:
  orders:
    address: ${ORDERS}
    messages:
      orderPlaced:
        name: orderPlaced
        contentType: application/json
        payload:
          type: object
          required: [orderId, amount]
          properties:
            orderId:
              type: string
              description: The shop's order number.
            amount:
              type: number
              minimum: 0
            currency:
              type: string
              enum: [EUR, USD]
operations:
  placeOrder:
    action: send
    channel:
      $ref: '#/channels/orders'
`;

/** A channel in observe mode: its invalid records are counted and shown, never tagged or refused. */
const OBSERVED_SPEC = `asyncapi: 3.0.0
info:
  title: Payments (observed)
  version: 0.9.0
channels:
  payments:
    address: ${OBSERVED}
    x-eg-observe: true
    messages:
      paid:
        payload:
          type: object
          required: [amount]
          properties:
            amount:
              type: number
`;

/** The same spec with a property type AsyncAPI's schema refuses, on line 21. */
const BROKEN_SPEC = ORDERS_SPEC.replace('type: number', 'type: money');

let gateway: RunningGateway;
let browser: Browser;
let hook: http.Server | undefined;
const hooked: string[] = [];

async function produce(topic: string, value: string): Promise<void> {
  const result = await kcat(['-b', GATEWAY, '-t', topic, '-P'], `${value}\n`);
  if (result.code !== 0) throw new Error(`kcat failed: ${result.stderr}`);
}

/** Errors the console's script threw, in any page: each test ends with none. */
const pageErrors: string[] = [];

async function signIn(token: string, { expectShell = true } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${BASE}/ui`);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  if (expectShell) await page.waitForSelector('header .who');
  return page;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `No chromium at ${CHROMIUM}: run scripts/ensure-chromium.sh (make test does), or set CHROMIUM_PATH.`,
    );
  mkdirSync(SHOTS, { recursive: true });
  // The gateway serves what `npm run build` wrote; the sources may be newer than the last build.
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'ui', 'build.mjs')], { stdio: 'inherit' });
  await createTopics([LAMPS, ORDERS, DEAD_LETTERS, SENSORS, OBSERVED], 1);
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      hooked.push(body);
      response.writeHead(204).end();
    });
  });
  hook = server;
  await new Promise<void>((resolve) => server.listen(HOOK_PORT, '127.0.0.1', resolve));
  const config = resolveConfig(
    {
      kafka: { bootstrapServers: BOOTSTRAP.split(',').map((s) => s.trim()) },
      listeners: { bindHost: '127.0.0.1', bootstrapPort: PORT, brokerPortBase: PORT },
      http: {
        host: '127.0.0.1',
        port: HTTP_PORT,
        adminToken: ADMIN_TOKEN,
        tokens: [{ name: 'dashboard', role: 'read', token: READ_TOKEN }],
      },
      tap: { topics: [LAMPS, ORDERS, SENSORS, OBSERVED] },
      subscriptions: { enabled: true },
      discovery: { enabled: true, topics: [SENSORS] },
      state: isolatedState(),
      logging: { level: 'warn' },
      shutdown: { drainTimeoutMs: 2_000 },
    },
    'console test gateway',
  );
  gateway = await startGateway(config, createLogger('warn', new CapturedLogs()));
  const put = async (route: string, body: string, type = 'application/yaml') => {
    const answer = await fetch(`${BASE}${route}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': type },
      body,
    });
    if (answer.status !== 201) throw new Error(`PUT ${route}: ${answer.status} ${await answer.text()}`);
  };
  await put('/specs/lamps', demoSpec('3.0', LAMPS));
  const subscription = {
    type: 'async',
    events: { topics: [LAMPS] },
    target: { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/lamps` },
    deadLetterTopic: DEAD_LETTERS,
  };
  await put('/subscriptions/lamps-to-hook', JSON.stringify(subscription), 'application/json');
  await eventually(async () => ((await httpCall(BASE, 'GET', '/readyz')).status === 200 ? true : undefined));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

afterEach(() => expect(pageErrors.splice(0)).toEqual([]));

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  // Without a browser, beforeAll stops before the hook exists: nothing to wait for then.
  const server = hook;
  if (server !== undefined) await new Promise((resolve) => server.close(resolve));
});

test('the assets are served with their types, a CSP and caching that never serves a stale console', async () => {
  const index = await fetch(`${BASE}/ui/`);
  expect(index.status).toBe(200);
  expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(index.headers.get('cache-control')).toBe('no-cache');
  expect(index.headers.get('content-security-policy')).toContain("default-src 'none'");
  const html = await index.text();
  const script = /src="(app\.js\?v=[0-9a-f]+)"/.exec(html)![1];
  const app = await fetch(`${BASE}/ui/${script}`);
  expect(app.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  expect(app.headers.get('cache-control')).toContain('immutable');
  const again = await fetch(`${BASE}/ui/${script}`, {
    headers: { 'if-none-match': app.headers.get('etag')! },
  });
  expect(again.status).toBe(304);
  expect((await fetch(`${BASE}/ui/nothing.js`)).status).toBe(404);
  expect((await fetch(`${BASE}/ui`, { redirect: 'manual' })).headers.get('location')).toBe('/ui/');
});

test('sign in; the Overview shows the brokers behind their gateway addresses and live record rates', async () => {
  const page = await signIn('not-a-token-of-this-gateway', { expectShell: false });
  // A wrong token leaves the login form up, saying so.
  await page.waitForSelector('text=That token is not known');
  await page.fill('input[name=token]', ADMIN_TOKEN);
  await page.click('button[type=submit]');
  await page.waitForSelector('header .who[data-role=admin]');
  await page.waitForSelector(
    `td >> text=${gateway.gateway.advertisedHost}:${gateway.gateway.gatewayPortFor(1)}`,
  );
  // Traffic over several of the page's readings, so the chart has a line to draw.
  const chart = page.locator(`figure[data-topic="${LAMPS}"]`);
  // Longer when the screenshots are for the docs, so their chart shows more than a few readings.
  const rounds = process.env.CONSOLE_SCREENSHOTS ? 40 : 12;
  for (let i = 0; i < rounds; i++) {
    const valid = Array.from({ length: 1 + (i % 4) * 2 }, (_, n) => `{"lumens": ${n}}`);
    await produce(LAMPS, [...valid, '{"lumens": "bright"}'].join('\n'));
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await chart.locator('.now .key.invalid_tagged').waitFor({ timeout: 20_000 });
  expect(await page.locator('.legend .key.invalid_observed').count()).toBe(1);
  const points = await chart.locator('polyline.valid').getAttribute('points');
  expect(points!.split(' ').length).toBeGreaterThanOrEqual(3);
  await page.screenshot({ path: path.join(SHOTS, 'console-overview.png'), fullPage: true });
  await page.context().close();
});

test('Live: a record kcat produces shows up with its validation error beside it', async () => {
  const page = await signIn(ADMIN_TOKEN);
  await page.goto(`${BASE}/ui/#/live`);
  await page.waitForSelector('.tap-status.ok');
  await produce(LAMPS, '{"lumens": -5, "sentAt": "2026-12-03T14:00:00Z"}');
  const card = page.locator(`article.record.invalid[data-topic="${LAMPS}"]`).first();
  await card.waitFor({ timeout: 20_000 });
  expect(await card.locator('.validation').innerText()).toMatch(/lumens.*(minimum|>=|0)/i);
  // Pretty-printed: the value spans lines.
  expect(await card.locator('pre.value').innerText()).toContain('\n  "lumens": -5');

  // Paused, a record waits; resumed, it shows.
  await page.click('button:has-text("Pause")');
  await produce(LAMPS, '{"lumens": 7}');
  await page.waitForSelector('button:has-text("1 waiting")', { timeout: 20_000 });
  await page.click('button:has-text("Resume")');
  await page.waitForSelector(`article.record:not(.invalid) pre.value:has-text('"lumens": 7')`);
  await page.screenshot({ path: path.join(SHOTS, 'console-live.png') });

  // Invalid only: a valid record is left out, the invalid one after it is not.
  await page.click('button:has-text("Disconnect")');
  await page.check('input[name=invalid]');
  await page.click('button:has-text("Connect")');
  await page.waitForSelector('.tap-status.ok');
  await page.click('button:has-text("Clear")');
  await produce(LAMPS, '{"lumens": 8}');
  await produce(LAMPS, '{"lumens": false}');
  await page.locator('article.record.invalid').first().waitFor({ timeout: 20_000 });
  expect(await page.locator('article.record').count()).toBe(1);
  await page.context().close();
});

test('Contracts: an upload is checked with its diagnostics at their lines, then stored and enforced', async () => {
  const page = await signIn(ADMIN_TOKEN);
  await page.goto(`${BASE}/ui/#/contracts`);
  await page.click('button:has-text("Upload a spec")');
  await page.fill('input[name=spec-id]', 'orders');
  await page.fill('textarea[name=document]', BROKEN_SPEC);
  await page.click('button:has-text("Check")');
  const line = BROKEN_SPEC.split('\n').findIndex((text) => text.includes('type: money')) + 1;
  await page.locator(`.diagnostics .line.marked[data-line="${line}"]`).waitFor();
  expect(await page.locator('.diagnostics .diagnostic').allInnerTexts()).toContainEqual(
    expect.stringMatching(new RegExp(`^line ${line}: "type" property must be equal to one of`)),
  );
  expect(await page.locator('button:has-text("Upload")').isDisabled()).toBe(true);
  // Nothing changed.
  expect((await httpCall(BASE, 'GET', '/specs/orders', { token: ADMIN_TOKEN })).status).toBe(404);
  await page.screenshot({ path: path.join(SHOTS, 'console-contracts-diagnostics.png'), fullPage: true });

  await page.fill('textarea[name=document]', ORDERS_SPEC);
  await page.click('button:has-text("Check")');
  await page.waitForSelector('.result .ok');
  await page.click('button:has-text("Upload")');
  await page.waitForSelector('h2:has-text("orders: Orders 2.1.0")');
  await page.waitForSelector('.channel code.prop:has-text("orderId")');
  await page.screenshot({ path: path.join(SHOTS, 'console-contracts.png'), fullPage: true });

  await page.goto(`${BASE}/ui/#/live`);
  await page.fill('input[name=topics]', ORDERS);
  await page.click('button:has-text("Disconnect")');
  await page.click('button:has-text("Connect")');
  await page.waitForSelector('.tap-status.ok');
  await produce(ORDERS, '{"orderId": "A-1", "amount": "ten"}');
  const card = page.locator(`article.record.invalid[data-topic="${ORDERS}"]`).first();
  await card.waitFor({ timeout: 20_000 });
  expect(await card.locator('.validation').innerText()).toContain('amount');

  // A second revision, then a roll-back to the first from the page.
  const replaced = ORDERS_SPEC.replace('version: 2.1.0', 'version: 2.2.0');
  expect(
    (
      await fetch(`${BASE}/specs/orders`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' },
        body: replaced,
      })
    ).status,
  ).toBe(200);
  await page.goto(`${BASE}/ui/#/contracts/orders`);
  await page.click('button:has-text("Roll back to this")');
  await page.click('button:has-text("Check")');
  await page.waitForSelector('.result .ok');
  await page.click('button:has-text("Upload")');
  await page.waitForSelector('h2:has-text("orders: Orders 2.1.0")');
  await page.context().close();
});

test('Subscriptions: state, lag and deliveries; pause and resume', async () => {
  await produce(LAMPS, '{"lumens": 9}');
  const delivered = await eventually(async () => {
    const status = await httpCall(BASE, 'GET', '/subscriptions/lamps-to-hook/status', { token: READ_TOKEN });
    const count = status.json<{ instance: { delivered: number } }>().instance.delivered;
    return count > 0 && hooked.length > 0 ? count : undefined;
  });
  const page = await signIn(ADMIN_TOKEN);
  await page.goto(`${BASE}/ui/#/subscriptions`);
  const row = page.locator('tr[data-subscription=lamps-to-hook]');
  await row.locator('.state.active').waitFor();
  expect(Number(await row.locator('td.delivered').innerText())).toBeGreaterThanOrEqual(delivered);
  await page.screenshot({ path: path.join(SHOTS, 'console-subscriptions.png'), fullPage: true });
  await row.locator('button:has-text("Pause")').click();
  await row.locator('.state.paused').waitFor();
  await row.locator('button:has-text("Resume")').click();
  await row.locator('.state.active').waitFor();
  await page.context().close();
});

test('Discovery: the topics sampled, a draft adopted as the contract, which is then enforced', async () => {
  const sent = [
    '{"sensorId": "s-1", "celsius": 21.5}',
    '{"sensorId": "s-2", "celsius": 19}',
    '{"sensorId": "s-3", "celsius": -4.25}',
  ];
  const result = await kcat(['-b', GATEWAY, '-t', SENSORS, '-H', 'site=north', '-P'], `${sent.join('\n')}\n`);
  if (result.code !== 0) throw new Error(`kcat failed: ${result.stderr}`);
  const page = await signIn(ADMIN_TOKEN);
  await page.goto(`${BASE}/ui/#/discovery`);
  const row = page.locator(`tr[data-topic="${SENSORS}"]`);
  await row.waitFor();
  expect(Number(await row.locator('td.sampled').innerText())).toBe(sent.length);
  expect(await row.innerText()).toContain('site');
  expect(await row.innerText()).toContain('no contract');
  await row.locator('a').click();
  const draft = page.locator('pre.draft');
  await draft.waitFor();
  expect(await draft.innerText()).toContain('"celsius"');
  expect(await page.inputValue('input[name=spec-id]')).toBe(SENSORS);
  // Adopting is offered once the draft has passed a check.
  expect(await page.locator('button:has-text("Adopt as contract")').isDisabled()).toBe(true);
  await page.click('button:has-text("Check")');
  await page.waitForSelector('.result .ok');
  await page.screenshot({ path: path.join(SHOTS, 'console-discovery.png'), fullPage: true });
  await page.click('button:has-text("Adopt as contract")');
  await page.waitForSelector(`h2:has-text("${SENSORS}: ${SENSORS} (discovered) 0.1.0")`);
  expect(page.url()).toContain(`#/contracts/${SENSORS}`);
  // Uploaded unchanged: the document stored is the draft the gateway serves.
  const served = await httpCall(BASE, 'GET', `/discovery/topics/${SENSORS}/asyncapi`, { token: ADMIN_TOKEN });
  const stored = await httpCall(BASE, 'GET', `/specs/${SENSORS}/document`, { token: ADMIN_TOKEN });
  expect(stored.text).toBe(served.text);

  await page.goto(`${BASE}/ui/#/discovery`);
  await row.locator('.facet.described').waitFor();

  await page.goto(`${BASE}/ui/#/live`);
  await page.fill('input[name=topics]', SENSORS);
  await page.click('button:has-text("Disconnect")');
  await page.click('button:has-text("Connect")');
  await page.waitForSelector('.tap-status.ok');
  await produce(SENSORS, '{"sensorId": "s-4", "celsius": "warm"}');
  const card = page.locator(`article.record.invalid[data-topic="${SENSORS}"]`).first();
  await card.waitFor({ timeout: 20_000 });
  expect(await card.locator('.validation').innerText()).toContain('celsius');
  // Enforced as the draft's channel says: tagged, not observed.
  expect(await card.getAttribute('class')).not.toContain('observed');
  await page.context().close();
});

test('Observe mode: an invalid record of an observed channel shows as observed, and Invalid only keeps it', async () => {
  expect(
    (
      await fetch(`${BASE}/specs/payments`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/yaml' },
        body: OBSERVED_SPEC,
      })
    ).status,
  ).toBe(201);
  const page = await signIn(ADMIN_TOKEN);
  await page.goto(`${BASE}/ui/#/live`);
  await page.fill('input[name=topics]', OBSERVED);
  await page.check('input[name=invalid]');
  await page.click('button:has-text("Disconnect")');
  await page.click('button:has-text("Connect")');
  await page.waitForSelector('.tap-status.ok');
  await produce(OBSERVED, '{"amount": 12.5}');
  await produce(OBSERVED, '{"amount": "twelve"}');
  const card = page.locator(`article.record.invalid.observed[data-topic="${OBSERVED}"]`).first();
  await card.waitFor({ timeout: 20_000 });
  expect(await card.locator('.validation .badge.observed').innerText()).toBe('observed');
  expect(await card.locator('.validation').innerText()).toContain('amount');
  expect(await page.locator('article.record').count()).toBe(1);
  await page.context().close();
});

test('a read token gets a console that changes nothing', async () => {
  const page = await signIn(READ_TOKEN);
  await page.waitForSelector('header .who[data-role=read]');
  await page.goto(`${BASE}/ui/#/contracts`);
  await page.waitForSelector('td a:has-text("orders")');
  expect(await page.locator('button:has-text("Upload a spec")').count()).toBe(0);
  await page.goto(`${BASE}/ui/#/contracts/orders`);
  await page.waitForSelector('h3:has-text("Revisions")');
  expect(await page.locator('button:has-text("Replace")').count()).toBe(0);
  expect(await page.locator('button:has-text("Roll back")').count()).toBe(0);
  await page.goto(`${BASE}/ui/#/discovery/${SENSORS}`);
  await page.waitForSelector('pre.draft');
  expect(await page.locator('button:has-text("Adopt")').count()).toBe(0);
  await page.goto(`${BASE}/ui/#/subscriptions`);
  await page.waitForSelector('tr[data-subscription=lamps-to-hook] .state');
  expect(await page.locator('tr[data-subscription=lamps-to-hook] button').count()).toBe(0);
  await page.context().close();
});
