// strangler agent on a Redis state, with a real redis-server, a real nginx and two real
// `strangler serve` on that Redis: a change through either gateway reaches nginx through the
// agent, the host shows in GET /instances of every gateway with the state version it serves,
// and with Redis gone nginx keeps the last config while the agent reports again once it is back.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { call, FLEET_TOKEN, patchPercent, startInstance, until, type Instance } from './helpers/fleet';
import { STACK_MANIFEST_HEAD } from './helpers/manifests';
import { requireNginx } from './helpers/nginx';
import { requireRedis, startRedis, type RunningRedis } from './helpers/redis';
import { startCliChild, type CliChild } from './helpers/serve-child';
import { startStack, type Stack, type StackPorts } from './helpers/stack';

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
  let redis: RunningRedis;
  let stack: Stack;
  let dir: string;
  let fleet: Instance[] = [];
  let agent: CliChild;

  before(async function () {
    requireNginx(this);
    const bin = requireRedis(this);
    redis = await startRedis(bin);
    stack = await startStack(MANIFEST);
    dir = mkdtempSync(join(tmpdir(), 'strangler-agent-redis-'));
    fleet = await Promise.all([0, 1].map((n) => startInstance(stack.manifestPath, redis.url, dir, n)));
    agent = await startCliChild('agent', [stack.manifestPath, '--conf', stack.nginx!.confPath, '--prefix', stack.nginx!.prefix, '--state', redis.url],
      { STRANGLER_ADMIN_TOKEN: FLEET_TOKEN, STRANGLER_REDIS_URL: '' });
  });
  after(async () => {
    await agent?.kill();
    await Promise.all(fleet.map((i) => i.child.kill()));
    await stack?.stop();
    await redis?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function targetOf(path: string): Promise<string> {
    const res = await request(`http://127.0.0.1:${stack.ports.nginx}${path}`, { headers: { cookie: 'sid=user-1' } });
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
    const all = await Promise.all(fleet.map((i) => call(i.child.adminPort, 'GET', '/instances')));
    return all.every((r) => {
      const b = r.body as unknown as InstancesBody;
      return r.status === 200 && b.nginx.length === 1 && b.nginx[0].state_version >= version && b.nginx[0].failure === null;
    });
  }, 3000, 10);

  it('a PATCH through either gateway reaches nginx, and every gateway shows the host at that state version', async () => {
    assert.equal(await targetOf('/images/a.png'), 'legacy');
    const first = await patchPercent(fleet[1].child.adminPort, 'images', 100);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const v1 = first.body.state_version as number;
    await until('nginx to send /images/ to the function', async () => (await targetOf('/images/a.png')) === 'function:image-resizer', 3000, 10);
    await hostsAt(v1);
    const seen = await instances(fleet[0].child.adminPort);
    assert.equal(seen.gateways.length, 2, JSON.stringify(seen.gateways));
    assert.equal(seen.nginx[0].lagging, false);
    assert.match(seen.nginx[0].host, new RegExp(`:${stack.nginx!.confPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));

    // The other gateway, a flip back: the same agent follows it.
    const second = await patchPercent(fleet[0].child.adminPort, 'images', 0);
    assert.equal(second.status, 200, JSON.stringify(second.body));
    const v2 = second.body.state_version as number;
    assert.ok(v2 > v1);
    await until('nginx to send /images/ back to legacy', async () => (await targetOf('/images/a.png')) === 'legacy', 3000, 10);
    await hostsAt(v2);
    assert.ok(existsSync(`${stack.nginx!.confPath}.state.json`), 'the agent keeps the last state followed for a start without Redis');
  });

  it('Redis gone: nginx keeps the last config; back (empty): the gateways re-seed it and the agent reports again', async () => {
    const set = await patchPercent(fleet[0].child.adminPort, 'images', 100);
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const version = set.body.state_version as number;
    await hostsAt(version);
    await redis.kill();
    const refused = await patchPercent(fleet[1].child.adminPort, 'images', 0);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    // Meanwhile nginx serves what it served; polled over many requests rather than once.
    for (let i = 0; i < 50; i++) assert.equal(await targetOf('/images/a.png'), 'function:image-resizer');
    await redis.restart();
    await hostsAt(version);
    assert.equal(await targetOf('/images/a.png'), 'function:image-resizer');
    assert.match(agent.stderr(), /Redis/, 'the agent said that Redis was unreachable');
  });
});
