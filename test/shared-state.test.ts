// Many gateways, one state: three `strangler serve` processes on one real redis-server. A change
// through any instance is effective on all; changes under load fail no request; Redis killed,
// stopped and restarted empty keeps the last state serving, refuses changes, then re-seeds; an
// instance killed with -9 comes back on the shared state.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createClient } from 'redis';
import { preciseNowMs } from '../gateway/util/host-clock';
import { BIN } from './helpers/serve-child';
import { call, FLEET_TOKEN, patchPercent, routeState, startFleet, startLoad, until, type Fleet } from './helpers/fleet';
import { requireRedis } from './helpers/redis';
import { stackManifestHead } from './helpers/manifests';
import type { StackPorts } from './helpers/stack';

const MANIFEST = (p: StackPorts) => `${stackManifestHead(p)}routes:
  - id: images
    match: { prefix: /track/ }
    to: function:track-package
    canary: { percent: 10 }
`;

describe('shared state: several gateway instances on one Redis', function () {
  this.timeout(180_000);
  let fleet: Fleet;
  const admins = () => fleet.instances.map((i) => i.child.adminPort);
  const traffic = () => fleet.instances.map((i) => i.child.trafficPort);

  /** Every instance serves `percent` at version >= `version`. */
  const converged = (percent: number, version = 0) => until(`every instance at ${percent}% (version >= ${version})`, async () => {
    const states = await Promise.all(admins().map((p) => routeState(p, 'images')));
    return states.every((s) => s.percent === percent && s.version >= version);
  });

  before(async function () {
    fleet = await startFleet(requireRedis(this), MANIFEST, 3, { nginx: false });
  });
  after(() => fleet?.close());

  it('a change through one instance is effective on all, at the same version, and in traffic', async () => {
    const sent = preciseNowMs();
    const res = await patchPercent(admins()[0], 'images', 100);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const version = res.body.state_version as number;
    assert.ok(version >= 1);
    await converged(100, version);
    for (const port of traffic()) {
      const load = startLoad([port], '/track/a', 2);
      await until('some requests', () => load.stats.ok >= 20);
      const s = await load.stop();
      assert.deepEqual([...s.sides.keys()], ['function'], `instance on ${port} serves the change`);
    }
    const health = await call(admins()[1], 'GET', '/healthz');
    const { state_adopted_at_ms: adopted, ...state } = health.body.state as Record<string, unknown>;
    assert.deepEqual(state, { store: 'redis', available: true, state_version: version, stale_seconds: 0 });
    // When the other instance began serving the change: after it was sent, before it was seen there.
    assert.ok(typeof adopted === 'number' && adopted >= sent && adopted <= preciseNowMs(), `adopted at ${String(adopted)}, sent at ${sent}`);
  });

  it('100 changes under load across three instances: no failed request, each change effective everywhere once acknowledged', async () => {
    const load = startLoad(traffic(), '/track/x', 6);
    let last = { percent: -1, version: 0 };
    for (let n = 0; n < 100; n++) {
      const percent = n % 2 === 0 ? 0 : 100;
      const res = await patchPercent(admins()[n % 3], 'images', percent);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const version = res.body.state_version as number;
      assert.ok(version > last.version, `versions increase: ${version} after ${last.version}`);
      last = { percent, version };
      // Acknowledged: every other instance takes it (pushed), polled without fixed sleeps.
      await converged(percent, version);
    }
    const s = await load.stop();
    assert.equal(s.failed, 0, `failed requests: ${s.failures.join('; ')}`);
    assert.ok(s.ok > 100, `load ran: ${s.ok} requests`);
    const states = await Promise.all(admins().map((p) => routeState(p, 'images')));
    assert.deepEqual(states, [last, last, last]);
  });

  it('strangler status lists every instance with its version', () => {
    const out = spawnSync(process.execPath, [BIN, 'status', '--admin', `127.0.0.1:${admins()[0]}`], { env: { ...process.env, STRANGLER_ADMIN_TOKEN: FLEET_TOKEN }, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /^3 instances sharing the state:/m);
    for (const port of admins()) assert.match(out.stdout, new RegExp(`127\\.0\\.0\\.1:${port} .* ok$`, 'm'));
  });

  it('strangler status --all sums the counters over the instances', async () => {
    const per = await Promise.all(admins().map(async (p) => ((await call(p, 'GET', '/routes/images')).body.stats as { requests: number }).requests));
    const out = spawnSync(process.execPath, [BIN, 'status', '--all', '--json', '--admin', `127.0.0.1:${admins()[1]}`], { env: { ...process.env, STRANGLER_ADMIN_TOKEN: FLEET_TOKEN }, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const body = JSON.parse(out.stdout) as { summed: string; routes: { id: string; stats: { requests: number } }[] };
    assert.equal(body.summed, 'counters summed over 3 instances');
    assert.ok(per.every((n) => n > 0), `each instance served some: ${per}`);
    // No traffic runs now: the sum is exactly the instances' own counters.
    assert.equal(body.routes.find((r) => r.id === 'images')!.stats.requests, per.reduce((a, b) => a + b, 0));
  });

  it('PATCH /routes (the kill switch) through one instance: one version, one audit entry, the whole fleet; GET /instances lists every gateway', async () => {
    const before = (await call(admins()[2], 'GET', '/audit?limit=500')).body.entries as unknown[];
    const v0 = ((await call(admins()[2], 'GET', '/routes/images')).body.state_version as number);
    const res = await call(admins()[2], 'PATCH', '/routes', { all: 0 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const images = (res.body.routes as { id: string; state_version: number }[]).find((r) => r.id === 'images')!;
    assert.equal(images.state_version, v0 + 1, 'one version for the whole change');
    await converged(0, v0 + 1);
    // The audit is the fleet's stream: any instance reads the one bulk entry.
    const after = (await call(admins()[0], 'GET', '/audit?limit=500')).body.entries as { action: string; routes?: Record<string, { new: number }> }[];
    assert.equal(after.length, before.length + 1);
    assert.equal(after.at(-1)!.action, 'bulk');
    assert.equal(after.at(-1)!.routes!.images.new, 0);

    await until('every instance reports the version', async () => {
      const body = (await call(admins()[1], 'GET', '/instances')).body as { gateways: { state_version: number }[] };
      return body.gateways.length === 3 && body.gateways.every((g) => g.state_version === v0 + 1);
    });
    const body = (await call(admins()[1], 'GET', '/instances')).body as { gateways: { admin: string; lag: number; self: boolean; available: boolean; last_seen: string }[]; nginx: unknown[] };
    assert.deepEqual(body.nginx, []);
    assert.deepEqual(body.gateways.map((g) => g.admin).sort(), admins().map((p) => `http://127.0.0.1:${p}`).sort());
    assert.deepEqual(body.gateways.filter((g) => g.self).map((g) => g.admin), [`http://127.0.0.1:${admins()[1]}`]);
    assert.ok(body.gateways.every((g) => g.lag === 0 && g.available && !Number.isNaN(Date.parse(g.last_seen))));
    const undo = await call(admins()[0], 'PATCH', '/routes', { all: null });
    assert.equal(undo.status, 200, JSON.stringify(undo.body));
  });

  it('Redis killed, stopped and restarted empty under load: last state kept, changes refused then accepted, re-seeded, no request failed', async () => {
    const set = await patchPercent(admins()[0], 'images', 100);
    const before = set.body.state_version as number;
    await converged(100, before);
    const load = startLoad(traffic(), '/track/y', 6);

    // Killed: every instance keeps serving 100%, refuses changes with 503 state_unavailable.
    await fleet.redis.kill();
    for (const port of admins()) {
      await until('a refused change', async () => (await patchPercent(port, 'images', 0)).status === 503, 400, 10);
      const r = await patchPercent(port, 'images', 0);
      assert.equal(r.status, 503);
      assert.equal(r.body.error, 'state_unavailable');
      const h = await call(port, 'GET', '/healthz');
      assert.equal(h.body.status, 'degraded');
      assert.equal((h.body.state as { available: boolean }).available, false);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${admins()[0]}/metrics`, { headers: { authorization: `Bearer ${FLEET_TOKEN}` } })).text();
    assert.match(metrics, /^strangler_state_available 0$/m);
    assert.match(metrics, /^strangler_state_stale_seconds [0-9.]+$/m);
    const seenDown = load.stats.ok;
    await until('traffic while Redis is down', () => load.stats.ok > seenDown + 50);
    assert.deepEqual(await Promise.all(admins().map((p) => routeState(p, 'images'))), [0, 1, 2].map(() => ({ percent: 100, version: before })));

    // An instance restarted while Redis is down starts from its local snapshot, not the manifest's 10%.
    // (The load stops first: requests to an instance being killed fail because of the kill.)
    await load.stop();
    await fleet.instances[2].child.kill();
    fleet.instances[2] = await fleet.start(2);
    assert.deepEqual(await routeState(fleet.instances[2].child.adminPort, 'images'), { percent: 100, version: before });
    assert.match(fleet.instances[2].child.stderr(), /unreachable; serving the local snapshot/);
    const load2 = startLoad(traffic(), '/track/y', 6);

    // Restarted empty: re-seeded from the instances' last state, never reset to the manifest.
    await fleet.redis.restart();
    const probe = createClient({ url: fleet.redis.url });
    await probe.connect();
    try {
      await until('Redis re-seeded', async () => Number(await probe.hGet('strangler:state', 'version')) === before, 1000, 10);
      assert.equal(JSON.parse((await probe.hGet('strangler:state', 'routes'))!).images.percent, 100);
      await until('changes accepted again', async () => (await patchPercent(admins()[1], 'images', 50)).status === 200, 1000, 10);
      await converged(50, before + 1);

      // Stopped (SIGSTOP): commands time out, changes are refused and never land later.
      fleet.redis.stop();
      const refused = await patchPercent(admins()[0], 'images', 0);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      fleet.redis.cont();
      await until('changes accepted after SIGCONT', async () => (await patchPercent(admins()[2], 'images', 75)).status === 200, 1000, 10);
      await converged(75);
      const v = Number(await probe.hGet('strangler:state', 'version'));
      assert.equal(JSON.parse((await probe.hGet('strangler:state', 'routes'))!).images.percent, 75, 'the refused change did not land');
      await converged(75, v);
      const audit = await probe.xRange('strangler:audit', '-', '+');
      const entries = (audit ?? []).map((e) => JSON.parse(e.message.entry) as { route?: string; new?: number });
      assert.ok(entries.some((e) => e.new === 75 && e.route === 'images'), 'the audit stream holds the change');
    } finally {
      probe.destroy();
    }
    const s = await load2.stop();
    assert.equal(load.stats.failed + s.failed, 0, `failed requests: ${[...load.stats.failures, ...s.failures].join('; ')}`);
  });

  it('an instance killed with -9 and restarted takes the shared state, including changes made while it was down', async () => {
    await fleet.instances[1].child.kill();
    const res = await patchPercent(admins()[0], 'images', 33);
    assert.equal(res.status, 200);
    const version = res.body.state_version as number;
    fleet.instances[1] = await fleet.start(1);
    await converged(33, version);
    // Its local snapshot follows (written just after the state is applied).
    await until('the snapshot at the shared version', () => (JSON.parse(readFileSync(fleet.instances[1].snapshot, 'utf8')) as { version: number }).version === version);
  });

  it('an older state, in Redis or on the channel, is never applied: Redis is re-seeded from the instances', async () => {
    const { percent, version } = await routeState(admins()[0], 'images');
    const probe = createClient({ url: fleet.redis.url });
    await probe.connect();
    try {
      const old = { images: { percent: 5, updated_at: new Date(0).toISOString(), by: 'an old dump' } };
      await probe.publish('strangler:state', JSON.stringify({ version: 1, routes: old }));
      await probe.hSet('strangler:state', { version: '1', routes: JSON.stringify(old) });
      await until('Redis re-seeded past the old version', async () => Number(await probe.hGet('strangler:state', 'version')) === version, 1000, 10);
      assert.equal(JSON.parse((await probe.hGet('strangler:state', 'routes'))!).images.percent, percent);
    } finally {
      probe.destroy();
    }
    assert.deepEqual(await Promise.all(admins().map((p) => routeState(p, 'images'))), [0, 1, 2].map(() => ({ percent, version })));
    assert.ok(fleet.instances.some((i) => /older than this instance's/.test(i.child.stderr())), 'the re-seed is logged');
  });

  it('an instance with --workers 2 serves a change made elsewhere from every worker', async () => {
    const workers = await fleet.start(3, ['--workers', '2']);
    try {
      for (const percent of [100, 0]) {
        const res = await patchPercent(admins()[0], 'images', percent);
        assert.equal(res.status, 200);
        await until('the workers instance takes it', async () => (await routeState(workers.child.adminPort, 'images')).percent === percent);
        const load = startLoad([workers.child.trafficPort], '/track/w', 4);
        await until('requests through both workers', () => load.stats.ok >= 60);
        const s = await load.stop();
        assert.deepEqual([...s.sides.keys()], [percent === 100 ? 'function' : 'legacy']);
      }
    } finally {
      await workers.child.kill();
    }
  });
});
