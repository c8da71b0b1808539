// The admin API as an attacker sees it: loopback by default, every mutation refused without the
// right token (compared in constant time), browser Origins from elsewhere and foreign Host
// headers refused (DNS rebinding), bodies over the small limit refused with 413, and nothing
// about routes or state in what an unauthenticated caller gets back.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { MAX_BODY_BYTES } from '../gateway/runtime/admin-api';
import { tokenMatches } from '../gateway/runtime/admin-token';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { exchange } from './helpers/raw-http';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { startStack, type Stack } from './helpers/stack';

const TOKEN = 'admin-surface-token-0123456789abcdef';

describe('admin surface: what an unauthenticated or cross-site caller can do', function () {
  this.timeout(60_000);
  let stack: Stack;
  let gw: GatewayHandle;
  let host: string;

  before(async () => {
    stack = await startStack(ROUTING_MANIFEST, { nginx: false });
    gw = await startGateway({ manifestPath: stack.manifestPath, watch: false, env: { STRANGLER_ADMIN_TOKEN: TOKEN } });
    host = `127.0.0.1:${gw.admin.port}`;
  });
  after(async () => {
    await gw?.close(500);
    await stack?.stop();
  });

  function admin(method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer, chunked = false) {
    const h: Record<string, string> = { Host: host, Connection: 'close', ...headers };
    const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
    if (b && !chunked && h['Content-Length'] === undefined) h['Content-Length'] = String(b.length);
    if (chunked) h['Transfer-Encoding'] = 'chunked';
    const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
    const payload = b ? (chunked ? Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n0\r\n\r\n')]) : b) : Buffer.alloc(0);
    return exchange(gw.admin.port, { raw: Buffer.concat([Buffer.from(head, 'latin1'), payload]) }, 10_000);
  }

  /** Strings that would tell an outsider about the routing: route ids, targets, upstream ports, the manifest hash. */
  function leaks(text: string): string[] {
    const secrets = [
      ...stack.table.routes.map((r) => r.id).filter((id) => id.length > 4 && id !== 'routes'), // "off", "docs", "slow" are ordinary words
      'function:', 'upstream:', 'track-package', 'image-resizer', String(stack.ports.legacy), String(stack.ports.functions),
      stack.table.sha256.slice(0, 12), TOKEN,
    ];
    return secrets.filter((s) => text.includes(s));
  }

  it('listens on loopback by default', () => {
    assert.equal(gw.admin.host, '127.0.0.1');
    const { table } = compileManifest('version: 1\nlisten: 8080\nupstreams:\n  legacy: { servers: ["127.0.0.1:8081"] }\nroutes: []\n', 'routes.yaml');
    assert.ok(['127.0.0.1', '::1', 'localhost'].includes(table!.gateway.admin.host), `default admin address ${table!.gateway.admin.text}`);
  });

  it('refuses every mutation without the right token, changing nothing and saying nothing', async () => {
    const body = '{"percent":0}';
    const json = { 'Content-Type': 'application/json' };
    const bad: Record<string, string | undefined> = {
      'no Authorization': undefined,
      'wrong token': `Bearer wrong`,
      'token prefix': `Bearer ${TOKEN.slice(0, -1)}`,
      'token plus a byte': `Bearer ${TOKEN}x`,
      'token in Basic': `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
      'empty bearer': 'Bearer ',
      'token without a scheme': TOKEN,
      'two tokens': `Bearer ${TOKEN} ${TOKEN}`,
      'token with a NUL': `Bearer ${TOKEN}\u0000`,
    };
    let refused = 0;
    for (const [why, auth] of Object.entries(bad)) {
      for (const path of ['/routes/track', '/routes/default', '/routes/nope', '/routes/%2e%2e', '/routes/track?x=1']) {
        const e = await admin('PATCH', path, { ...json, ...(auth === undefined ? {} : { Authorization: auth }) }, body);
        assert.ok(e.status === 401 || e.status === 400, `${why} ${path}: ${e.status}`);
        assert.deepEqual(leaks(e.body.toString('latin1')), [], `${why} ${path}: the answer names internals`);
        refused++;
      }
    }
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const e = await admin(method, '/routes/track', json, body);
      assert.ok(e.status === 405 || e.status === 404, `${method}: ${e.status}`);
      refused++;
    }
    for (const path of ['/routes', '/routes/track', '/metrics']) {
      const e = await admin('GET', path);
      assert.equal(e.status, 401, `GET ${path} without the token`);
      assert.deepEqual(leaks(e.body.toString('latin1')), [], `GET ${path}: the answer names internals`);
      refused++;
    }
    assert.equal(gw.state.override('track'), undefined, 'no override was set');
    assert.ok(!existsSync(gw.statePath), 'the state file was never written');
    const ok = await admin('PATCH', '/routes/track', { ...json, Authorization: `Bearer ${TOKEN}` }, '{"percent":50}');
    assert.equal(ok.status, 200, 'the right token works');
    const back = await admin('PATCH', '/routes/track', { ...json, Authorization: `Bearer ${TOKEN}` }, '{"percent":null}');
    assert.equal(back.status, 200);
    console.log(`      admin surface: ${refused} unauthorised requests refused, 0 changes`);
  });

  it('compares tokens in constant time: sha256 digests of both sides through crypto.timingSafeEqual', () => {
    const src = readFileSync(join(__dirname, '..', '..', 'gateway', 'runtime', 'admin-token.ts'), 'utf8');
    const fn = src.slice(src.indexOf('export function tokenMatches'), src.indexOf('\n}', src.indexOf('export function tokenMatches')));
    assert.match(fn, /createHash\('sha256'\)\.update\(expected[^)]*\)\.digest\(\)/, 'the expected token is hashed');
    assert.match(fn, /createHash\('sha256'\)\.update\(presented[^)]*\)\.digest\(\)/, 'the presented token is hashed');
    assert.match(fn, /timingSafeEqual\(a, b\)/, 'the digests are compared with timingSafeEqual');
    assert.doesNotMatch(fn, /expected\s*[!=]==|[!=]==\s*expected|\.equals\(|\.compare\(/, 'no early-exit comparison of the token');
    // The admin API uses it for every token check.
    const api = readFileSync(join(__dirname, '..', '..', 'gateway', 'runtime', 'admin-api.ts'), 'utf8');
    assert.match(api, /const presented = bearerToken\(req\.headers\.authorization\);/);
    assert.match(api, /tokenMatches\(opts\.token, presented\)/);
    assert.match(api, /tokenMatches\(opts\.readToken, presented\)/, 'the read-only token too');
    assert.doesNotMatch(api, /opts\.(read)?[tT]oken\s*[!=]==|[!=]==\s*opts\.(read)?[tT]oken/, 'no direct comparison of a token');
    // Different lengths do not throw (timingSafeEqual would on raw inputs of unequal length).
    assert.equal(tokenMatches(TOKEN, 'x'), false);
    assert.equal(tokenMatches(TOKEN, TOKEN + TOKEN), false);
    assert.equal(tokenMatches(TOKEN, ''), false);
    assert.equal(tokenMatches(TOKEN, null), false);
    assert.equal(tokenMatches(TOKEN, TOKEN), true);
  });

  it('refuses browser Origins from elsewhere and foreign Host headers, even with the token (DNS rebinding)', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
    const port = gw.admin.port;
    const origins = ['http://evil.example', `http://evil.example:${port}`, 'null', `https://127.0.0.1:${port}`, `http://127.0.0.1:${port + 1}`,
      `http://user@127.0.0.1:${port}`, `http://127.0.0.1:${port}/path`, 'file://', `http://127.0.0.1.evil.example:${port}`];
    for (const origin of origins) {
      const e = await admin('PATCH', '/routes/track', { ...auth, Origin: origin }, '{"percent":0}');
      assert.equal(e.status, 403, `Origin ${origin}`);
      assert.deepEqual(leaks(e.body.toString('latin1')), []);
    }
    const hosts = ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, '127.0.0.1', `127.0.0.1.nip.io:${port}`, `localhost.evil.example:${port}`, `[::2]:${port}`, ''];
    for (const h of hosts) {
      for (const [method, path] of [['PATCH', '/routes/track'], ['GET', '/routes'], ['GET', '/healthz']]) {
        const e = await admin(method, path, { ...auth, Host: h }, method === 'PATCH' ? '{"percent":0}' : undefined);
        assert.ok(e.status === 403 || (h === '' && e.status === 400), `Host ${JSON.stringify(h)} ${method} ${path}: ${e.status}`);
        assert.deepEqual(leaks(e.body.toString('latin1')), []);
      }
    }
    assert.equal(gw.state.override('track'), undefined, 'nothing changed');
    const own = await admin('GET', '/routes', { ...auth, Origin: `http://127.0.0.1:${port}` });
    assert.equal(own.status, 200, 'its own origin is allowed');
    const local = await admin('GET', '/routes', { ...auth, Host: `localhost:${port}` });
    assert.equal(local.status, 200, 'localhost:port is allowed');
    console.log(`      admin surface: ${origins.length} foreign Origins and ${hosts.length * 3} foreign Host requests refused`);
  });

  it(`refuses bodies over ${MAX_BODY_BYTES} bytes with 413, declared, undeclared or chunked, and keeps serving`, async () => {
    const auth = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
    const big = `{"percent":1,"pad":"${'p'.repeat(MAX_BODY_BYTES)}"}`;
    const declared = await admin('PATCH', '/routes/track', { ...auth, 'Content-Length': String(10 * 1024 ** 3) });
    assert.equal(declared.status, 413, 'a declared 10 GiB body is refused before it is sent');
    const sent = await admin('PATCH', '/routes/track', auth, big);
    assert.equal(sent.status, 413);
    const chunked = await admin('PATCH', '/routes/track', auth, big, true);
    assert.equal(chunked.status, 413);
    const unauth = await admin('PATCH', '/routes/track', { 'Content-Type': 'application/json', 'Content-Length': String(10 * 1024 ** 3) });
    assert.equal(unauth.status, 401, 'without the token the body is not even considered');
    for (const e of [declared, sent, chunked, unauth]) assert.deepEqual(leaks(e.body.toString('latin1')), []);
    assert.equal(gw.state.override('track'), undefined);
    const health = await admin('GET', '/healthz');
    assert.equal(health.status, 200);
  });
});
