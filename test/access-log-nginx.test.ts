// The gateway's access log lines are nginx's: the same request through a real nginx and through
// the gateway gives lines with the same keys in the same order, the same types and the same
// values. A route nginx hands to the gateway is logged by nginx with who answered it (the
// gateway's X-Strangler-Target), which the client does not see without debug_headers.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { lineFor, loggedLines } from './helpers/access-lines';
import { requireNginx } from './helpers/nginx';
import { raw } from './helpers/node-request';
import { startStack, type Stack } from './helpers/stack';

const manifest = (p: { nginx: number; legacy: number; functions: number; gateway: number; admin: number }) => `version: 1
listen: "127.0.0.1:${p.nginx}"
upstreams:
  legacy: { servers: ["127.0.0.1:${p.legacy}"] }
  functions: { servers: ["127.0.0.1:${p.functions}"] }
gateway:
  listen: "127.0.0.1:${p.gateway}"
  admin: "127.0.0.1:${p.admin}"
routes:
  - id: track
    match: { prefix: /api/v1/track }
    to: function:track-package
  - id: images
    match: { prefix: /images/ }
    to: function:image-resizer
    dynamic: true
`;

describe('access log: the gateway writes nginx\'s format', () => {
  let stack: Stack;
  let gateway: GatewayHandle;
  let nginxLog: string;
  let gatewayLog: string;

  before(async function () {
    requireNginx(this);
    stack = await startStack(manifest);
    gateway = await startGateway({ manifestPath: stack.manifestPath, watch: false, env: { STRANGLER_ADMIN_TOKEN: 'access-log-test' } });
    nginxLog = join(stack.nginx!.prefix, 'logs', 'access.log');
    gatewayLog = stack.manifestPath.replace(/\.yaml$/, '.access.log'); // the default: beside the manifest
  });
  after(async () => {
    await gateway?.close(1000);
    await stack?.stop();
  });

  const cases: { name: string; method: string; uri: string }[] = [
    { name: 'a function route', method: 'GET', uri: '/api/v1/track/42?full=1' },
    { name: 'unclaimed traffic to legacy', method: 'GET', uri: '/users/7' },
    { name: 'a legacy 404', method: 'GET', uri: '/status/404' },
    { name: 'a HEAD request', method: 'HEAD', uri: '/api/v1/track/9' },
  ];
  for (const c of cases) {
    it(`${c.name}: same keys, order, types and values from both`, async () => {
      const nBefore = loggedLines(nginxLog).length;
      const gBefore = loggedLines(gatewayLog).length;
      const viaNginx = await raw(`http://127.0.0.1:${stack.ports.nginx}`, c.uri, { method: c.method });
      const viaGateway = await raw(`http://127.0.0.1:${gateway.listen.port}`, c.uri, { method: c.method });
      assert.equal(viaNginx.status, viaGateway.status);
      const n = await lineFor(nginxLog, c.uri, nBefore);
      const g = await lineFor(gatewayLog, c.uri, gBefore);
      assert.deepEqual(Object.keys(g), Object.keys(n));
      for (const k of Object.keys(n)) assert.equal(typeof g[k], typeof n[k], `type of ${k}`);
      for (const k of ['route', 'target', 'method', 'uri', 'status', 'remote_addr']) assert.equal(g[k], n[k], k);
      // The fixtures echo the request, whose Host differs: each line counts the body its client got.
      assert.equal(n.bytes, viaNginx.body.length);
      assert.equal(g.bytes, viaGateway.body.length);
      const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/;
      assert.match(String(n.time), iso);
      assert.match(String(g.time), iso);
      assert.ok((g.request_time as number) >= 0 && (n.request_time as number) >= 0);
    });
  }

  it('a route handed to the gateway: nginx logs who answered, and the client does not see the header', async () => {
    const nBefore = loggedLines(nginxLog).length;
    const res = await raw(`http://127.0.0.1:${stack.ports.nginx}`, '/images/cat.png');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-strangler-target'], undefined);
    const n = await lineFor(nginxLog, '/images/cat.png', nBefore);
    assert.equal(n.route, 'images');
    assert.equal(n.target, 'function:image-resizer');
    assert.equal(n.upstream_addr, `127.0.0.1:${stack.ports.gateway}`);
    const g = await lineFor(gatewayLog, '/images/cat.png', 0);
    assert.equal(g.target, 'function:image-resizer');
  });

  it('a route handed to the gateway: both layers log the one request id (nginx\'s, sent as X-Request-Id) and the User-Agent', async () => {
    const nBefore = loggedLines(nginxLog).length;
    const gBefore = loggedLines(gatewayLog).length;
    const res = await raw(`http://127.0.0.1:${stack.ports.nginx}`, '/images/id.png', { headers: { 'user-agent': 'shield-test/1 "quoted"' } });
    assert.equal(res.status, 200);
    const n = await lineFor(nginxLog, '/images/id.png', nBefore);
    const g = await lineFor(gatewayLog, '/images/id.png', gBefore);
    assert.match(String(n.request_id), /^[0-9a-f]{32}$/);
    assert.equal(g.request_id, n.request_id);
    assert.equal(n.user_agent, 'shield-test/1 "quoted"');
    assert.equal(g.user_agent, n.user_agent);
  });

  it('a client\'s X-Request-Id is logged as is by both; without a User-Agent both log ""', async () => {
    const nBefore = loggedLines(nginxLog).length;
    const gBefore = loggedLines(gatewayLog).length;
    const headers = { 'x-request-id': 'client-id-7' };
    assert.equal((await raw(`http://127.0.0.1:${stack.ports.nginx}`, '/users/8', { headers })).status, 200);
    assert.equal((await raw(`http://127.0.0.1:${gateway.listen.port}`, '/users/8', { headers })).status, 200);
    const n = await lineFor(nginxLog, '/users/8', nBefore);
    const g = await lineFor(gatewayLog, '/users/8', gBefore);
    assert.equal(n.request_id, 'client-id-7');
    assert.equal(g.request_id, 'client-id-7');
    assert.equal(n.user_agent, '');
    assert.equal(g.user_agent, '');
  });

  it('flipped to legacy at runtime: nginx logs legacy for the same route', async () => {
    await gateway.state.set('images', 0, 'test');
    try {
      const nBefore = loggedLines(nginxLog).length;
      const res = await raw(`http://127.0.0.1:${stack.ports.nginx}`, '/images/dog.png');
      assert.equal(res.status, 200);
      const n = await lineFor(nginxLog, '/images/dog.png', nBefore);
      assert.equal(n.target, 'legacy');
    } finally {
      await gateway.state.clear('images');
    }
  });
});
