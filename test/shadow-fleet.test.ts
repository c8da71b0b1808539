// `strangler diff` with several gateway instances on one real redis-server: each instance compares
// the copies of the requests it served, and diff sums what every instance GET /instances lists
// found; --local asks one, --reset forgets on all, an instance that is gone is named and the rest
// still summed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { ShadowReport } from '../gateway/runtime/shadow-report';
import { BIN } from './helpers/serve-child';
import { call, FLEET_TOKEN, startFleet, until, type Fleet, type Instance } from './helpers/fleet';
import { raw } from './helpers/node-request';
import { requireRedis } from './helpers/redis';
import { stackManifestHead } from './helpers/manifests';
import type { StackPorts } from './helpers/stack';

const MANIFEST = (p: StackPorts) => `${stackManifestHead(p)}routes:
  - id: tracking
    match: { prefix: /track/ }
    to: function:track-package
    canary: { percent: 0 }
    shadow: {}
`;

type DiffJson = ShadowReport & { route: string; summed?: string };

describe('strangler diff sums the shadow results of every instance sharing the state', function () {
  this.timeout(120_000);
  let fleet: Fleet;

  const report = async (i: Instance) => (await call(i.child.adminPort, 'GET', '/routes/tracking/shadow')).body as unknown as DiffJson;
  /** `n` users' GETs through instance `i`, then every copy compared there (copies finish after the users' answers). */
  const serve = async (i: Instance, n: number) => {
    const before = (await report(i)).compared;
    for (let k = 0; k < n; k++) assert.equal((await raw(`http://127.0.0.1:${i.child.trafficPort}`, `/track/${k}`)).status, 200);
    await until(`${n} copies compared on instance ${i.child.adminPort}`, async () => (await report(i)).compared === before + n);
  };
  const diff = (admin: number, ...args: string[]) => spawnSync(process.execPath, [BIN, 'diff', 'tracking', '--admin', `127.0.0.1:${admin}`, ...args],
    { env: { ...process.env, STRANGLER_ADMIN_TOKEN: FLEET_TOKEN }, encoding: 'utf8' });
  const diffJson = (admin: number, ...args: string[]) => {
    const out = diff(admin, '--json', ...args);
    assert.equal(out.status, 0, out.stderr);
    return JSON.parse(out.stdout) as DiffJson;
  };

  before(async function () {
    fleet = await startFleet(requireRedis(this), MANIFEST, 2, { nginx: false });
    await until('both instances registered', async () => ((await call(fleet.instances[0].child.adminPort, 'GET', '/instances')).body.gateways as unknown[]).length === 2);
  });
  after(() => fleet?.close());

  it('sums counts and difference paths over the instances; --local shows the asked one alone', async () => {
    await serve(fleet.instances[0], 3);
    await serve(fleet.instances[1], 5);
    const [a, b] = await Promise.all(fleet.instances.map(report));
    assert.equal(a.compared + b.compared, 8);

    const summed = diffJson(fleet.instances[0].child.adminPort);
    assert.equal(summed.summed, 'results summed over 2 instances');
    for (const k of ['compared', 'equal', 'different', 'errors'] as const) assert.equal(summed[k], a[k] + b[k], k);
    assert.ok(summed.differences.length > 0, 'the fixtures answer differently: something to sum');
    for (const d of summed.differences) {
      const count = (r: DiffJson) => r.differences.find((x) => x.path === d.path)?.count ?? 0;
      assert.equal(d.count, count(a) + count(b), d.path);
    }

    const local = diffJson(fleet.instances[1].child.adminPort, '--local');
    assert.equal(local.compared, b.compared);
    assert.equal(local.summed, undefined);

    const text = diff(fleet.instances[1].child.adminPort);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /: 8 compared,/);
    assert.match(text.stdout, /^\(results summed over 2 instances\)$/m);
  });

  it('--reset forgets the results on every instance; --local --reset on the asked one only', async () => {
    await serve(fleet.instances[0], 2);
    await serve(fleet.instances[1], 2);
    assert.equal(diffJson(fleet.instances[1].child.adminPort, '--local', '--reset').compared, 0);
    assert.ok((await report(fleet.instances[0])).compared > 0, 'the other instance kept its results');

    const reset = diffJson(fleet.instances[0].child.adminPort, '--reset');
    assert.equal(reset.compared, 0);
    assert.equal(reset.summed, 'results summed over 2 instances');
    for (const i of fleet.instances) assert.equal((await report(i)).compared, 0);
  });

  it('an instance that is gone is named on stderr and counted; the others are still summed', async () => {
    await serve(fleet.instances[0], 4);
    const gone = fleet.instances[1];
    await gone.child.kill();
    const out = diff(fleet.instances[0].child.adminPort, '--json');
    assert.equal(out.status, 0, out.stderr);
    const body = JSON.parse(out.stdout) as DiffJson;
    assert.equal(body.compared, 4);
    assert.equal(body.summed, 'results summed over 1 instance; 1 did not answer');
    assert.match(out.stderr, new RegExp(`instance http://127\\.0\\.0\\.1:${gone.child.adminPort} did not answer: the gateway is not running`));
  });
});
