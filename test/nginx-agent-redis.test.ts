// strangler agent on a Redis state, with a real redis-server, a real nginx and two real
// `strangler serve` on that Redis: a change through either gateway reaches nginx through the
// agent, the host shows in GET /instances of every gateway with the state version it serves,
// and with Redis gone nginx keeps the last config while the agent reports again once it is back.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { request } from 'undici';
import { call, FLEET_TOKEN, patchPercent, startFleet, until, type Fleet } from './helpers/fleet';
import { STACK_MANIFEST_HEAD } from './helpers/manifests';
import { requireNginx } from './helpers/nginx';
import { requireRedis } from './helpers/redis';
import { startCliChild, type CliChild } from './helpers/serve-child';
import type { StackPorts } from './helpers/stack';

const MANIFEST = (p: StackPorts) => `
${STACK_MANIFEST_HEAD(p)}gateway: { listen: "127.0.0.1:${p.gateway}", admin: "127.0.0.1:${p.admin}" }
routes:
  - { id: track, match: { prefix: /api/v1/track }, to: "function:track-package" }
  - { id: images, match: { prefix: /images/ }, to: "function:image-resizer", canary: { percent: 0, sticky: "cookie:sid" } }
`;

interface InstancesBody {
  gateways: Array<{ id: string; state_version: number; self: boolean }>;
  nginx: Array<{ host: string; state_version: number; lagging: boolean; failure: unknown }>;
}

describe('strangler agent --state redis://…: nginx follows changes made through any gateway', function () {
  this.timeout(180_000);
  let fleet: Fleet;
  let agent: CliChild;

  before(async function () {
    requireNginx(this);
    fleet = await startFleet(requireRedis(this), MANIFEST, 2);
    agent = await startCliChild('agent', [fleet.stack.manifestPath, '--conf', fleet.stack.nginx!.confPath, '--prefix', fleet.stack.nginx!.prefix, '--state', fleet.redis.url],
      { STRANGLER_ADMIN_TOKEN: FLEET_TOKEN, STRANGLER_REDIS_URL: '' });
  });
  after(async () => {
    await agent?.kill();
    await fleet?.close();
  });

  async function targetOf(path: string): Promise<string> {
    // A fresh connection each time: the agent's reloads close the old workers' idle keep-alive
    // connections by design, and a request sent on one as it closes fails with "other side closed".
    const res = await request(`http://127.0.0.1:${fleet.stack.ports.nginx}${path}`, { reset: true, headers: { cookie: 'sid=user-1' } });
    await res.body.dump();
    return String(res.headers['x-strangler-target']);
  }

  const instances = async (admin: number): Promise<InstancesBody> => {
    const r = await call(admin, 'GET', '/instances');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body as unknown as InstancesBody;
  };

  /** Every gateway lists the one nginx host at `version` or later (a gateway still reconnecting answers 503: not yet). */
  const hostsAt = (version: number) => until(`the nginx host reported at version ${version} on every gateway`, async () => {
    const all = await Promise.all(fleet.instances.map((i) => call(i.child.adminPort, 'GET', '/instances')));
    return all.every((r) => {
      const b = r.body as unknown as InstancesBody;
      return r.status === 200 && b.nginx.length === 1 && b.nginx[0].state_version >= version && b.nginx[0].failure === null;
    });
  }, 3000, 10);

  it('a PATCH through either gateway reaches nginx, and every gateway shows the host at that state version', async () => {
    assert.equal(await targetOf('/images/a.png'), 'legacy');
    const first = await patchPercent(fleet.instances[1].child.adminPort, 'images', 100);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const v1 = first.body.state_version as number;
    await until('nginx to send /images/ to the function', async () => (await targetOf('/images/a.png')) === 'function:image-resizer', 3000, 10);
    await hostsAt(v1);
    const seen = await instances(fleet.instances[0].child.adminPort);
    assert.equal(seen.gateways.length, 2, JSON.stringify(seen.gateways));
    assert.equal(seen.nginx[0].lagging, false);
    assert.match(seen.nginx[0].host, new RegExp(`:${fleet.stack.nginx!.confPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));

    // The other gateway, a flip back: the same agent follows it.
    const second = await patchPercent(fleet.instances[0].child.adminPort, 'images', 0);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    const v2 = second.body.state_version as number;
    assert.ok(v2 > v1);
    await until('nginx to send /images/ back to legacy', async () => (await targetOf('/images/a.png')) === 'legacy', 3000, 10);
    await hostsAt(v2);
    assert.ok(existsSync(`${fleet.stack.nginx!.confPath}.state.json`), 'the agent keeps the last state followed for a start without Redis');
  });

  it('Redis gone: nginx keeps the last config; back (empty): the gateways re-seed it and the agent reports again', async () => {
    const set = await patchPercent(fleet.instances[0].child.adminPort, 'images', 100);
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const version = set.body.state_version as number;
    await hostsAt(version);
    await fleet.redis.kill();
    const refused = await patchPercent(fleet.instances[1].child.adminPort, 'images', 0);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    // Meanwhile nginx serves what it served; polled over many requests rather than once.
    for (let i = 0; i < 50; i++) assert.equal(await targetOf('/images/a.png'), 'function:image-resizer');
    await fleet.redis.restart();
    await hostsAt(version);
    assert.equal(await targetOf('/images/a.png'), 'function:image-resizer');
    assert.match(agent.stderr(), /Redis/, 'the agent said that Redis was unreachable');
  });
});
