// The gateway's access log lines are nginx's: the same request through a real nginx and through
// the gateway gives lines with the same keys in the same order, the same types and the same
// values. A route nginx hands to the gateway is logged by nginx with who answered it (the
// gateway's X-Strangler-Target), which the client does not see without debug_headers. A shadowed
// route's copy is no user request: neither log has a line for it.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { request } from 'undici';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { lineFor, loggedLines } from './helpers/access-lines';
import { requireNginx } from './helpers/nginx';
import { raw } from './helpers/node-request';
import { rawRequest } from './helpers/raw-http';
import { pollUntil } from './helpers/poll';
import { gatewayBehindNginx } from './helpers/manifests';
import { startStack, type Stack, type StackPorts } from './helpers/stack';

const manifest = (p: StackPorts) => gatewayBehindNginx(p, `  - id: track
    match: { prefix: /api/v1/track }
    to: function:track-package
  - id: images
    match: { prefix: /images/ }
    to: function:image-resizer
    dynamic: true
  - id: prices
    match: { prefix: /api/v1/prices }
    to: function:price-quote
    canary: { percent: 0 }
    shadow: {}`);

const TOKEN = 'access-log-test';

describe('access log: the gateway writes nginx\'s format', () => {
  let stack: Stack;
  let gateway: GatewayHandle;
  let nginxLog: string;
  let gatewayLog: string;

  before(async function () {
    requireNginx(this);
    stack = await startStack(manifest);
    gateway = await startGateway({ manifestPath: stack.manifestPath, watch: false, env: { STRANGLER_ADMIN_TOKEN: TOKEN } });
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

  it('a chunked answer: both log the body with its chunk framing, as it went to the client, on a kept-alive connection too', async () => {
    // The fixture writes the echo in one chunk: "<hex size>\r\n<body>\r\n", then "0\r\n\r\n".
    const framed = (body: Buffer) => body.length.toString(16).length + 2 + body.length + 2 + 5;
    for (const [port, log] of [[stack.ports.nginx, nginxLog], [gateway.listen.port, gatewayLog]] as const) {
      // Two answers on one connection: the second's size must not count the first's.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (const uri of ['/users/chunked-1?fixture_fault=chunked', '/users/chunked-22?fixture_fault=chunked']) {
          const before = loggedLines(log).length;
          const res = await raw(`http://127.0.0.1:${port}`, uri, { agent });
          assert.equal(res.status, 200);
          assert.equal(res.headers['transfer-encoding'], 'chunked');
          assert.equal(res.headers['content-length'], undefined);
          assert.equal((await lineFor(log, uri, before)).bytes, framed(res.body), `${uri} on port ${port}`);
        }
      } finally {
        agent.destroy();
      }
    }
  });

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

  it('bytes above 0x7f in a User-Agent are logged as the client sent them, by both', async () => {
    // nginx's escape=json copies such bytes as they are; Node hands each over as one char.
    const ua = 'ua-\xe9-\xc3\xa9'; // written on the wire as latin1: one byte a char
    const send = (port: number) => rawRequest(port, '/users/high-bytes', { headers: { 'user-agent': ua } });
    const nBefore = loggedLines(nginxLog).length;
    const gBefore = loggedLines(gatewayLog).length;
    assert.equal((await send(stack.ports.nginx)).status, 200);
    assert.equal((await send(gateway.listen.port)).status, 200);
    // Read as latin1, each byte is one char: both lines must carry the bytes sent.
    const n = await lineFor(nginxLog, '/users/high-bytes', nBefore, 'latin1');
    const g = await lineFor(gatewayLog, '/users/high-bytes', gBefore, 'latin1');
    assert.equal(n.user_agent, ua);
    assert.equal(g.user_agent, n.user_agent);
  });

  it('a shadowed route: one line in each log, naming the side that served the user; the copy writes none', async () => {
    const [nBefore, gBefore] = [loggedLines(nginxLog).length, loggedLines(gatewayLog).length];
    const res = await raw(`http://127.0.0.1:${stack.ports.nginx}`, '/api/v1/prices/sku-9');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-strangler-target'], undefined);
    await pollUntil('the copy compared', async () => {
      const r = await request(`http://127.0.0.1:${stack.ports.admin}/routes/prices/shadow`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return ((await r.body.json()) as { compared: number }).compared === 1;
    });
    // Each log is written in order: a later request's line means every earlier one is there.
    await raw(`http://127.0.0.1:${stack.ports.nginx}`, '/after-the-copy');
    await raw(`http://127.0.0.1:${stack.ports.gateway}`, '/after-the-copy');
    await Promise.all([lineFor(nginxLog, '/after-the-copy', nBefore), lineFor(gatewayLog, '/after-the-copy', gBefore)]);
    const prices = (lines: ReturnType<typeof loggedLines>) => lines.filter((l) => String(l.uri).includes('prices')).map((l) => [l.route, l.target, l.uri]);
    assert.deepEqual(prices(loggedLines(nginxLog).slice(nBefore)), [['prices', 'legacy', '/api/v1/prices/sku-9']]);
    assert.deepEqual(prices(loggedLines(gatewayLog).slice(gBefore)), [['prices', 'legacy', '/api/v1/prices/sku-9']]);
  });

  it('flipped to legacy at runtime: nginx logs legacy for the same route', async () => {
    await gateway.state.apply(new Map([['images', 0]]), 'test');
    try {
      const nBefore = loggedLines(nginxLog).length;
      const res = await raw(`http://127.0.0.1:${stack.ports.nginx}`, '/images/dog.png');
      assert.equal(res.status, 200);
      const n = await lineFor(nginxLog, '/images/dog.png', nBefore);
      assert.equal(n.target, 'legacy');
    } finally {
      await gateway.state.apply(new Map([['images', null]]), 'test');
    }
  });
});
