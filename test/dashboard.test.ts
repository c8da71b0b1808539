// The operator dashboard in a real headless chromium against a real gateway: sign-in (form and
// #token fragment), every route on screen with live rates, a percent changed through the
// confirmation dialog and seen by `strangler status` and by routing, the kill switch as one
// change, a wrong token refused, the read-only token unable to change anything (controls
// disabled and the API refusing), and the Content-Security-Policy blocking injected script.
// Screenshots of the main views go to test-artifacts/dashboard/.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import { UI_CSP, UI_DIR } from '../gateway/runtime/admin-ui';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { fileHostReports, hostReportDir } from '../gateway/runtime/file-state-source';
import { PROJECT_ROOT } from '../gateway/version';
import { launchBrowser } from './helpers/browser';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { runCli } from './helpers/serve-child';
import { startStack, type Stack, type StackPorts } from './helpers/stack';

// Globals of the page, for the callbacks run inside it (the project compiles without the DOM lib).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any, window: any, location: any, sessionStorage: any;

const ADMIN_TOKEN = 'dashboard-admin-token';
const READ_TOKEN = 'dashboard-read-token';
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'dashboard');
/** The routing manifest and a shadowed route whose function differs from legacy in one field (monolith-fixture/prices.ts). */
const DASHBOARD_MANIFEST = (p: StackPorts) => `${ROUTING_MANIFEST(p)}  - id: prices
    match: { prefix: /api/v1/prices }
    to: function:price-quote
    canary: { percent: 0 }
    shadow: { ignore: ["$.quoted_at"] }
`;

