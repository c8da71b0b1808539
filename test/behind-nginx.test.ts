// A dynamic route behind nginx behaves exactly like the same route compiled into nginx: the same
// canary side for each client address (60 sources from 127.0.0.0/8) and each cookie, and the
// same forwarding headers at the upstream. nginx is a trusted proxy (gateway.trusted_proxies,
// default loopback), so the gateway takes the client from X-Real-IP.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { requireNginx } from './helpers/nginx';
import { stackManifestHead } from './helpers/manifests';
import { startStack, startStackWithGateway, stopStackWithGateway, type Stack, type StackPorts } from './helpers/stack';

const route = (id: string, prefix: string, sticky: string, dynamic: boolean) =>
  `  - { id: ${id}, match: { prefix: ${prefix} }, to: "function:track-package", canary: { percent: 50, sticky: "${sticky}", salt: "eq" }, dynamic: ${dynamic} }`;

const MANIFEST = (p: StackPorts) => `${stackManifestHead(p)}routes:
${route('ip-static', '/ip-static/', 'ip', false)}
${route('ip-dynamic', '/ip-dynamic/', 'ip', true)}
${route('cookie-static', '/cookie-static/', 'cookie:sid', false)}
${route('cookie-dynamic', '/cookie-dynamic/', 'cookie:sid', true)}
`;

interface Seen { side: string; headers: Record<string, string | undefined> }

const FORWARDING = ['x-real-ip', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'host'];

function get(port: number, path: string, localAddress: string, headers: Record<string, string> = {}): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, localAddress, agent: false, headers: { host: 'shop.example', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; }).on('end', () => {
        try {
          assert.equal(res.statusCode, 200, text);
          const body = JSON.parse(text) as { served_by: string; headers: Record<string, string> };
          resolve({ side: body.served_by, headers: Object.fromEntries(FORWARDING.map((h) => [h, body.headers[h]])) });
        } catch (err) { reject(err); }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('behind nginx: a dynamic route behaves like the same route compiled into nginx', function () {
  this.timeout(120_000);
  let stack: Stack;
  let gw: GatewayHandle;

  before(async function () {
    requireNginx(this);
    // gateway.listen is where nginx's strangler_gateway upstream points.
    ({ stack, gateway: gw } = await startStackWithGateway(MANIFEST, 'behind-nginx'));
  });
  after(() => stopStackWithGateway({ stack, gateway: gw }));

  const sources = Array.from({ length: 60 }, (_, i) => `127.${1 + (i % 3)}.${i >> 4}.${2 + (i & 15)}`);

  it('sticky: ip — each of 60 client addresses gets the same side and the same forwarding headers', async () => {
    const sides = new Map<string, number>();
    for (const [i, addr] of sources.entries()) {
      // Some clients come with their own X-Forwarded-For, as behind another proxy.
      const extra: Record<string, string> = i % 4 === 0 ? { 'x-forwarded-for': `198.51.100.${i}` } : {};
      const s = await get(stack.ports.nginx, `/ip-static/${i}`, addr, extra);
      const d = await get(stack.ports.nginx, `/ip-dynamic/${i}`, addr, extra);
      assert.equal(d.side, s.side, `client ${addr}: static ${s.side}, dynamic ${d.side}`);
      assert.deepEqual(d.headers, s.headers, `client ${addr}: forwarding headers at the upstream`);
      assert.equal(s.headers['x-real-ip'], addr);
      sides.set(s.side, (sides.get(s.side) ?? 0) + 1);
    }
    // 50%: both sides see clients (not all on one, as when the gateway hashed nginx's address).
    assert.ok((sides.get('function') ?? 0) >= 15 && (sides.get('legacy') ?? 0) >= 15, `split ${JSON.stringify([...sides])}`);
  });

  it('sticky: cookie — each of 60 cookies gets the same side', async () => {
    const sides = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      const cookie = { cookie: `sid=user-${i}` };
      const s = await get(stack.ports.nginx, `/cookie-static/${i}`, sources[i], cookie);
      const d = await get(stack.ports.nginx, `/cookie-dynamic/${i}`, sources[i], cookie);
      assert.equal(d.side, s.side, `cookie user-${i}`);
      assert.deepEqual(d.headers, s.headers);
      sides.set(s.side, (sides.get(s.side) ?? 0) + 1);
    }
    assert.ok((sides.get('function') ?? 0) >= 15 && (sides.get('legacy') ?? 0) >= 15, `split ${JSON.stringify([...sides])}`);
  });
});

describe('behind nginx: gateway.servers, balanced with passive health checks', function () {
  this.timeout(120_000);
  let stack: Stack;
  const gateways: GatewayHandle[] = [];
  // p.dead is free: the second instance listens there.
  const TWO = (p: StackPorts) => `${stackManifestHead(p, `, servers: ["127.0.0.1:${p.gateway}", "127.0.0.1:${p.dead}"]`)}routes:
${route('ip-dynamic', '/ip-dynamic/', 'ip', true)}
`;

  before(async function () {
    requireNginx(this);
    stack = await startStack(TWO);
    for (const listen of [stack.ports.gateway, stack.ports.dead]) {
      gateways.push(await startGateway({ manifestPath: stack.manifestPath, watch: false, listen: `127.0.0.1:${listen}`, admin: '127.0.0.1:0', state: `${stack.manifestPath}.${listen}.state.json`, env: { STRANGLER_ADMIN_TOKEN: 'x' } }));
    }
  });
  after(async () => {
    await Promise.all(gateways.map((g) => g.close(1000)));
    await stack?.stop();
  });

  const served = async (g: GatewayHandle) => {
    const r = await fetch(`http://127.0.0.1:${g.admin.port}/routes/ip-dynamic`, { headers: { authorization: 'Bearer x' } });
    return ((await r.json()) as { stats: { requests: number } }).stats.requests;
  };

  it('spreads dynamic routes over both instances, and keeps serving when one is gone', async () => {
    for (let i = 0; i < 40; i++) await get(stack.ports.nginx, `/ip-dynamic/${i}`, '127.0.0.1');
    const counts = await Promise.all(gateways.map(served));
    assert.ok(counts.every((n) => n > 0), `both instances served: ${counts}`);
    await gateways[1].close(1000);
    for (let i = 0; i < 40; i++) await get(stack.ports.nginx, `/ip-dynamic/after-${i}`, '127.0.0.1'); // each asserts 200
  });
});
