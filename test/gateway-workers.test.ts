// `strangler serve --workers 2` as operators run it: two worker processes share the traffic port;
// the primary keeps the admin API, the state and reloads. An acknowledged change or reload must
// be in effect on the next request whichever worker takes it; stats and metrics sum over the
// workers, a dead worker's counts included; a worker that dies is replaced from the current
// state; no worker outlives the primary.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, request } from 'undici';
import { TRAFFIC_NODE_FLAGS } from '../gateway/runtime/node-flags';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { runCli, startServeChild, type ServeChild } from './helpers/serve-child';
import { alive } from './helpers/process-alive';
import { startStack, type Stack } from './helpers/stack';

const TOKEN = 'workers-test-token-0123456789';

/** One request on a connection of its own, so the cluster hands it to the next worker in turn. */
async function freshRequest(port: number, path: string): Promise<{ status: number; target: string }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { reset: true });
  await res.body.dump();
  return { status: res.statusCode, target: String(res.headers['x-strangler-target'] ?? '') };
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function workerPids(gw: ServeChild): number[] {
  const m = /^  workers +2, pids ([0-9, ]+)$/m.exec(gw.stdout());
  assert.ok(m, `serve printed its worker pids:\n${gw.stdout()}`);
  return m[1].split(', ').map(Number);
}