describe('dashboard in a browser', function () {
  this.timeout(60_000);
  let browser: Browser;
  let stack: Stack;
  let gw: GatewayHandle;
  let ui: string;
  let traffic: Promise<void> | null = null;
  let stopTraffic = false;
  const contexts: BrowserContext[] = [];

  before(async function () {
    browser = await launchBrowser(this);
    mkdirSync(ARTIFACTS, { recursive: true });
    stack = await startStack(DASHBOARD_MANIFEST, { nginx: false });
    gw = await startGateway({
      manifestPath: stack.manifestPath, watch: false, listen: '127.0.0.1:0', admin: '127.0.0.1:0',
      env: { STRANGLER_ADMIN_TOKEN: ADMIN_TOKEN, STRANGLER_READ_TOKEN: READ_TOKEN },
    });
    ui = `http://127.0.0.1:${gw.admin.port}/ui/`;
    // Steady traffic on a few routes, so the rates on screen are real counter deltas.
    traffic = (async () => {
      const paths = ['/api/v1/track/1', '/images/a.png', '/search?q=x', '/gone/1', '/health', '/api/v1/prices/sku-1'];
      for (let i = 0; !stopTraffic; i++) {
        const res = await request(`http://127.0.0.1:${gw.listen.port}${paths[i % paths.length]}`, { headers: { cookie: `session_id=u${i}` } });
        await res.body.dump();
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 25)); // a pace, not a synchronisation
      }
    })();
  });

  after(async () => {
    stopTraffic = true;
    await traffic?.catch(() => undefined);
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
    await browser?.close();
    await gw?.close(1000);
    await stack?.stop();
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    contexts.push(context);
    return context.newPage();
  }

  async function signIn(token: string): Promise<Page> {
    const page = await newPage();
    await page.goto(ui);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    return page;
  }

  const routeIds = () => [...gw.table().routes.map((r) => r.id), 'default'];
  const rows = (page: Page) => page.locator('#routes-body tr');
  const effectiveOf = (page: Page, id: string) => page.locator(`[data-effective="${id}"]`);
  // A dialog's backdrop covers the viewport only: those views are shot without scrolling.
  const shot = (page: Page, name: string, fullPage = true) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });

  async function routesJson(token = ADMIN_TOKEN) {
    const res = await request(`http://127.0.0.1:${gw.admin.port}/routes`, { headers: { authorization: `Bearer ${token}` } });
    return (await res.body.json()) as { routes: { id: string; effective_percent: number; override: unknown; shadow?: Record<string, unknown> }[] };
  }

  it('serves its files without a token, with a strict CSP and no-referrer, nosniff and cache headers; data needs the token', async () => {
    for (const [path, type] of [['', /^text\/html/], ['dashboard.js', /^text\/javascript/], ['dashboard.css', /^text\/css/]] as const) {
      const res = await request(ui + path);
      const body = await res.body.text();
      assert.equal(res.statusCode, 200, path);
      assert.match(String(res.headers['content-type']), type);
      assert.equal(res.headers['content-security-policy'], UI_CSP);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['referrer-policy'], 'no-referrer');
      assert.equal(res.headers['cache-control'], 'no-cache');
      assert.equal(res.headers['set-cookie'], undefined);
      assert.doesNotMatch(body, /https?:\/\/(?!127)/, `${path || 'index.html'} loads nothing from elsewhere`);
      if (path === '') assert.doesNotMatch(body, /<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=|style=/i, 'no inline script, handler or style');
    }
    // Shipped with the package and found from it, whether run from the sources or an install.
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { files: string[] };
    assert.ok(pkg.files.includes('ui'), 'package.json "files" ships ui/');
    assert.equal(UI_DIR, join(PROJECT_ROOT, 'ui'));
    assert.match(UI_CSP, /default-src 'none'/);
    assert.match(UI_CSP, /script-src 'self'(;|$)/);
    const first = await request(ui);
    await first.body.dump();
    const again = await request(ui, { headers: { 'if-none-match': String(first.headers.etag) } });
    await again.body.dump();
    assert.equal(again.statusCode, 304, 'an unchanged file is revalidated, not sent again');
    const redirect = await request(ui.slice(0, -1));
    await redirect.body.dump();
    assert.equal(redirect.statusCode, 301);
    assert.equal(redirect.headers.location, '/ui/');
    const data = await request(ui.replace('/ui/', '/routes'));
    assert.equal(data.statusCode, 401);
    const refusal = (await data.body.json()) as { error: string; message: string };
    assert.deepEqual([refusal.error, Object.keys(refusal)], ['unauthorized', ['error', 'message']]);
  });

  it('signs in through the form and shows every route with its match, target, percents and live rates', async () => {
    const page = await signIn(ADMIN_TOKEN);
    await page.locator('#dashboard').waitFor({ state: 'visible' });
    await expectCount(() => rows(page).count(), routeIds().length, 'one row per route, default included');
    const shown = await page.locator('#routes-body tr th .route-id').allTextContents();
    assert.deepEqual(shown, routeIds());
    const track = page.locator('[data-route-row="track"]');
    assert.match(await track.innerText(), /\/api\/v1\/track[\s\S]*function:track-package[\s\S]*100%[\s\S]*100%/);
    assert.match(await page.locator('[data-route-row="images"]').innerText(), /\/images\/[\s\S]*30%/);
    // Rates appear from the second poll on: the track row's target side shows a number.
    await page.waitForFunction(() => {
      const cells = document.querySelectorAll('[data-route-row="track"] td.num');
      return cells.length > 3 && /^[0-9.]+$/.test(cells[2].textContent ?? '') && Number(cells[2].textContent) > 0;
    });
    // The shadowed route's match rate: its function always differs from legacy (vat_included).
    await page.waitForFunction(() => document.querySelector('[data-route-row="prices"] td[data-shadow]')?.textContent === '0%');
    assert.match(String(await page.locator('[data-route-row="prices"] td[data-shadow]').getAttribute('title')), /^0 of [1-9]\d* compared answers equal, [1-9]\d* different$/);
    assert.equal(await page.locator('td[data-shadow]').count(), 1, 'only the shadowed route has a match rate');
    assert.equal(await page.locator('[data-route-row="track"] td').nth(8).innerText(), '—');
    const api = (await routesJson()).routes;
    const prices = api.find((r) => r.id === 'prices')!.shadow!;
    assert.deepEqual(Object.keys(prices), ['compared', 'equal', 'different', 'match_ratio']);
    assert.ok(Number(prices.compared) > 0 && prices.equal === 0 && prices.different === prices.compared && prices.match_ratio === 0, JSON.stringify(prices));
    assert.deepEqual(api.filter((r) => 'shadow' in r).map((r) => r.id), ['prices'], 'routes without shadow: carry no shadow key');
    assert.equal(await page.locator('#access-badge').innerText(), 'Admin');
    assert.match(await page.locator('#gateways').innerText(), /\(this one\)/);
    assert.match(await page.locator('#nginx').innerText(), /No nginx hosts/);
    // The token is in this tab's session storage and travels as a header: no cookie at all.
    assert.equal(await page.evaluate(() => sessionStorage.getItem('strangler.token')), ADMIN_TOKEN);
    assert.deepEqual(await page.context().cookies(), []);
    await shot(page, 'routes');
  });

  it('shows the nginx hosts the agents report: version, manifest, and a failure or lag', async () => {
    const reports = fileHostReports(gw.statePath);
    const base = { pid: 4242, conf: '/etc/nginx/nginx.conf', manifest_sha256: gw.table().sha256, applied_at: new Date().toISOString(), seen_at: new Date().toISOString() };
    await reports.publish({ ...base, host: 'web-ok:/etc/nginx/nginx.conf', state_version: gw.state.version, failure: null });
    await reports.publish({
      ...base, host: 'web-bad:/etc/nginx/nginx.conf', state_version: gw.state.version - 1,
      failure: { state_version: gw.state.version, manifest_sha256: 'f'.repeat(64), at: new Date().toISOString(), message: 'nginx -t: unknown directive' },
    });
    try {
      const page = await signIn(READ_TOKEN);
      await page.locator('#nginx', { hasText: 'web-bad' }).waitFor();
      const text = await page.locator('#nginx').innerText();
      assert.match(text, /web-ok:\/etc\/nginx\/nginx\.conf[\s\S]*ok/);
      assert.match(text, new RegExp(`web-bad[\\s\\S]*failed to apply version ${gw.state.version}: nginx -t: unknown directive`));
      assert.match(text, new RegExp(gw.table().sha256.slice(0, 12)));
      await shot(page, 'nginx-hosts');
    } finally {
      rmSync(hostReportDir(gw.statePath), { recursive: true, force: true });
    }
  });

  it('refuses a wrong token and shows nothing', async () => {
    const page = await signIn('not-the-token');
    await expectText(() => page.locator('#signin-error').innerText(), /refused/);
    assert.equal(await page.locator('#dashboard').isHidden(), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('strangler.token')), null);
    assert.equal(await page.locator('#routes-body tr').count(), 0);
    assert.equal(await page.locator('#session').isVisible(), false, 'no sign-out button or live marker while signed out');
    await shot(page, 'sign-in-refused');
  });

  it('signs in from #token=… and removes the token from the address bar', async () => {
    const page = await newPage();
    await page.goto(`${ui}#token=${ADMIN_TOKEN}`);
    await page.locator('#dashboard').waitFor({ state: 'visible' });
    assert.equal(page.url(), ui);
    assert.equal(await page.evaluate(() => location.hash), '');
    await expectCount(() => rows(page).count(), routeIds().length, 'rows after a fragment sign-in');
  });

  it('sets a percent after a confirmation showing before and after; strangler status and routing follow', async () => {
    const page = await signIn(ADMIN_TOKEN);
    await expectCount(() => rows(page).count(), routeIds().length, 'rows');
    await page.getByLabel('New percent for track').fill('0');
    await page.getByRole('button', { name: 'Set the percent of track' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor({ state: 'visible' });
    assert.match(await dialog.innerText(), /Set track to 0%\?[\s\S]*track\s+function:track-package\s+100%\s+→ 0%/);
    await shot(page, 'confirm-percent', false);
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expectText(() => effectiveOf(page, 'track').innerText(), /^0%\*$/);

    const status = await runCli(['status', '--admin', `127.0.0.1:${gw.admin.port}`], { STRANGLER_ADMIN_TOKEN: ADMIN_TOKEN });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /^track +\/api\/v1\/track +function:track-package +100% +0%\*/m);
    const res = await request(`http://127.0.0.1:${gw.listen.port}/api/v1/track/7`);
    await res.body.dump();
    assert.equal(res.headers['x-served-by'], 'legacy');
    await expectText(() => page.locator('#audit').innerText(), /track 100% → 0%/);
  });

  it('keyboard: a percent being typed survives refreshes, Tab reaches Set, Enter opens the dialog, Escape closes it and focus returns', async () => {
    const page = await signIn(ADMIN_TOKEN);
    await expectCount(() => rows(page).count(), routeIds().length, 'rows');
    const input = page.getByLabel('New percent for images');
    await input.focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('55');
    const updated = await page.locator('#freshness').innerText();
    await until(async () => (await page.locator('#freshness').innerText()) !== updated, 'a refresh while typing');
    assert.equal(await input.inputValue(), '55', 'the typed value survived a refresh');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'New percent for images');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Set the percent of images');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor({ state: 'visible' });
    assert.match(await dialog.innerText(), /Set images to 55%\?[\s\S]*30%\s+→ 55%/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Set the percent of images');
    assert.equal(gw.state.override('images'), undefined, 'nothing changed');
  });

  it('read-only token: sees everything, every control disabled, and the API refuses changes with 403', async () => {
    const page = await signIn(READ_TOKEN);
    await page.locator('#dashboard').waitFor({ state: 'visible' });
    await expectCount(() => rows(page).count(), routeIds().length, 'rows for the read-only token');
    assert.equal(await page.locator('#access-badge').innerText(), 'Read-only');
    assert.equal(await page.locator('#readonly-banner').isVisible(), true);
    assert.equal(await page.locator('#kill-switch').isDisabled(), true);
    const controls = page.locator('#routes-body button, #routes-body input');
    const n = await controls.count();
    assert.ok(n >= 2 * gw.table().routes.length, `controls rendered (${n})`);
    for (let i = 0; i < n; i++) assert.equal(await controls.nth(i).isDisabled(), true, `control ${i} is disabled`);
    await shot(page, 'read-only');

    const before = await routesJson();
    const answers = await page.evaluate(async (token) => {
      const send = async (method: string, path: string, body: unknown) => {
        const r = await fetch(path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        return { status: r.status, body: await r.json() };
      };
      return [await send('PATCH', '/routes/images', { percent: 90 }), await send('PATCH', '/routes', { all: 0 })];
    }, READ_TOKEN) as { status: number; body: { error: string; message: string } }[];
    for (const a of answers) {
      assert.equal(a.status, 403);
      assert.equal(a.body.error, 'read_only');
      assert.match(a.body.message, /read-only token/);
    }
    assert.deepEqual((await routesJson()).routes.map((r) => r.effective_percent), before.routes.map((r) => r.effective_percent));
    // Reads work with it, /metrics included (what Prometheus scrapes with).
    const metrics = await request(`http://127.0.0.1:${gw.admin.port}/metrics`, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
    assert.equal(metrics.statusCode, 200);
    assert.match(await metrics.body.text(), /strangler_requests_total/);
  });

  it('the Content-Security-Policy blocks an injected inline script and inline handler', async () => {
    const page = await signIn(ADMIN_TOKEN);
    await page.locator('#dashboard').waitFor({ state: 'visible' });
    const result = await page.evaluate(() => new Promise<{ ran: boolean; violations: string[] }>((resolve) => {
      const violations: string[] = [];
      document.addEventListener('securitypolicyviolation', (e: { effectiveDirective: string }) => {
        violations.push(e.effectiveDirective);
        if (violations.length === 2) resolve({ ran: window.pwned === true, violations });
      });
      const s = document.createElement('script');
      s.textContent = 'window.pwned = true';
      document.body.append(s);
      const d = document.createElement('div');
      d.innerHTML = '<img src="data:," onerror="window.pwned = true">';
      document.body.append(d);
    }));
    assert.equal(result.ran, false, 'the injected script did not run');
    assert.deepEqual(result.violations.sort(), ['script-src-attr', 'script-src-elem']);
  });

  it('kill switch: Escape cancels; confirmed, every route goes to legacy as one change and one audit entry', async () => {
    const page = await signIn(ADMIN_TOKEN);
    await expectCount(() => rows(page).count(), routeIds().length, 'rows');
    const audit = () => request(`http://127.0.0.1:${gw.admin.port}/audit?limit=500`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      .then((r) => r.body.json() as Promise<{ entries: { action: string; routes?: Record<string, { old: number; new: number }> }[] }>);
    const entriesBefore = (await audit()).entries.length;

    const kill = page.getByRole('button', { name: 'Kill switch: everything to legacy' });
    await kill.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor({ state: 'visible' });
    const listed = await dialog.locator('tbody th').allTextContents();
    assert.deepEqual(listed, gw.table().routes.map((r) => r.id), 'the dialog lists every route it changes');
    // Focus stays in the dialog: Tab cycles through its buttons only.
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.closest('dialog') !== null), true, 'focus left the dialog');
    }
    await shot(page, 'confirm-kill-switch', false);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.ok((await routesJson()).routes.some((r) => r.effective_percent > 0), 'Escape changed nothing');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'kill-switch', 'focus returns to the button');

    await kill.click();
    await dialog.waitFor({ state: 'visible' });
    await dialog.getByRole('button', { name: 'Send everything to legacy' }).click();
    await dialog.waitFor({ state: 'hidden' });
    for (const id of gw.table().routes.map((r) => r.id)) await expectText(() => effectiveOf(page, id).innerText(), /^0%\*$/);
    const after = await routesJson();
    assert.deepEqual(after.routes.filter((r) => r.id !== 'default').map((r) => r.effective_percent), gw.table().routes.map(() => 0));
    const entries = (await audit()).entries;
    assert.equal(entries.length, entriesBefore + 1, 'one audit entry for the whole change');
    assert.equal(entries.at(-1)!.action, 'bulk');
    assert.deepEqual(Object.keys(entries.at(-1)!.routes!), gw.table().routes.map((r) => r.id));
    await expectText(() => page.locator('#announcer').innerText(), /Kill switch applied/);
    await shot(page, 'after-kill-switch');
  });

  it('flips a route to its target, resets one route and then all to the manifest, each confirmed', async () => {
    const page = await signIn(ADMIN_TOKEN);
    await expectCount(() => rows(page).count(), routeIds().length, 'rows');
    const dialog = page.getByRole('dialog');
    await page.getByRole('button', { name: 'Flip off to function:track-package' }).click();
    await dialog.waitFor({ state: 'visible' });
    assert.match(await dialog.innerText(), /Flip off to function:track-package\?[\s\S]*off\s+function:track-package\s+0%\s+→ 100%/);
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await expectText(() => effectiveOf(page, 'off').innerText(), /^100%\*$/);
    const res = await request(`http://127.0.0.1:${gw.listen.port}/off/1`);
    await res.body.dump();
    assert.equal(res.headers['x-served-by'], 'function');

    await page.getByRole('button', { name: 'Reset images to the manifest\'s percent' }).click();
    await dialog.waitFor({ state: 'visible' });
    assert.match(await dialog.innerText(), /images\s+function:image-resizer\s+0%\s+→ 30%/);
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await expectText(() => effectiveOf(page, 'images').innerText(), /^30%$/);
    assert.equal(gw.state.override('images'), undefined);

    await page.getByRole('button', { name: 'Reset all to the manifest' }).click();
    await dialog.waitFor({ state: 'visible' });
    const listed = await dialog.locator('tbody th').allTextContents();
    assert.deepEqual(listed, gw.table().routes.filter((r) => gw.state.override(r.id)).map((r) => r.id), 'the dialog lists the routes with an override');
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.deepEqual(gw.state.snapshot().routes, {});
    await page.locator('#reset-all').waitFor({ state: 'hidden' });
    await expectText(() => effectiveOf(page, 'track').innerText(), /^100%$/);
  });
});

/** Polls until `check()` holds: the page refreshes on its own schedule. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function expectText(get: () => Promise<string>, pattern: RegExp): Promise<void> {
  let last = '';
  await until(async () => pattern.test(last = await get()), `${pattern}`).catch(() => assert.fail(`expected ${pattern}, last saw ${JSON.stringify(last)}`));
}

async function expectCount(get: () => Promise<number>, n: number, what: string): Promise<void> {
  let last = -1;
  await until(async () => (last = await get()) === n, what).catch(() => assert.fail(`${what}: expected ${n}, saw ${last}`));
}
