// The compiled nginx.conf on a real nginx, against the real fixtures: which side serves each
// path, what path and query each upstream sees, methods, canary share and stickiness, fallback,
// timeouts, body limits and debug headers.
import assert from 'node:assert/strict';
import { request } from 'undici';
import WebSocket from 'ws';
import { canarySide } from '../gateway/runtime/split-clients';
import { requireNginx } from './helpers/nginx';
import { rawRequest } from './helpers/raw-http';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { startStack, type Stack } from './helpers/stack';


interface Echo { served_by: string; function?: string; instance?: string; method: string; url: string; headers: Record<string, string> }

describe('compiled nginx.conf on a real nginx', function () {
  let stack: Stack;
  let port: number;

  before(async function () {
    requireNginx(this);
    stack = await startStack(ROUTING_MANIFEST);
    port = stack.ports.nginx;
  });
  after(async () => stack?.stop());
  afterEach(() => stack?.functions.setFaults(''));

  async function get(target: string, opts: Parameters<typeof rawRequest>[2] = {}) {
    const res = await rawRequest(port, target, opts);
    let json: Echo | null = null;
    try { json = JSON.parse(res.body.toString('utf8')); } catch { /* not JSON */ }
    return { ...res, json };
  }

  const cases: { target: string; method?: string; served: string; fn?: string; url: string; route: string; target_header: string }[] = [
    { target: '/api/v1/track/7?x=1&y=%20', served: 'function', fn: 'track-package', url: '/function/track-package/7?x=1&y=%20', route: 'track', target_header: 'function:track-package' },
    { target: '/api/v1/track', served: 'function', fn: 'track-package', url: '/function/track-package', route: 'track', target_header: 'function:track-package' },
    { target: '/api/v1/track/', served: 'function', fn: 'track-package', url: '/function/track-package/', route: 'track', target_header: 'function:track-package' },
    { target: '/api/v1/tracking', served: 'legacy', url: '/api/v1/tracking', route: 'default', target_header: 'legacy' },
    { target: '/api/v1/track/7', method: 'POST', served: 'legacy', url: '/api/v1/track/7', route: 'track', target_header: 'legacy' },
    { target: '/api/v1/orders', method: 'GET', served: 'legacy', url: '/api/v1/orders', route: 'orders', target_header: 'legacy' },
    { target: '/generate-report?format=pdf', served: 'function', fn: 'generate-report', url: '/function/generate-report?format=pdf', route: 'report', target_header: 'function:generate-report' },
    { target: '/docs/a/b.pdf', served: 'function', fn: 'generate-report', url: '/function/generate-report/docs/a/b.pdf', route: 'pdf', target_header: 'function:generate-report' },
    { target: '/docs/a/b.txt', served: 'legacy', url: '/docs/a/b.txt', route: 'docs', target_header: 'upstream:search' },
    { target: '/search?q=a&q=b', served: 'legacy', url: '/search?q=a&q=b', route: 'search', target_header: 'upstream:search' },
    { target: '/health', served: 'legacy', url: '/health', route: 'default', target_header: 'legacy' },
    { target: '/off/1', served: 'legacy', url: '/off/1', route: 'off', target_header: 'legacy' },
    // Legacy receives the request URI exactly as sent; matching happens on the normalised path.
    { target: '/x//y/./z/../w?a=%41', served: 'legacy', url: '/x//y/./z/../w?a=%41', route: 'default', target_header: 'legacy' },
    { target: '/api/v1/%74rack/%37', served: 'function', fn: 'track-package', url: '/function/track-package/7', route: 'track', target_header: 'function:track-package' },
    { target: '/api//v1/track/./9', served: 'function', fn: 'track-package', url: '/function/track-package/9', route: 'track', target_header: 'function:track-package' },
  ];

  for (const c of cases) {
    it(`${c.method ?? 'GET'} ${c.target} → ${c.served} ${c.url}`, async () => {
      const res = await get(c.target, { method: c.method, body: c.method === 'POST' ? '{}' : undefined, headers: c.method === 'POST' ? { 'content-type': 'application/json' } : {} });
      assert.equal(res.headers['x-strangler-route'], c.route);
      assert.equal(res.headers['x-strangler-target'], c.target_header);
      assert.ok(res.json, `JSON body expected, got ${res.status} ${res.body.toString().slice(0, 200)}`);
      assert.equal(res.json.served_by, c.served);
      if (c.fn) assert.equal(res.json.function, c.fn);
      assert.equal(res.json.url, c.url);
    });
  }

  it('sends upstream:NAME routes to that upstream', async () => {
    const res = await get('/search?q=1');
    assert.equal(res.json?.instance, 'search');
  });

  it('forwards X-Forwarded-* and X-Real-IP, and Host as the client sent it', async () => {
    const res = await get('/api/v1/track/1', { headers: { host: 'shop.example', 'x-forwarded-for': '203.0.113.9' } });
    const h = res.json!.headers;
    assert.equal(h['x-real-ip'], '127.0.0.1');
    assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'shop.example');
    assert.equal(h.host, 'shop.example');
  });

  it('answers POST /api/v1/orders through the async function with 202', async () => {
    const res = await get('/api/v1/orders', { method: 'POST', body: '{"sku":1}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 202);
    assert.match(res.headers['x-call-id'] ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(res.headers['x-strangler-target'], 'async:order-intake');
  });

  it('splits a canary by nginx split_clients over cookie+salt: share within tolerance, each cookie sticky', async () => {
    const n = 1200;
    let toFunction = 0;
    const agents = Array.from({ length: 8 }, (_, w) => (async () => {
      for (let i = w; i < n; i += 8) {
        const cookie = `user-${i}-${(i * 7919) % 1000}`;
        const res = await request(`http://127.0.0.1:${port}/images/cat.png`, { headers: { cookie: `theme=dark; session_id=${cookie}` } });
        await res.body.dump();
        const side = res.headers['x-served-by'] === 'legacy' ? 'legacy' : 'to';
        if (side === 'to') toFunction++;
        assert.equal(side, canarySide(cookie, 'v1', 30), `cookie ${cookie}`);
      }
    })());
    await Promise.all(agents);
    const share = toFunction / n;
    assert.ok(share > 0.25 && share < 0.35, `share ${share}`);
  });

  it('buckets requests without the sticky cookie at random, not all into one side', async () => {
    const sides = new Set<string>();
    for (let i = 0; i < 60 && sides.size < 2; i++) {
      const res = await get('/images/x.png');
      sides.add(res.headers['x-served-by'] === 'legacy' ? 'legacy' : 'function');
    }
    assert.deepEqual([...sides].sort(), ['function', 'legacy']);
  });

  it('falls back to legacy when the function answers 503 on a GET', async () => {
    stack.functions.setFaults('status=503', 'generate-report');
    const res = await get('/generate-report');
    assert.equal(res.status, 200);
    assert.equal(res.json!.served_by, 'legacy');
    assert.equal(res.headers['x-strangler-target'], 'legacy');
    assert.equal(res.headers['x-strangler-route'], 'report');
  });

  it('does not replay a POST to legacy when the function fails: 502 JSON', async () => {
    stack.functions.setFaults('status=503', 'generate-report');
    const before = stack.legacy.requests;
    const res = await get('/generate-report', { method: 'POST', body: 'x' });
    assert.equal(res.status, 502);
    assert.deepEqual(JSON.parse(res.body.toString()), { error: 'upstream_failed', route: 'report', target: 'function:generate-report' });
    assert.equal(stack.legacy.requests, before);
  });

  it('falls back to legacy after a read timeout on a GET, and answers 504 for a POST', async () => {
    stack.functions.setFaults('delay=3000', 'generate-report');
    const ok = await get('/generate-report/x');
    assert.equal(ok.json!.served_by, 'legacy');
    const before = stack.legacy.requests;
    const post = await get('/generate-report/x', { method: 'POST', body: 'x' });
    assert.equal(post.status, 504);
    assert.equal(JSON.parse(post.body.toString()).error, 'upstream_timeout');
    assert.equal(stack.legacy.requests, before);
  });

  it('falls back to legacy when the upstream refuses connections', async () => {
    const res = await get('/gone/a');
    assert.equal(res.json!.served_by, 'legacy');
    const nofb = await get('/gone-nofb/a');
    assert.equal(nofb.status, 502);
  });

  it('answers 504 when the function is slower than the read timeout and there is no fallback', async () => {
    stack.functions.setFaults('delay=3000', 'track-package');
    const res = await get('/slow/1');
    assert.equal(res.status, 504);
    assert.equal(res.headers['x-strangler-route'], 'slow');
  });

  it('refuses a body over the route limit with 413', async () => {
    const res = await get('/upload/1', { method: 'POST', body: 'x'.repeat(2048) });
    assert.equal(res.status, 413);
    const small = await get('/upload/1', { method: 'POST', body: 'x'.repeat(512) });
    assert.equal(small.status, 200);
  });

  it('refuses a path that climbs above / with 400', async () => {
    const res = await get('/../etc/passwd');
    assert.equal(res.status, 400);
  });

  it('passes WebSocket upgrades through to legacy', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('hello through nginx'));
      ws.on('message', (data) => resolve(data.toString()));
      ws.on('error', reject);
    });
    ws.close();
    assert.equal(echoed, 'hello through nginx');
  });
});
