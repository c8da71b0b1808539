// Canary rollout through the admin API: raising a route's percent only ever moves users from
// legacy to the function, never back; each sticky key (cookie, header, client address) keeps a
// user on one side; requests without the key, and routes without one, are bucketed at random.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import supertest from 'supertest';
import { request } from 'undici';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { startStack, type Stack, type StackPorts } from './helpers/stack';

const TOKEN = 'canary-test-token';

const CANARY_MANIFEST = (p: StackPorts) => `
version: 1
listen: "127.0.0.1:${p.nginx}"
upstreams:
  legacy: { servers: ["127.0.0.1:${p.legacy}"], keepalive: 16 }
  functions: { servers: ["127.0.0.1:${p.functions}"], keepalive: 16 }
gateway: { listen: "127.0.0.1:${p.gateway}", admin: "127.0.0.1:${p.admin}" }
routes:
  - id: images
    match: { prefix: /images/ }
    to: function:image-resizer
    canary: { percent: 10, sticky: "cookie:session_id", salt: "v1" }
  - id: by-header
    match: { prefix: /by-header }
    to: function:track-package
    canary: { percent: 50, sticky: "header:X-User-Id" }
  - id: by-ip
    match: { prefix: /by-ip }
    to: function:track-package
    canary: { percent: 50, sticky: ip }
  - id: coin
    match: { prefix: /coin }
    to: function:track-package
    canary: { percent: 50 }
`;

type Side = 'function' | 'legacy';