describe('strangler serve --workers 2', function () {
  this.timeout(60_000);
  let stack: Stack;
  let gw: ServeChild;
  const admin = (path: string, init: { method?: 'GET' | 'PATCH'; body?: string } = {}) =>
    request(`http://127.0.0.1:${gw.adminPort}${path}`, {
      method: init.method ?? 'GET', body: init.body,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    });

  before(async () => {
    stack = await startStack(ROUTING_MANIFEST, { nginx: false });
    // Workers apply each change 50 ms late: an answer sent before every worker acknowledged would show.
    gw = await startServeChild([stack.manifestPath, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '2'],
      { STRANGLER_ADMIN_TOKEN: TOKEN }, undefined, { workerApplyDelayMs: 50 });
  });
  after(async () => {
    await gw?.kill();
    await stack?.stop();
  });

  for (const bad of ['0', '-1', '2.5', 'many', '257']) {
    it(`refuses --workers ${bad}: usage error, exit 2, nothing started`, async () => {
      const r = await runCli(['serve', stack.manifestPath, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', `--workers=${bad}`], { STRANGLER_ADMIN_TOKEN: TOKEN });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--workers .*expected a whole number from 1 to 256, or "auto"/);
      assert.doesNotMatch(r.stdout, /ready/);
    });
  }

  it('serves from two worker processes sharing one port', async () => {
    const pids = workerPids(gw);
    assert.equal(new Set(pids).size, 2);
    for (const pid of pids) {
      assert.ok(alive(pid) && pid !== gw.pid, `worker ${pid} runs beside the primary ${gw.pid}`);
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      assert.ok(TRAFFIC_NODE_FLAGS.every((f) => argv.includes(f)), `worker ${pid} runs with the traffic flags: ${argv.join(' ')}`);
    }
    const before = pids.map(cpuTicks);
    for (let i = 0; i < 300; i++) assert.equal((await freshRequest(gw.trafficPort, '/api/v1/track/1')).status, 200);
    const spent = pids.map((pid, i) => cpuTicks(pid) - before[i]);
    assert.ok(spent.every((t) => t > 0), `both workers served (CPU ticks spent: ${spent.join(', ')})`);
  });

  it('an acknowledged change is in effect on the next request, whichever worker takes it', async () => {
    for (let i = 0; i < 20; i++) {
      const percent = i % 2 === 0 ? 100 : 0;
      const res = await admin('/routes/off', { method: 'PATCH', body: JSON.stringify({ percent }) });
      assert.equal(res.statusCode, 200, await res.body.text());
      await res.body.dump();
      const expected = percent === 100 ? 'function:track-package' : 'legacy';
      for (let j = 0; j < 4; j++) {
        const got = await freshRequest(gw.trafficPort, `/off/${i}`);
        assert.equal(got.target, expected, `change ${i} (${percent}%), request ${j} after the acknowledgement`);
      }
    }
  });

  it('under load on keep-alive connections to both workers, every request sent after an acknowledgement follows it', async () => {
    const seen: { sent: bigint; target: string }[] = [];
    let stop = false;
    // Eight keep-alive connections: the cluster spreads them over both workers.
    const loops = Array.from({ length: 8 }, async (_, k) => {
      const client = new Client(`http://127.0.0.1:${gw.trafficPort}`);
      try {
        while (!stop) {
          const sent = process.hrtime.bigint();
          const r = await client.request({ path: `/off/load-${k}`, method: 'GET' });
          await r.body.dump();
          seen.push({ sent, target: String(r.headers['x-strangler-target']) });
        }
      } finally {
        await client.close();
      }
    });
    await sleep(100);
    const changes: { sentAt: bigint; ackAt: bigint; expected: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const percent = i % 2 === 0 ? 100 : 0;
      const sentAt = process.hrtime.bigint();
      const res = await admin('/routes/off', { method: 'PATCH', body: JSON.stringify({ percent }) });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
      changes.push({ sentAt, ackAt: process.hrtime.bigint(), expected: percent === 100 ? 'function:track-package' : 'legacy' });
      await sleep(30);
    }
    stop = true;
    await Promise.all(loops);
    let checked = 0;
    const stale: string[] = [];
    changes.forEach((c, i) => {
      const until = changes[i + 1]?.sentAt ?? BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000n;
      for (const r of seen) {
        if (r.sent <= c.ackAt || r.sent >= until) continue;
        checked++;
        if (r.target !== c.expected) stale.push(`change ${i}: got ${r.target}`);
      }
    });
    assert.deepEqual(stale, [], `requests sent after an acknowledgement that followed the old split (of ${checked})`);
    assert.ok(checked >= 100, `enough requests between the changes to check (${checked})`);
  });

  it('sums stats and metrics over the workers', async () => {
    const before = ((await (await admin('/routes/search')).body.json()) as { stats: { requests: number } }).stats.requests;
    for (let i = 0; i < 40; i++) await freshRequest(gw.trafficPort, `/search/${i}`);
    const view = (await (await admin('/routes/search')).body.json()) as { stats: { requests: number; by_target: Record<string, { requests: number }> } };
    assert.equal(view.stats.requests - before, 40);
    assert.equal(view.stats.by_target['upstream:search'].requests, before + 40, 'the per-side counts sum over the workers too');
    const text = await (await admin('/metrics')).body.text();
    const line = /^strangler_requests_total\{route="search",target="upstream:search",status_class="2xx"\} (\d+)$/m.exec(text);
    assert.ok(line, `the search series in /metrics:\n${text.slice(0, 2000)}`);
    assert.equal(Number(line[1]), before + 40);
    assert.equal(text.match(/^# TYPE strangler_requests_total counter$/gm)?.length, 1, 'one series, not one per worker');
  });

  it('a reload reaches every worker before it is reported', async () => {
    const from = gw.mark();
    writeFileSync(stack.manifestPath, stack.manifestText.replace('  - id: off\n', '  - id: added\n    match: { prefix: /added }\n    to: upstream:search\n  - id: off\n'));
    await gw.waitForOutput(/reload \(file changed\): serving/, 10_000, from);
    for (let j = 0; j < 6; j++) {
      const got = await freshRequest(gw.trafficPort, '/added/x');
      assert.equal(got.target, 'upstream:search', `request ${j} after the reload`);
    }
  });

  it('a worker that dies is replaced and serves the current state', async () => {
    const res = await admin('/routes/off', { method: 'PATCH', body: JSON.stringify({ percent: 100 }) });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    const [victim, survivor] = workerPids(gw);
    const from = gw.mark();
    process.kill(victim, 'SIGKILL');
    const line = await gw.waitForOutput(/worker (\d+) serving, in place of \d+/, 10_000, from);
    const replacement = Number(/worker (\d+)/.exec(line)![1]);
    assert.ok(alive(replacement) && alive(survivor));
    const before = cpuTicks(replacement);
    for (let j = 0; j < 100; j++) {
      assert.equal((await freshRequest(gw.trafficPort, `/off/after-crash-${j}`)).target, 'function:track-package', `request ${j}`);
    }
    assert.ok(cpuTicks(replacement) > before, 'the replacement took requests');
  });

  it('keeps what a dead worker counted: stats (and so rollout windows) never go backwards', async () => {
    type View = { stats: { requests: number; by_target: Record<string, { requests: number }> } };
    const read = async () => ((await (await admin('/routes/search')).body.json()) as View).stats;
    for (let i = 0; i < 40; i++) await freshRequest(gw.trafficPort, `/search/kept-${i}`);
    const before = await read();
    // The survivor of the test before: the first worker was killed there.
    const victim = workerPids(gw)[1];
    const from = gw.mark();
    process.kill(victim, 'SIGKILL');
    await gw.waitForOutput(/worker (\d+) serving, in place of \d+/, 10_000, from);
    const after = await read();
    assert.equal(after.requests, before.requests, 'the dead worker\'s requests still count');
    assert.equal(after.by_target['upstream:search'].requests, before.by_target['upstream:search'].requests);
    await freshRequest(gw.trafficPort, '/search/one-more');
    assert.equal((await read()).requests, before.requests + 1);
  });

  it('stops its workers on SIGTERM, and none outlives a primary killed with SIGKILL', async () => {
    const pids = () => [...gw.stdout().matchAll(/worker (\d+) serving/g)].map((m) => Number(m[1])).concat(workerPids(gw)).filter(alive);
    const workers = pids();
    assert.ok(workers.length >= 2);
    gw.child.kill('SIGTERM');
    assert.equal(await gw.exited, 0);
    await until('the workers to exit after SIGTERM', () => workers.every((p) => !alive(p)));

    const second = await startServeChild([stack.manifestPath, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '2'], { STRANGLER_ADMIN_TOKEN: TOKEN });
    const orphans = workerPids(second);
    await second.kill();
    await until('the workers to exit once their primary is gone', () => orphans.every((p) => !alive(p)));
  });
});
