// The dashboard drives a rollout: a rolled-out route's JSON carries `rollout`, so the page shows
// the rollout column and its buttons; start, confirmed, reaches POST /routes/:id/rollout.
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { GatewayHandle } from '../gateway/runtime/serve-gateway';
import { launchBrowser } from './helpers/browser';
import { pollUntil } from './helpers/poll';
import { rolloutOf, ROLLOUT_TOKEN, startRolloutGateway, startRolloutStack, type RolloutStack } from './helpers/rollout-stack';

describe('rollout in the dashboard', function () {
  this.timeout(60_000);
  let browser: Browser;
  let stack: RolloutStack;
  let gw: GatewayHandle;

  before(async function () {
    browser = await launchBrowser(this);
    stack = await startRolloutStack('{ steps: [20, 50, 100], interval: 5m, min_requests: 15 }');
    gw = await startRolloutGateway(stack);
  });
  after(async () => {
    await browser?.close();
    await gw?.close(1000);
    await stack?.close();
  });

  it('shows the rollout column and starts and aborts the rollout through the confirmation dialog', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    await page.goto(`http://127.0.0.1:${gw.admin.port}/ui/`);
    await page.getByLabel('Token').fill(ROLLOUT_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const row = page.locator('#routes-body tr', { hasText: 'orders' });
    await pollUntil('the rollout column', async () => /idle at 0%/.test(await row.innerText()));
    const dialog = page.getByRole('dialog');
    await page.getByRole('button', { name: 'start the rollout of orders' }).click();
    await dialog.waitFor({ state: 'visible' });
    await dialog.getByRole('button', { name: 'Apply' }).click();
    await pollUntil('running', async () => (await rolloutOf(gw)).state === 'running');
    await pollUntil('the page shows it', async () => /running at 20%/.test(await row.innerText()));
    await page.getByRole('button', { name: 'abort the rollout of orders' }).click();
    await dialog.waitFor({ state: 'visible' });
    await dialog.getByRole('button', { name: 'Apply' }).click();
    const aborted = await pollUntil('aborted', async () => { const r = await rolloutOf(gw); return r.state === 'aborted' ? r : null; });
    assert.equal(aborted.percent, 0);
    assert.deepEqual(aborted.history.map((d: { result: string }) => d.result), ['start', 'abort']);
    // The plain route has no rollout: no buttons for it.
    assert.equal(await page.getByRole('button', { name: 'start the rollout of plain' }).count(), 0);
  });
});
