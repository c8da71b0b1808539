// Shadow copies through the real gateway: the user is served by the decided side, a copy goes to
// the other side, and the two answers are compared into GET /routes/:id/shadow. Upstreams are
// real HTTP servers whose answers each test scripts (test/helpers/shadow-rig.ts).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import type { GatewayHandle } from '../gateway/runtime/serve-gateway';
import { loggedLines } from './helpers/access-lines';
import { pollUntil } from './helpers/poll';
import { json, type Script, type ScriptedUpstream } from './helpers/scripted-upstream';
import { SHADOW_RIG_TOKEN, startShadowRig, type ShadowRig } from './helpers/shadow-rig';

const manifest = (legacy: number, functions: number, bodyTemp: string) => `
version: 1
listen: 8080
debug_headers: true
gateway: { body_temp_path: "${bodyTemp}" }
upstreams:
  legacy: { servers: ["127.0.0.1:${legacy}"] }
  functions: { servers: ["127.0.0.1:${functions}"] }
routes:
  - id: report
    match: { prefix: /report }
    to: function:report
    canary: { percent: 0 }
    shadow:
      ignore: ["$.generated_at", "$.items[*].id", "header:date"]
      max_body: 64k
      timeout: 1s
  - id: served-by-function
    match: { prefix: /fn-first }
    to: function:fn-first
    shadow: {}
  - id: writes
    match: { prefix: /writes }
    to: function:writes
    canary: { percent: 0 }
    shadow: { methods: [GET, POST], side_effect_free: true, max_body: 1k }
  - id: streams
    match: { prefix: /streams }
    to: function:streams
    canary: { percent: 0 }
    body: { buffering: false }
    shadow: { methods: [POST], side_effect_free: true }
  - id: uploads
    match: { prefix: /uploads }
    to: function:uploads
    canary: { percent: 0 }
    body: { buffer: 1k }
    shadow: { methods: [POST], side_effect_free: true, max_body: 64k }
  - id: one-at-a-time
    match: { prefix: /single }
    to: function:single
    canary: { percent: 0 }
    shadow: { max_in_flight: 1, timeout: 30s }
  - id: noisy
    match: { prefix: /noisy }
    to: function:noisy
    canary: { percent: 0 }
    shadow: { noise: { sample: 100 } }
  - id: plain
    match: { prefix: /plain }
    to: function:plain
`;

