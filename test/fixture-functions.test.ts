// The OpenFaaS-compatible functions fixture over real sockets: sync and async invocation,
// callbacks, the system API, 404s, faults, cold starts and script mode.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { startFunctions, type FunctionsFixture, type FunctionsOptions } from '../monolith-fixture/functions.js';
import { freePort } from './helpers/net.js';
import { raw, type RawError, type RawResponse } from './helpers/node-request.js';

const json = (r: RawResponse) => JSON.parse(r.body.toString('utf8'));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const failure = (p: Promise<unknown>): Promise<RawError> => p.then(() => assert.fail('expected the request to fail'), (e: RawError) => e);

/** A callback receiver like the one an async caller would run. */
interface Callback { headers: IncomingHttpHeaders; body: Buffer }
async function startCallbackServer(): Promise<{ url: string; next(): Promise<Callback>; close(): Promise<void> }> {
  const received: Callback[] = [];
  const waiting: ((c: Callback) => void)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const cb = { headers: req.headers, body: Buffer.concat(chunks) };
      const w = waiting.shift();
      if (w) w(cb); else received.push(cb);
      res.end('thanks');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/callback`,
    next: () => (received.length ? Promise.resolve(received.shift()!) : new Promise((r) => waiting.push(r))),
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }),
  };
}

describe('functions fixture (OpenFaaS gateway API)', () => {
  const running: FunctionsFixture[] = [];
  const start = async (o: FunctionsOptions) => { const f = await startFunctions(o); running.push(f); return f; };
  let fx: FunctionsFixture;
  before(async () => { fx = await start({ startWarm: true }); });
  after(async () => { await Promise.all(running.map((f) => f.close())); });

  describe('system API', () => {
    it('answers /healthz', async () => {
      const r = await raw(fx.url, '/healthz');
      assert.equal(r.status, 200);
    });

    it('lists the default functions at GET /system/functions with live invocation counts', async () => {
      const list = () => raw(fx.url, '/system/functions').then(json) as Promise<Array<Record<string, unknown>>>;
      const before = await list();
      assert.deepEqual(before.map((f) => f.name).sort(), ['generate-report', 'image-resizer', 'order-intake', 'price-quote', 'track-package']);
      for (const f of before) {
        assert.equal(typeof f.image, 'string');
        assert.equal(typeof f.replicas, 'number');
        assert.equal(typeof f.invocationCount, 'number');
      }
      const count = (l: typeof before) => l.find((f) => f.name === 'image-resizer')!.invocationCount as number;
      await raw(fx.url, '/function/image-resizer');
      assert.equal(count(await list()), count(before) + 1);
    });

    it('answers an unknown function with a plain-text 404, sync and async', async () => {
      for (const prefix of ['/function', '/async-function']) {
        const r = await raw(fx.url, `${prefix}/no-such-fn/x`, { method: 'POST', body: Buffer.from('{}') });
        assert.equal(r.status, 404);
        assert.match(String(r.headers['content-type']), /^text\/plain/);
        assert.match(r.body.toString(), /error finding function no-such-fn/);
      }
    });

    it('answers other gateway paths with 404', async () => {
      assert.equal((await raw(fx.url, '/api/v1/track/7')).status, 404);
      assert.equal((await raw(fx.url, '/function/')).status, 404);
    });
  });

  describe('synchronous /function/<name>', () => {
    it('hands the function the remainder path and the raw query', async () => {
      const r = await raw(fx.url, '/function/track-package/api/v1/track/7?x=1&y=%20', { headers: { 'X-Trace-Me': 'abc' } });
      assert.equal(r.status, 200);
      const b = json(r);
      assert.equal(b.served_by, 'function');
      assert.equal(b.function, 'track-package');
      assert.equal(b.method, 'GET');
      assert.equal(b.path, '/function/track-package/api/v1/track/7');
      assert.equal(b.url, '/function/track-package/api/v1/track/7?x=1&y=%20');
      assert.equal(b.query, 'x=1&y=%20');
      assert.equal(b.function_path, '/api/v1/track/7');
      assert.equal(b.headers['x-trace-me'], 'abc');
      assert.equal(b.cold_start, false);
      assert.match(String(r.headers['x-call-id']), UUID);
    });

    it('gives the function "/" when there is no remainder, and accepts name.namespace', async () => {
      assert.equal(json(await raw(fx.url, '/function/track-package')).function_path, '/');
      assert.equal(json(await raw(fx.url, '/function/track-package.openfaas-fn/a')).function, 'track-package');
      assert.equal((await raw(fx.url, '/function/track-package.elsewhere/a')).status, 404);
    });

    it('passes a multi-megabyte body through intact and counts the invocation', async () => {
      const body = randomBytes(5 * 1024 * 1024 + 3);
      const before = fx.invocations['order-intake'];
      const b = json(await raw(fx.url, '/function/order-intake/orders', { method: 'POST', body }));
      assert.equal(b.method, 'POST');
      assert.equal(b.body_bytes, body.length);
      assert.equal(b.body_sha256, sha256(body));
      assert.equal(fx.invocations['order-intake'], before + 1);
    });
  });

  describe('faults', () => {
    const call = (fault: string, timeoutMs?: number) => raw(fx.url, '/function/track-package/x', { headers: { 'x-fixture-fault': fault }, timeoutMs });

    it('delay=MS holds the answer at least that long', async () => {
      const t0 = performance.now();
      assert.equal((await call('delay=200')).status, 200);
      assert.ok(performance.now() - t0 >= 190, 'answered too early');
    });

    it('status=CODE answers that status with the JSON body (query parameter form)', async () => {
      const r = await raw(fx.url, '/function/track-package/x?fixture_fault=status=502');
      assert.equal(r.status, 502);
      assert.equal(json(r).served_by, 'function');
    });

    it('reset gives a socket error before any answer', async () => {
      const err = await failure(call('reset'));
      assert.equal(err.phase, 'headers');
      assert.equal(err.code, 'ECONNRESET');
    });

    it('reset-mid truncates the body', async () => {
      const err = await failure(call('reset-mid'));
      assert.equal(err.phase, 'body');
      assert.equal(err.status, 200);
    });

    it('hang and stall-body run into the client timeout', async () => {
      const hang = await failure(call('hang', 300));
      assert.deepEqual([hang.code, hang.phase], ['CLIENT_TIMEOUT', 'headers']);
      const stall = await failure(call('stall-body', 300));
      assert.deepEqual([stall.code, stall.phase], ['CLIENT_TIMEOUT', 'body']);
    });

    it('big=BYTES streams a generated body of exactly that size', async () => {
      const r = await call('big=3m');
      assert.equal(r.body.length, 3 * 1024 * 1024);
      assert.equal(r.body[1000], 1000 % 251);
    });

    it('takes faults per function at start, and changed at runtime', async () => {
      const own = await start({ startWarm: true, functions: ['ok', { name: 'flaky', faults: 'status=500' }] });
      assert.equal((await raw(own.url, '/function/flaky')).status, 500);
      assert.equal((await raw(own.url, '/function/ok')).status, 200);
      own.setFaults('', 'flaky');
      own.setFaults('status=503');
      assert.equal((await raw(own.url, '/function/flaky')).status, 503);
      own.setFaults('');
      assert.equal((await raw(own.url, '/function/flaky')).status, 200);
      assert.equal((await raw(own.url, '/function/x?fixture_fault=bogus')).status, 404);
      assert.equal((await raw(own.url, '/function/ok?fixture_fault=bogus')).status, 400);
    });
  });

  describe('asynchronous /async-function/<name>', () => {
    let cb: Awaited<ReturnType<typeof startCallbackServer>>;
    before(async () => { cb = await startCallbackServer(); });
    after(async () => { await cb.close(); });

    it('answers 202 with an X-Call-Id and POSTs the result to X-Callback-Url', async () => {
      const body = randomBytes(200 * 1024);
      const r = await raw(fx.url, '/async-function/generate-report/monthly?m=1', { method: 'POST', body, headers: { 'X-Callback-Url': cb.url } });
      assert.equal(r.status, 202);
      assert.equal(r.body.length, 0);
      const callId = String(r.headers['x-call-id']);
      assert.match(callId, UUID);

      const got = await cb.next();
      assert.equal(got.headers['x-call-id'], callId);
      assert.equal(got.headers['x-function-status'], '200');
      assert.equal(got.headers['x-function-name'], 'generate-report');
      const result = JSON.parse(got.body.toString());
      assert.equal(result.served_by, 'function');
      assert.equal(result.path, '/async-function/generate-report/monthly');
      assert.equal(result.function_path, '/monthly');
      assert.equal(result.query, 'm=1');
      assert.equal(result.body_sha256, sha256(body));

      const done = await fx.waitForCompletion(callId);
      assert.equal(done.status, 200);
      assert.equal(done.callbackStatus, 200);
    });

    it('reports a failing function through X-Function-Status', async () => {
      const r = await raw(fx.url, '/async-function/order-intake', { method: 'POST', headers: { 'X-Callback-Url': cb.url, 'x-fixture-fault': 'status=500' } });
      assert.equal(r.status, 202);
      const got = await cb.next();
      assert.equal(got.headers['x-call-id'], r.headers['x-call-id']);
      assert.equal(got.headers['x-function-status'], '500');
    });

    it('runs in the background without a callback and records the completion', async () => {
      const before = fx.invocations['image-resizer'];
      const r = await raw(fx.url, '/async-function/image-resizer/resize', { method: 'POST', body: Buffer.from('img') });
      assert.equal(r.status, 202);
      const done = await fx.waitForCompletion(String(r.headers['x-call-id']));
      assert.equal(done.callbackUrl, undefined);
      assert.equal(JSON.parse(done.body.toString()).body_bytes, 3);
      assert.equal(fx.invocations['image-resizer'], before + 1);
    });
  });

  describe('cold start', () => {
    it('marks the first call after idle as cold, the next one warm', async () => {
      const own = await start({ coldStartMs: 30, idleMs: 400 });
      const replicas = async () => (json(await raw(own.url, '/system/functions')) as Array<{ name: string; replicas: number }>).find((f) => f.name === 'track-package')!.replicas;
      assert.equal(await replicas(), 0, 'starts scaled to zero');
      assert.equal(json(await raw(own.url, '/function/track-package')).cold_start, true);
      assert.equal(json(await raw(own.url, '/function/track-package')).cold_start, false);
      assert.equal(await replicas(), 1);
      await sleep(600); // idle longer than idleMs
      assert.equal(json(await raw(own.url, '/function/track-package')).cold_start, true);
    });

    it('can answer 503 while scaling from zero, then serve once the replica is up', async () => {
      const own = await start({ coldStartMs: 50, coldStartFails: true });
      const first = await raw(own.url, '/function/order-intake', { method: 'POST', body: Buffer.from('{}') });
      assert.equal(first.status, 503);
      assert.match(first.body.toString(), /No endpoints available for: order-intake/);
      await sleep(120); // let the replica come up
      const second = await raw(own.url, '/function/order-intake', { method: 'POST', body: Buffer.from('{}') });
      assert.equal(second.status, 200);
      assert.equal(json(second).cold_start, false);
      assert.equal(own.invocations['order-intake'], 2);
    });
  });

  it('runs as a script and prints where it listens', async () => {
    const port = await freePort();
    const script = join(__dirname, '..', 'monolith-fixture', 'functions.js');
    const child = spawn(process.execPath, [script, '--port', String(port), '--functions', 'alpha,beta', '--warm']);
    try {
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (d: Buffer) => resolve(d.toString()));
        child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      });
      assert.match(line, new RegExp(`http://127\\.0\\.0\\.1:${port}`));
      const list = json(await raw(`http://127.0.0.1:${port}`, '/system/functions')) as Array<{ name: string }>;
      assert.deepEqual(list.map((f) => f.name), ['alpha', 'beta']);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