describe('canary rollout through the admin API', function () {
  this.timeout(120_000);
  let stack: Stack;
  let gw: GatewayHandle;
  let admin: supertest.Agent;
  let base: string;

  before(async () => {
    stack = await startStack(CANARY_MANIFEST, { nginx: false });
    gw = await startGateway({ manifestPath: stack.manifestPath, watch: false, listen: '127.0.0.1:0', admin: '127.0.0.1:0', env: { STRANGLER_ADMIN_TOKEN: TOKEN } });
    admin = supertest.agent(`http://127.0.0.1:${gw.admin.port}`).set('authorization', `Bearer ${TOKEN}`);
    base = `http://127.0.0.1:${gw.listen.port}`;
  });
  after(async () => {
    await gw?.close(1000);
    await stack?.stop();
  });

  async function setPercent(route: string, percent: number): Promise<void> {
    const res = await admin.patch(`/routes/${route}`).send({ percent }).expect(200);
    assert.equal(res.body.effective_percent, percent);
  }

  async function side(path: string, headers: Record<string, string> = {}): Promise<Side> {
    // Both fixtures mark every answer (legacy serves /images/ as PNG, not JSON).
    const res = await request(`${base}${path}`, { headers });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    const by = res.headers['x-served-by'];
    assert.ok(by === 'function' || by === 'legacy', `x-served-by: ${String(by)}`);
    return by;
  }

  /** `f` over `items`, `width` at a time. */
  async function pool<T, R>(items: readonly T[], width: number, f: (item: T) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    await Promise.all(Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]);
      }
    }));
    return out;
  }

  it('raises a cookie canary 10 → 25 → 50 → 100 without moving anyone from the function back to legacy', async () => {
    const cookies = Array.from({ length: 500 }, (_, i) => `user-${i}-${(i * 2654435761) % 4294967296}`);
    const onFunction = new Set<string>();
    const shares: string[] = [];
    for (const percent of [10, 25, 50, 100]) {
      await setPercent('images', percent);
      const sides = await pool(cookies, 16, (c) => side(`/images/${c}.png`, { cookie: `theme=dark; session_id=${c}` }));
      const movedBack = cookies.filter((c, i) => onFunction.has(c) && sides[i] === 'legacy');
      assert.deepEqual(movedBack, [], `at ${percent}% these users went back to legacy`);
      cookies.forEach((c, i) => { if (sides[i] === 'function') onFunction.add(c); });
      const share = (100 * onFunction.size) / cookies.length;
      shares.push(`${percent}%: ${onFunction.size}/500`);
      if (percent === 100) assert.equal(onFunction.size, cookies.length);
      else assert.ok(Math.abs(share - percent) < 7, `at ${percent}% the function got ${share}% of the users`);
      // Sticky: asking again at the same percent gives the same answers.
      const again = await pool(cookies.slice(0, 100), 16, (c) => side(`/images/${c}.png`, { cookie: `session_id=${c}` }));
      assert.deepEqual(again, sides.slice(0, 100), `at ${percent}% the same users must stay on the same side`);
    }
    console.log(`      function share: ${shares.join(', ')}`);
  });

  it('buckets requests without the sticky cookie at random: both sides, about the percent', async () => {
    await setPercent('images', 50);
    const sides = await pool(Array.from({ length: 300 }, (_, i) => i), 16, () => side('/images/anon.png', { cookie: 'theme=dark' }));
    const fn = sides.filter((s) => s === 'function').length;
    assert.ok(fn > 100 && fn < 200, `50% canary without the key: ${fn}/300 to the function`);
  });

  it('a route without a sticky key is random per request', async () => {
    const sides = await pool(Array.from({ length: 300 }, (_, i) => i), 16, () => side('/coin/toss', { cookie: 'session_id=same-user', 'x-user-id': 'same-user' }));
    const fn = sides.filter((s) => s === 'function').length;
    assert.ok(fn > 100 && fn < 200, `50% canary, no sticky key: ${fn}/300 to the function`);
  });

  it('header sticky key: each X-User-Id stays on its side, and raising the percent only adds users', async () => {
    const users = Array.from({ length: 200 }, (_, i) => `u${i * 7919}`);
    const at50 = await pool(users, 16, (u) => side('/by-header/x', { 'x-user-id': u }));
    const again = await pool(users, 16, (u) => side('/by-header/y', { 'X-USER-ID': u }));
    assert.deepEqual(again, at50, 'same header value, same side (header name in any case)');
    const fn50 = at50.filter((s) => s === 'function').length;
    assert.ok(fn50 > 60 && fn50 < 140, `50%: ${fn50}/200`);
    await setPercent('by-header', 80);
    const at80 = await pool(users, 16, (u) => side('/by-header/z', { 'x-user-id': u }));
    assert.deepEqual(users.filter((_, i) => at50[i] === 'function' && at80[i] === 'legacy'), []);
    assert.ok(at80.filter((s) => s === 'function').length > fn50);
    // Without the header: random.
    const anon = await pool(Array.from({ length: 200 }, (_, i) => i), 16, () => side('/by-header/anon'));
    const fnAnon = anon.filter((s) => s === 'function').length;
    assert.ok(fnAnon > 110 && fnAnon < 200, `80% canary without the header: ${fnAnon}/200`);
  });

  it('ip sticky key: each client address stays on its side, and raising the percent only adds clients', async () => {
    // Every 127.0.0.0/8 address is loopback on Linux: 60 clients with their own addresses.
    const addrs = Array.from({ length: 60 }, (_, i) => `127.0.${1 + (i >> 4)}.${2 + (i & 15)}`);
    const fromAddr = (addr: string) => new Promise<{ side: Side; realIp: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: gw.listen.port, path: '/by-ip/p', localAddress: addr, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => { text += d; }).on('end', () => {
          const body = JSON.parse(text) as { served_by: Side; headers: Record<string, string> };
          resolve({ side: body.served_by, realIp: body.headers['x-real-ip'] });
        });
      });
      req.on('error', reject);
      req.end();
    });
    await setPercent('by-ip', 50);
    const first = await pool(addrs, 8, fromAddr);
    assert.deepEqual(first.map((r) => r.realIp), addrs, 'the upstream sees each client\'s own address');
    const second = await pool(addrs, 8, fromAddr);
    assert.deepEqual(second.map((r) => r.side), first.map((r) => r.side), 'same address, same side');
    const fn50 = first.filter((r) => r.side === 'function').length;
    assert.ok(fn50 > 12 && fn50 < 48, `50%: ${fn50}/60 addresses on the function`);
    await setPercent('by-ip', 90);
    const at90 = await pool(addrs, 8, fromAddr);
    assert.deepEqual(addrs.filter((_, i) => first[i].side === 'function' && at90[i].side === 'legacy'), []);
  });
});
