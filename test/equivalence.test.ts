// The gateway's one promise: for the same manifest and state it routes every request exactly as
// the compiled nginx does. One manifest, compiled into a real nginx and served by the gateway
// standalone; every request of the corpus goes through both, and the route, the target and the
// request the upstream received must be identical.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { request } from 'undici';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { ROUTING_MANIFEST, TLS_ROUTING_MANIFEST } from './helpers/manifests';
import { freePort } from './helpers/net';
import { requireNginx } from './helpers/nginx';
import { rawRequest, type RawRequestOptions, type RawResponse } from './helpers/raw-http';
import { startStack, startStackWithGateway, stopStackWithGateway, type Stack } from './helpers/stack';
import { observe, pick, type Observed } from './helpers/parity';
import { makeCertificate, requireTlsTools } from './helpers/tls';

/** Request targets sent verbatim: matching kinds, boundaries, encodings, dot segments, queries. */
export const EQUIVALENCE_TARGETS: readonly string[] = [
  '/', '/health', '/index.php?page=1',
  '/api/v1/track', '/api/v1/track/', '/api/v1/track/7', '/api/v1/tracking', '/api/v1/track7', '/api/v1/trac',
  '/api/v1/track/7?x=1&y=%20', '/api/v1/track/7?', '/api/v1/track/7?a=b?c', '/api/v1/track/7?a=%zz',
  '/api/v1/orders', '/api/v1/orders/', '/api/v1/orders/1',
  '/generate-report', '/generate-report/', '/generate-reports', '/generate-report/q3.pdf', '/generate-report?f=pdf&lang=no',
  '/images/', '/images', '/images/a/b/c.png', '/imagesx/a.png',
  '/docs/a.pdf', '/docs/a/b.pdf', '/docs/.pdf', '/docs/a.PDF', '/docs/a.pdf/x', '/docs', '/docs/', '/docs/readme.txt', '/docsx/a.pdf',
  '/search', '/search/', '/search?q=a&q=b', '/searching', '/search/deep/er?x',
  '/off', '/off/1',
  // percent-encoding: matching is on the decoded path, legacy gets the bytes as sent
  '/api/v1/%74rack/%37', '/api/v1/track/a%20b', '/api/v1/track/%2e%2e/x', '/api/v1/track/%2F7', '/api/v1/track/a%3Fb?c=d',
  '/api/v1/track/%E2%9C%93', '/api/v1/track/%e2%9c%93', '/%61pi/v1/track/1', '/api/v1/track/%25', '/api/v1/track/%23x',
  '/api/v1/track/a+b', '/api/v1/track/7;jsessionid=1', '/api/v1/track/~user', "/api/v1/track/it's", '/api/v1/track/(1)',
  '/docs/a%2Epdf', '/docs/%2E%2E/docs/a.pdf', '/search%2Fx', '/images/%2e%2e/%2e%2e/health',
  // dot segments and slashes
  '/api/v1/track/./7', '/api/v1/x/../track/7', '/api/v1/track/..', '/api/v1/track/../track/8', '//api/v1/track/1',
  '/api/v1//track/7', '/api/v1/track//7', '/./api/v1/track', '/api/v1/track/.', '/images/./a.png', '/docs/x/../y.pdf',
  '/generate-report/..', '/generate-report/../generate-report', '/a/b/../../api/v1/orders',
  // refused by nginx: climbing above the root
  '/..', '/../x', '/a/../../x', '/api/%2e%2e/%2e%2e/%2e%2e/x',
];

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];

/** What both must agree on; upstreamHeaders holds the Host, X-Forwarded-Host and -Proto the upstream received. */
type Seen = Pick<Observed, 'status' | 'route' | 'target' | 'servedBy' | 'fn' | 'instance' | 'url' | 'upstreamHeaders'>;

/** Host headers with and without ports, default and not, in the forms nginx normalises. */
const HOSTS = ['localhost', 'localhost:80', 'localhost:443', 'localhost:8443', 'LocalHost.:8080', 'api.example.test:080',
  '[::1]:80', '[::1]:8443', '127.0.0.1:9', 'localhost:abc', 'localhost:'];

function seenOf(res: RawResponse): Seen {
  const o = observe(res);
  // Both answer refused requests themselves; only the status class is part of the promise.
  if (res.status >= 400 && !o.servedBy) return { status: Math.floor(res.status / 100) * 100 };
  return pick(o, ['route', 'target', 'servedBy', 'fn', 'instance', 'url', 'upstreamHeaders']);
}

