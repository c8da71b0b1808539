// Progressive rollout on one gateway: a healthy function is promoted through every step; one
// failing 20% of requests is rolled back within the first window; too little traffic holds
// without failing; pause, resume and abort; a restart mid-rollout resumes; a sticky user never
// moves back to legacy while the rollout climbs. Real upstreams, real traffic, short intervals.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { GatewayHandle } from '../gateway/runtime/serve-gateway';
import { pollUntil } from './helpers/poll';
import { BIN } from './helpers/serve-child';
import { act, adminCall, rolloutOf, startRolloutGateway, startRolloutStack, Traffic, untilState, type RolloutStack } from './helpers/rollout-stack';

const ROLLOUT = '{ steps: [20, 50, 100], interval: 300ms, min_requests: 15, max_error_rate: 1 }';

describe('rollout: steps, analysis against legacy, promotion and rollback', function () {
  this.timeout(120_000);
  let stack: RolloutStack;
  let gw: GatewayHandle | null = null;
  let traffic: Traffic | null = null;
  let n = 0;

  const fresh = async () => (gw = await startRolloutGateway(stack, { state: join(stack.dir, `state-${n++}.json`) }));

  before(async () => { stack = await startRolloutStack(ROLLOUT); });
  afterEach(async () => {
    await traffic?.stop();
    traffic = null;
    await gw?.close(1000);
    gw = null;
    stack.behaviour.fail = 0;
    stack.behaviour.notFound = 0;
    stack.behaviour.same = false;
  });
  after(async () => { await stack?.close(); });

  it('promotes a healthy function through every step, and a sticky user never moves back to legacy', async () => {
    const g = await fresh();
    assert.equal((await rolloutOf(g)).state, 'idle');
    traffic = new Traffic([g.listen.port]);
    const started = await act(g, 'start');
    assert.equal(started.status, 200, JSON.stringify(started.body));
    assert.deepEqual([started.body.state, started.body.percent, started.body.step], ['running', 20, 1]);
    const done = await untilState(g, 'promoted');
    await traffic.stop();
    assert.equal(done.percent, 100);
    const moves = done.history.filter((d: { result: string }) => d.result !== 'hold');
    assert.deepEqual(moves.map((d: { result: string; percent: number }) => `${d.result} ${d.percent}`), ['start 20', 'advance 50', 'advance 100', 'promote 100']);
    for (const d of moves.slice(1)) {
      assert.ok(d.figures.function.requests >= 15, `decided on ${d.figures.function.requests} requests`);
      assert.equal(d.figures.function.error_rate, 0);
    }
    assert.ok(moves[1].figures.legacy.requests > 0, 'legacy measured in the same window');
    // Sticky: once on the function, a user stays there while the percent climbs.
    const back = [...traffic.sides].filter(([, sides]) => sides.indexOf('function:orders') !== -1 && sides.indexOf('function:orders') < sides.lastIndexOf('legacy'));
    assert.deepEqual(back, [], 'users moved back to legacy');
    assert.ok([...traffic.sides.values()].some((s) => s.length === 2), 'some user moved from legacy to the function');
    // The route JSON carries the same rollout; a route without one does not.
    const route = await adminCall(g, 'GET', '/routes/orders');
    assert.equal(route.body.rollout.state, 'promoted');
    assert.equal(route.body.effective_percent, 100);
    assert.equal('rollout' in (await adminCall(g, 'GET', '/routes/plain')).body, false);
    // Audit log and Prometheus: a decision is audited once the state holds it, so the last entry may trail the state.
    const decisions = async () => (await adminCall(g, 'GET', '/audit')).body.entries
      .filter((e: { action: string; result: string }) => e.action === 'rollout' && e.result !== 'hold').map((e: { result: string }) => e.result);
    await pollUntil('the promotion audited', async () => (await decisions()).length === 4);
    assert.deepEqual(await decisions(), ['start', 'advance', 'advance', 'promote']);
    const metrics = (await import('undici')).request(`http://127.0.0.1:${g.admin.port}/metrics`, { headers: { authorization: 'Bearer rollout-test-token' } });
    const text = await (await metrics).body.text();
    assert.match(text, /strangler_rollout_step\{route="orders",state="promoted"\} 3/);
    assert.match(text, /strangler_rollout_decisions_total\{route="orders",result="promote"\} 1/);
  });

  it('rolls a function failing 20% of requests back to 0 within the first step, with the figures, and stays there', async () => {
    const g = await fresh();
    stack.behaviour.fail = 0.2;
    traffic = new Traffic([g.listen.port]);
    assert.equal((await act(g, 'start')).status, 200);
    const back = await untilState(g, 'rolled_back');
    assert.equal(back.percent, 0);
    assert.match(back.reason, /^error rate \d+\.\d% > 1% over \d+ requests; legacy 0\.0%$/);
    const rate = Number(/error rate (\d+\.\d)%/.exec(back.reason)![1]);
    assert.ok(rate >= 10 && rate <= 30, `error rate ${rate}%`);
    assert.deepEqual(back.history.map((d: { result: string }) => d.result).filter((r: string) => r !== 'hold'), ['start', 'rollback']);
    // No flapping: more traffic, more ticks, still rolled back, nobody on the function.
    const sent = traffic.sent;
    await pollUntil('more traffic', () => traffic!.sent > sent + 100);
    const still = await rolloutOf(g);
    assert.deepEqual([still.state, still.percent], ['rolled_back', 0]);
    // Started again, it begins at the first step.
    stack.behaviour.fail = 0;
    const again = await act(g, 'start');
    assert.deepEqual([again.status, again.body.state, again.body.percent], [200, 'running', 20]);
  });

  it('holds on a step without enough requests, never failing', async () => {
    const g = await fresh();
    assert.equal((await act(g, 'start')).status, 200);
    const held = await pollUntil('a hold', async () => {
      const r = await rolloutOf(g);
      return r.history.some((d: { result: string }) => d.result === 'hold') ? r : null;
    });
    assert.deepEqual([held.state, held.percent, held.step], ['running', 20, 1]);
    assert.equal(held.reason, 'holding: 0 of 15 requests');
  });

  it('pauses (holding the percent), resumes, aborts to 0, and refuses what the state does not allow', async () => {
    const g = await fresh();
    assert.equal((await act(g, 'start')).status, 200);
    const paused = await act(g, 'pause');
    assert.deepEqual([paused.status, paused.body.state, paused.body.percent], [200, 'paused', 20]);
    traffic = new Traffic([g.listen.port]);
    await pollUntil('traffic while paused', () => traffic!.sent > 300);
    const still = await rolloutOf(g);
    assert.deepEqual([still.state, still.percent, still.history[still.history.length - 1].result], ['paused', 20, 'pause']);
    const resumed = await act(g, 'resume');
    assert.deepEqual([resumed.status, resumed.body.state, resumed.body.percent], [200, 'running', 20]);
    const aborted = await act(g, 'abort');
    assert.deepEqual([aborted.status, aborted.body.state, aborted.body.percent], [200, 'aborted', 0]);
    const conflict = await act(g, 'resume');
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error, 'rollout_conflict');
    const bad = await act(g, 'jump');
    assert.deepEqual([bad.status, bad.body.error], [400, 'invalid_body']);
    const extra = await adminCall(g, 'POST', '/routes/orders/rollout', { action: 'start', force: true });
    assert.deepEqual([extra.status, extra.body.error], [400, 'invalid_body']);
    assert.match(String(extra.body.message), /^unexpected key "force"; expected \{"action": "start"/, 'names the extra key, not the action');
    const none = await act(g, 'start', 'plain');
    assert.deepEqual([none.status, none.body.error], [404, 'no_rollout']);
    // A manual change of the percent ends a rollout: the operator took over.
    assert.equal((await act(g, 'start')).status, 200);
    assert.equal((await adminCall(g, 'PATCH', '/routes/orders', { percent: 35 })).status, 200);
    const taken = await rolloutOf(g);
    assert.deepEqual([taken.state, taken.percent], ['idle', 35]);
  });

  it('resumes a rollout after a restart, on the step it was at', async () => {
    const state = join(stack.dir, 'restart.json');
    let g = gw = await startRolloutGateway(stack, { state });
    traffic = new Traffic([g.listen.port]);
    assert.equal((await act(g, 'start')).status, 200);
    await pollUntil('the second step', async () => (await rolloutOf(g)).percent === 50);
    await traffic.stop();
    traffic = null;
    const before = await rolloutOf(g);
    await g.close(1000);
    g = gw = await startRolloutGateway(stack, { state });
    const after = await rolloutOf(g);
    assert.deepEqual([after.state, after.percent, after.step], [before.state, before.percent, before.step]);
    assert.deepEqual(after.history.slice(0, 2), before.history.slice(0, 2));
    traffic = new Traffic([g.listen.port]);
    assert.equal((await untilState(g, 'promoted')).percent, 100);
  });

  it('strangler rollout ROUTE start|pause|resume|abort|status talks to the admin API', async () => {
    const g = await fresh();
    // A child process, awaited: the gateway answering it runs in this process's event loop.
    const cli = (...args: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, 'rollout', ...args, '--manifest', stack.manifestPath, '--admin', `127.0.0.1:${g.admin.port}`],
        { encoding: 'utf8', env: { ...process.env, STRANGLER_ADMIN_TOKEN: 'rollout-test-token' } },
        (err, stdout, stderr) => resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    const start = (await cli('orders', 'start'));
    assert.equal(start.status, 0, start.stderr);
    assert.match(start.stdout, /^orders: running at 20% \(step 1 of 3: 20 → 50 → 100\)/);
    const paused = (await cli('orders', 'pause'));
    assert.equal(paused.status, 0, paused.stderr);
    assert.match(paused.stdout, /^orders: paused at 20%/);
    const status = (await cli('orders', 'status', '--json'));
    const table = await new Promise<string>((resolve) => execFile(process.execPath, [BIN, 'status', '--manifest', stack.manifestPath, '--admin', `127.0.0.1:${g.admin.port}`],
      { encoding: 'utf8', env: { ...process.env, STRANGLER_ADMIN_TOKEN: 'rollout-test-token' } }, (_e, out) => resolve(out)));
    assert.match(table, /rollouts \(strangler rollout ROUTE status for the decisions\):\n  orders: paused at 20% \(step 1 of 3: 20 → 50 → 100\)\n    paused at 20%\n/);
    assert.equal(JSON.parse(status.stdout).state, 'paused');
    const refused = (await cli('orders', 'start'));
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /409: route orders: the rollout is paused; resume or abort it/);
    assert.equal((await cli('orders', 'resume')).status, 0);
    assert.match((await cli('orders', 'abort')).stdout, /^orders: aborted at 0%/);
    assert.equal((await cli('orders', 'jump')).status, 2);
  });

  it('sums the counts of every worker with --workers', async () => {
    const g = gw = await startRolloutGateway(stack, { state: join(stack.dir, 'workers.json'), workers: 2 });
    traffic = new Traffic([g.listen.port]);
    assert.equal((await act(g, 'start')).status, 200);
    const done = await untilState(g, 'promoted');
    assert.equal(done.percent, 100);
  });

  /** A stack of its own (another rollout block or route), its gateway and traffic; stopped by afterEach, the stack here. */
  async function onOwnStack(rollout: string, opts: { fallback?: boolean }, setUp: (s: RolloutStack) => void, check: (g: GatewayHandle, users: Traffic) => Promise<void>) {
    const own = await startRolloutStack(rollout, opts);
    try {
      setUp(own);
      const g = gw = await startRolloutGateway(own);
      const users = traffic = new Traffic([g.listen.port]);
      assert.equal((await act(g, 'start')).status, 200);
      await check(g, users);
    } finally {
      await traffic?.stop();
      await gw?.close(1000);
      await own.close();
    }
  }

  it('reports a shift of 4xx answers against legacy, and rolls back on it with max_4xx_shift', async () => {
    await onOwnStack('{ steps: [20, 50, 100], interval: 300ms, min_requests: 15, max_error_rate: 1, max_4xx_shift: 5 }', {}, (s) => { s.behaviour.notFound = 0.3; }, async (g) => {
      const back = await untilState(g, 'rolled_back');
      assert.match(back.reason, /^4xx rate \d+\.\d% is \d+\.\d points above legacy's 0\.0% > 5 over \d+ requests$/);
      const last = back.history[back.history.length - 1];
      assert.ok(last.figures.shift_4xx >= 20, `shift ${last.figures.shift_4xx}`);
    });
  });

  it('counts a function failure that the fallback served from legacy against the function', async () => {
    await onOwnStack('{ steps: [20, 50, 100], interval: 300ms, min_requests: 15, max_error_rate: 1 }', { fallback: true }, (s) => { s.behaviour.fail = 0.2; }, async (g, users) => {
      const back = await untilState(g, 'rolled_back');
      assert.match(back.reason, /^error rate \d+\.\d% > 1% over \d+ requests; legacy 0\.0%$/);
      await users.stop();
      assert.equal(users.failed, 0, 'every user was answered: the fallback served the failures from legacy');
    });
  });
});
