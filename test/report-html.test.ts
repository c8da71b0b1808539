// The HTML report renders in a real headless browser (Debian's chromium via playwright-core):
// the headline, the share chart, one bar per route and the backlog table are there, it fetches
// nothing, needs no script, and strings from the logs stay text. A screenshot is kept in
// test-artifacts/.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildReport } from '../gateway/cli/report';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { renderHtml } from '../gateway/report/render-html';
import { PROJECT_ROOT } from '../gateway/version';
import type { Browser } from 'playwright-core';
import { launchBrowser } from './helpers/browser';
import { lines, REPORT_MANIFEST } from './helpers/access-lines';


describe('strangler report --format html in a headless browser', function () {
  this.timeout(60_000);
  let browser: Browser;
  let html: string;
  const dir = mkdtempSync(join(tmpdir(), 'strangler-html-'));

  before(async function () {
    const log = join(dir, 'access.log');
    const days = ['2026-11-28', '2026-11-29', '2026-11-30', '2026-12-01'];
    writeFileSync(log, days.map((day, i) =>
      lines(10 + i * 5, { time: `${day}T09:00:00+00:00`, route: 'track', target: 'function:track-package', uri: '/api/v1/track/1' }) +
      lines(10, { time: `${day}T09:00:00+00:00`, route: 'images', target: 'legacy', uri: '/images/a.png' }) +
      lines(20 - i * 4, { time: `${day}T09:00:00+00:00`, route: 'default', target: 'legacy', uri: `/users/${i}` }) +
      lines(3, { time: `${day}T09:00:00+00:00`, route: 'default', target: 'legacy', uri: '/<script>alert(1)</script>' })).join(''));
    const table = compileManifest(REPORT_MANIFEST, 'routes.yaml').table!;
    html = renderHtml(await buildReport(table, [log], { manifest: 'routes.yaml' }), 20);
    browser = await launchBrowser(this);
  });
  after(async () => {
    await browser?.close();
  });

  it('is one file that loads nothing else', () => {
    assert.doesNotMatch(html, /<script|<link|src=|@import|url\(|https?:\/\//);
  });

  it('renders: headline, share over time, per-route bars, the backlog table; a screenshot is saved', async () => {
    const file = join(dir, 'report.html');
    writeFileSync(file, html);
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requested.push(r.url()); });
    await page.goto(pathToFileURL(file).href);
    assert.match(await page.textContent('#headline') ?? '', /^39\.3% of 178 requests served by functions$/);
    assert.equal(await page.locator('#share-chart circle').count(), 4);
    assert.equal(await page.locator('#share-chart polyline').count(), 1);
    assert.equal(await page.locator('#route-bars g.route-bar').count(), 3);
    const chart = await page.locator('#share-chart').boundingBox();
    assert.ok(chart && chart.width > 100 && chart.height > 50, 'the chart has a size on the page');
    const rows = page.locator('#backlog tbody tr');
    assert.equal(await rows.count(), 2);
    assert.match(await rows.nth(0).textContent() ?? '', /^\/users\/\{id\}56/);
    // A path from the logs is text, not markup.
    assert.equal(await page.locator('#backlog script').count(), 0);
    assert.match(await rows.nth(1).textContent() ?? '', /<script>alert\(1\)<\/script>/);
    assert.deepEqual(requested, []);
    const artifacts = join(PROJECT_ROOT, 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'report.png'), fullPage: true });
    await page.close();
  });
});