describe('equivalence: the gateway routes exactly as the compiled nginx', function () {
  let stack: Stack;
  let gateway: GatewayHandle;

  before(async function () {
    requireNginx(this);
    ({ stack, gateway } = await startStackWithGateway(ROUTING_MANIFEST, 'equivalence-test-token'));
  });
  after(() => stopStackWithGateway({ stack, gateway: gateway }));

  const both = (target: string, method = 'GET', headers: Record<string, string> = {}) =>
    compare(stack.ports.nginx, gateway.listen.port, target, method, headers);

  it(`routes ${EQUIVALENCE_TARGETS.length} request targets × ${METHODS.length} methods identically`, async () => {
    const mismatches: string[] = [];
    let compared = 0;
    for (const target of EQUIVALENCE_TARGETS) {
      for (const method of METHODS) {
        const [n, g] = await both(target, method);
        compared++;
        try {
          assert.deepEqual(g, n);
        } catch {
          mismatches.push(`${method} ${target}\n    nginx:   ${JSON.stringify(n)}\n    gateway: ${JSON.stringify(g)}`);
        }
      }
    }
    console.log(`      equivalence corpus: ${compared} requests compared, ${mismatches.length} mismatches`);
    assert.equal(mismatches.length, 0, `gateway and nginx disagree:\n${mismatches.slice(0, 30).join('\n')}`);
  });

  it('puts each of 1,000 sticky cookies on the same side of a 30% canary', async () => {
    const disagree: string[] = [];
    let toFunction = 0;
    const cookies = Array.from({ length: 1000 }, (_, i) => `s${i}.${(i * 2654435761) % 4294967296}`);
    for (let i = 0; i < cookies.length; i += 10) {
      await Promise.all(cookies.slice(i, i + 10).map(async (cookie) => {
        const sides = await Promise.all([stack.ports.nginx, gateway.listen.port].map(async (port) => {
          const res = await request(`http://127.0.0.1:${port}/images/p.png`, { headers: { cookie: `session_id=${cookie}` } });
          await res.body.dump();
          return res.headers['x-served-by'] === 'legacy' ? 'legacy' : 'function';
        }));
        if (sides[0] !== sides[1]) disagree.push(`${cookie}: nginx ${sides[0]}, gateway ${sides[1]}`);
        if (sides[0] === 'function') toFunction++;
      }));
    }
    assert.deepEqual(disagree, []);
    assert.ok(toFunction > 240 && toFunction < 360, `function share ${toFunction}/1000`);
  });

  it(`sends the same Host upstream for ${HOSTS.length} Host headers (the client's port kept where it is not 80)`, async () => {
    const mismatches = await compareHosts(both);
    assert.deepEqual(mismatches, []);
  });
});

describe('equivalence over HTTPS: nginx\'s tls listener and the gateway\'s gateway.tls', function () {
  let stack: Stack;
  let gateway: GatewayHandle;
  let tlsPort: number;

  before(async function () {
    requireNginx(this);
    requireTlsTools(this);
    const cert = makeCertificate();
    tlsPort = await freePort();
    stack = await startStack(TLS_ROUTING_MANIFEST(cert, tlsPort));
    gateway = await startGateway({ manifestPath: stack.manifestPath, watch: false, env: { STRANGLER_ADMIN_TOKEN: 'equivalence-test-token' } });
  });
  after(async () => {
    await gateway?.close(1000);
    await stack?.stop();
  });

  const both = (target: string, method = 'GET', headers: Record<string, string> = {}) =>
    compare(tlsPort, gateway.listen.port, target, method, headers, { tls: { servername: 'localhost' } });

  it(`routes ${EQUIVALENCE_TARGETS.length} request targets × GET, POST identically over HTTPS`, async () => {
    const mismatches: string[] = [];
    for (const target of EQUIVALENCE_TARGETS) {
      for (const method of ['GET', 'POST']) {
        const [n, g] = await both(target, method);
        if (!isDeepStrictEqual(n, g)) mismatches.push(`${method} ${target}\n    nginx:   ${JSON.stringify(n)}\n    gateway: ${JSON.stringify(g)}`);
      }
    }
    console.log(`      equivalence over HTTPS: ${EQUIVALENCE_TARGETS.length * 2} requests compared, ${mismatches.length} mismatches`);
    assert.equal(mismatches.length, 0, `gateway and nginx disagree over HTTPS:\n${mismatches.slice(0, 30).join('\n')}`);
  });

  it('redirects a trailing-slash prefix without its slash to https, each on its own port', async () => {
    const opts = { tls: { servername: 'localhost' } };
    const [n, g] = await Promise.all([rawRequest(tlsPort, '/images', opts), rawRequest(gateway.listen.port, '/images', opts)]);
    assert.deepEqual([n.status, g.status], [301, 301]);
    assert.equal(n.headers.location, `https://localhost:${tlsPort}/images/`);
    assert.equal(g.headers.location, `https://localhost:${gateway.listen.port}/images/`);
    // Both pages go out with their length, not chunked.
    for (const r of [n, g]) {
      assert.equal(r.headers['transfer-encoding'], undefined);
      assert.equal(r.headers['content-length'], String(r.body.length));
    }
  });

  it(`sends the same Host upstream for ${HOSTS.length} Host headers (the client's port kept where it is not 443)`, async () => {
    const [n] = await both('/health', 'GET', { host: 'localhost:8443' });
    assert.equal(n.upstreamHeaders?.host, 'localhost:8443');
    assert.equal(n.upstreamHeaders?.['x-forwarded-proto'], 'https');
    assert.deepEqual(await compareHosts(both), []);
  });
});

async function compare(nginxPort: number, gatewayPort: number, target: string, method: string, headers: Record<string, string>,
  extra: Partial<RawRequestOptions> = {}): Promise<[Seen, Seen]> {
  const body = method === 'POST' || method === 'PUT' || method === 'PATCH' ? '{"n":1}' : undefined;
  // A fixed session cookie: without it the /images/ canary would pick a side at random.
  const opts = { ...extra, method, body, headers: { 'content-type': 'application/json', cookie: 'session_id=fixed-user', ...headers } };
  const [n, g] = await Promise.all([rawRequest(nginxPort, target, opts), rawRequest(gatewayPort, target, opts)]);
  return [seenOf(n), seenOf(g)];
}

async function compareHosts(both: (target: string, method: string, headers: Record<string, string>) => Promise<[Seen, Seen]>): Promise<string[]> {
  const mismatches: string[] = [];
  for (const host of HOSTS) {
    for (const target of ['/health', '/api/v1/track/7', 'http://other.example/health']) {
      const [n, g] = await both(target, 'GET', { host });
      if (!isDeepStrictEqual(n, g)) mismatches.push(`Host: ${host}, ${target}: nginx ${JSON.stringify(n)}, gateway ${JSON.stringify(g)}`);
    }
  }
  return mismatches;
}