describe('shadow copies: compare the function with legacy on real traffic', function () {
  this.timeout(30_000);
  let rig: ShadowRig;
  let legacy: ScriptedUpstream;
  let functions: ScriptedUpstream;
  let gateway: GatewayHandle;
  let dir: string;

  before(async () => {
    rig = await startShadowRig((p) => manifest(p.legacy, p.functions, join(p.dir, 'body')));
    ({ legacy, functions, gateway, dir } = rig);
  });
  after(() => rig?.close());

  const url = (path: string) => rig.url(path);
  const admin = (method: string, path: string) => rig.admin(method, path);
  const results = (route: string) => rig.results(route);
  const reset = (route: string) => admin('DELETE', `/routes/${route}/shadow`);
  const settled = (route: string, n: number) => rig.settled(route, n);
  async function get(path: string, init: Parameters<typeof request>[1] = {}) {
    const res = await request(url(path), init);
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  it('counts equal answers as equal: the same JSON in another key order, headers alike', async () => {
    await reset('report');
    legacy.on('/report/same', json(200, { a: 1, b: { c: [1, 2] } }, { 'cache-control': 'no-store' }));
    functions.on('/function/report/same', json(200, { b: { c: [1, 2] }, a: 1 }, { 'cache-control': 'no-store' }));
    const user = await get('/report/same');
    assert.equal(user.status, 200);
    assert.equal(user.headers['x-strangler-target'], 'legacy', 'the user is served by the side the split chose');
    assert.deepEqual(JSON.parse(user.text), { a: 1, b: { c: [1, 2] } });
    const r = await settled('report', 1);
    assert.equal(r.compared, 1);
    assert.equal(r.equal, 1);
    assert.equal(r.different, 0);
    assert.deepEqual(r.differences, []);
    assert.equal(functions.seen.get('/function/report/same'), 1, 'the copy went to the function, on the function path');
  });

  it('finds each kind of difference at its path: status, headers, cookie names, JSON paths, other bodies', async () => {
    await reset('report');
    legacy.on('/report/kinds', json(200, { a: { b: [0, 1, { c: 3 }] }, gone: true, same: 'x' }, {
      'cache-control': 'max-age=60', location: '/x', 'set-cookie': ['session=legacy-secret; HttpOnly'],
    }));
    functions.on('/function/report/kinds', json(201, { a: { b: [0, 1, { c: 4 }] }, same: 'x', added: 1 }, {
      'cache-control': 'no-store', location: '/y', 'set-cookie': ['session=function-secret', 'theme=dark'],
    }));
    legacy.on('/report/text', (_q, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('hello'));
    functions.on('/function/report/text', (_q, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('hello!'));
    await get('/report/kinds', { headers: { authorization: 'Bearer user-secret', cookie: 'session=user-secret' } });
    await get('/report/text');
    const r = await settled('report', 2);
    assert.equal(r.different, 2);
    const at = new Map(r.differences.map((d) => [d.path, d.example]));
    assert.deepEqual(at.get('status'), { legacy: 200, function: 201 });
    assert.deepEqual(at.get('header:cache-control'), { legacy: 'max-age=60', function: 'no-store' });
    assert.deepEqual(at.get('header:location'), { legacy: '/x', function: '/y' });
    assert.deepEqual(at.get('header:set-cookie'), { legacy: 'session', function: 'session, theme' }, 'only cookie names are compared');
    assert.deepEqual(at.get('$.a.b[2].c'), { legacy: 3, function: 4 });
    assert.deepEqual(at.get('$.gone'), { legacy: true, function: null });
    assert.deepEqual(at.get('$.added'), { legacy: null, function: 1 });
    assert.deepEqual(at.get('header:content-type'), { legacy: 'text/plain', function: 'text/html' });
    assert.match(String(at.get('body')!.legacy), /^5 bytes, sha256 [0-9a-f]{64}$/);
    assert.match(String(at.get('body')!.function), /^6 bytes, sha256 [0-9a-f]{64}$/);
    assert.ok(!at.has('$.same'));
    const stored = JSON.stringify(r);
    for (const secret of ['legacy-secret', 'function-secret', 'user-secret']) assert.ok(!stored.includes(secret), `${secret} is never stored`);
  });

  it('leaves ignored paths (JSON and header) out of the verdict', async () => {
    await reset('report');
    legacy.on('/report/ignored', json(200, { generated_at: 1, items: [{ id: 'a', n: 1 }, { id: 'b', n: 2 }] }, { date: 'Mon' }));
    functions.on('/function/report/ignored', json(200, { generated_at: 2, items: [{ id: 'x', n: 1 }, { id: 'y', n: 2 }] }, { date: 'Tue' }));
    await get('/report/ignored');
    const r = await settled('report', 1);
    assert.equal(r.equal, 1, JSON.stringify(r.differences));
  });

  it('learns where legacy differs from itself and reports it apart, not as a difference', async () => {
    await reset('noisy');
    let n = 0;
    legacy.on('/noisy', (req, res, body) => json(200, { nonce: ++n, value: 'same' })(req, res, body));
    functions.on('/function/noisy', json(200, { nonce: -1, value: 'different' }));
    for (let i = 0; i < 3; i++) await get('/noisy');
    const r = await settled('noisy', 3);
    assert.deepEqual(r.noise.map((x) => x.path), ['$.nonce']);
    assert.deepEqual(r.differences.map((d) => d.path), ['$.value'], 'the nonce is noise, the value a real difference');
    assert.equal(legacy.seen.get('/noisy'), 6, 'each request reached legacy twice: the user\'s and the noise sample');
  });

  it('copies to legacy when the user is served by the function', async () => {
    await reset('served-by-function');
    legacy.on('/fn-first', json(200, { v: 1 }));
    functions.on('/function/fn-first', json(200, { v: 2 }));
    const user = await get('/fn-first');
    assert.equal(user.headers['x-strangler-target'], 'function:fn-first');
    assert.deepEqual(JSON.parse(user.text), { v: 2 });
    const r = await settled('served-by-function', 1);
    assert.deepEqual(r.differences.map((d) => [d.path, d.example]), [['$.v', { legacy: 1, function: 2 }]]);
  });

  it('serves the user in full while a copy to a hanging upstream is still pending, then counts a timeout', async () => {
    await reset('report');
    legacy.on('/report/hang', json(200, { ok: true }));
    functions.on('/function/report/hang', () => undefined); // never answers
    const user = await get('/report/hang');
    assert.equal(user.status, 200);
    assert.deepEqual(JSON.parse(user.text), { ok: true });
    const pending = await results('report');
    assert.equal(pending.compared + pending.errors, 0, 'the copy has not settled when the user has the whole answer');
    await pollUntil('the copy waiting at the function', () => functions.open() === 1);
    const r = await settled('report', 1);
    assert.equal(r.errors, 1);
    assert.deepEqual(r.error_kinds, { timeout: 1 });
  });

  it('does not change the user\'s answer when the copy fails or is answered with 50 MB', async () => {
    await reset('report');
    legacy.on('/report/fails', json(200, { ok: 'fails' }));
    functions.on('/function/report/fails', (req) => req.socket.destroy());
    legacy.on('/report/huge', json(200, { ok: 'huge' }));
    functions.on('/function/report/huge', (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 50 * 1024 * 1024 });
      Readable.from((function* () { for (let i = 0; i < 50; i++) yield Buffer.alloc(1024 * 1024, 32); })()).pipe(res);
    });
    const failed = await get('/report/fails');
    const huge = await get('/report/huge');
    assert.deepEqual([failed.status, JSON.parse(failed.text)], [200, { ok: 'fails' }]);
    assert.deepEqual([huge.status, JSON.parse(huge.text)], [200, { ok: 'huge' }]);
    const r = await settled('report', 2);
    assert.equal(r.errors, 1);
    assert.deepEqual(r.skipped, { response_too_large: 1 });
  });

  it('copies a POST only where the route says the function is side-effect free', async () => {
    await reset('report');
    await reset('writes');
    legacy.on('/report/post', json(200, { ok: 1 }));
    functions.on('/function/report/post', json(200, { ok: 1 }));
    legacy.on('/writes', (req, res, body) => json(200, { got: body.length })(req, res, body));
    functions.on('/function/writes', (req, res, body) => json(200, { got: body.length })(req, res, body));
    assert.equal((await get('/report/post', { method: 'POST', body: 'x' })).status, 200);
    assert.equal((await get('/writes', { method: 'POST', body: 'abc' })).status, 200);
    assert.deepEqual((await results('report')).skipped, { method: 1 });
    assert.equal(functions.seen.get('/function/report/post'), undefined, 'the POST was not copied');
    const w = await settled('writes', 1);
    assert.equal(w.equal, 1);
    assert.equal(functions.seen.get('/function/writes'), 1);
  });

  it('skips and counts copies over the body limit and bodies that streamed', async () => {
    await reset('writes');
    await reset('streams');
    legacy.on('/streams', json(200, { ok: 1 }));
    assert.equal((await get('/writes', { method: 'POST', body: Buffer.alloc(2048, 1) })).status, 200);
    // Chunked, without request buffering: the gateway streams the body upstream and keeps no copy.
    assert.equal((await get('/streams', { method: 'POST', body: Readable.from([Buffer.from('a'), Buffer.from('b')]) })).status, 200);
    assert.deepEqual((await results('writes')).skipped, { body_too_large: 1 });
    assert.deepEqual((await results('streams')).skipped, { body_streamed: 1 });
  });

  it('copies a buffered body held in a temp file, chunked or not, and the temp file goes afterwards', async () => {
    await reset('uploads');
    const echo = (req: Parameters<Script>[0], res: Parameters<Script>[1], body: Buffer) => json(200, { got: body.length, sum: body.reduce((a, b) => a + b, 0) })(req, res, body);
    legacy.on('/uploads', echo);
    functions.on('/function/uploads', echo);
    const body = Buffer.alloc(16 * 1024, 7); // over body.buffer (1k): spooled to a temp file
    assert.equal((await get('/uploads', { method: 'POST', body })).status, 200);
    assert.equal((await get('/uploads', { method: 'POST', body: Readable.from([body.subarray(0, 9000), body.subarray(9000)]) })).status, 200);
    const r = await settled('uploads', 2);
    assert.equal(r.equal, 2, 'the copies got the whole body, as the user\'s request did');
    assert.deepEqual(r.skipped, {});
    assert.equal(functions.seen.get('/function/uploads'), 2);
    await pollUntil('the temp files are removed', async () => readdirSync(join(dir, 'body')).length === 0);
  });

  it('skips and counts copies beyond max_in_flight', async () => {
    await reset('one-at-a-time');
    legacy.on('/single', json(200, { ok: true }));
    functions.on('/function/single', () => undefined); // holds the first copy
    for (let i = 0; i < 3; i++) assert.equal((await get('/single')).status, 200);
    assert.deepEqual((await results('one-at-a-time')).skipped, { in_flight: 2 });
    assert.equal(functions.seen.get('/function/single'), 1);
  });

  it('shows results over the admin API, forgets them on DELETE, and refuses routes without a shadow', async () => {
    const before = await admin('GET', '/routes/report/shadow');
    assert.equal(before.status, 200);
    for (const key of ['compared', 'equal', 'different', 'errors', 'skipped', 'differences']) assert.ok(key in before.body, key);
    const cleared = await reset('report');
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.compared, 0);
    const anonymous = await request(`http://127.0.0.1:${gateway.admin.port}/routes/report/shadow`);
    assert.equal(anonymous.statusCode, 401, 'results need the admin token');
    await anonymous.body.dump();
    const plain = await admin('GET', '/routes/plain/shadow');
    assert.equal(plain.status, 404);
    assert.equal(plain.body.error, 'not_shadowed');
  });

  it('logs and counts only the user\'s requests: copies and noise samples write no access-log line', async () => {
    await reset('noisy');
    legacy.on('/noisy', json(200, { value: 'same' }));
    functions.on('/function/noisy', json(200, { value: 'same' }));
    const sides = async () => ((await admin('GET', '/routes/noisy')).body as unknown as { stats: { by_target: Record<string, { requests: number }> } }).stats.by_target;
    const before = await sides();
    for (let i = 0; i < 3; i++) assert.equal((await get(`/noisy/logged?n=${i}`)).status, 200);
    await settled('noisy', 3);
    assert.equal(legacy.seen.get('/noisy/logged?n=0'), 2, 'the user\'s request and a noise sample reached legacy');
    assert.equal(functions.seen.get('/function/noisy/logged?n=0'), 1, 'the copy reached the function');
    // The log is written in order: once a later request's line is there, every earlier one is.
    assert.equal((await get('/plain/marker')).status, 404);
    const logFile = join(dir, 'routes.access.log');
    const lines = await pollUntil('the marker line in the access log', () => {
      const all = loggedLines(logFile) as { route: string; target: string; uri: string; status: number }[];
      return all.some((l) => l.uri === '/plain/marker') ? all : null;
    });
    const logged = lines.filter((l) => l.uri.startsWith('/noisy/logged') || l.uri.startsWith('/function/noisy'));
    assert.deepEqual(logged.map((l) => [l.route, l.target, l.uri, l.status]), [0, 1, 2].map((i) => ['noisy', 'legacy', `/noisy/logged?n=${i}`, 200]));
    const after = await sides();
    assert.equal(after.legacy.requests - (before.legacy?.requests ?? 0), 3, 'three user requests on the legacy side');
    assert.equal(after['function:noisy']?.requests ?? 0, before['function:noisy']?.requests ?? 0, 'copies are not counted as function requests');
  });

  it('counts outcomes by route in Prometheus, with the match ratio', async () => {
    await reset('served-by-function');
    await get('/fn-first');
    await settled('served-by-function', 1);
    const res = await request(`http://127.0.0.1:${gateway.admin.port}/metrics`, { headers: { authorization: `Bearer ${SHADOW_RIG_TOKEN}` } });
    const text = await res.body.text();
    assert.match(text, /^strangler_shadow_total\{route="served-by-function",outcome="different"\} 1$/m);
    assert.match(text, /^strangler_shadow_match_ratio\{route="served-by-function"\} 0$/m);
  });
});
