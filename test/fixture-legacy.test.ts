// The legacy fixture over real sockets: routes, the exact request echo, body integrity,
// every fault kind, flat-memory streaming, the WebSocket echo, shutdown and script mode.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { startLegacy, type LegacyFixture } from '../monolith-fixture/legacy.js';
import { freePort } from './helpers/net.js';
import { raw, type RawError, type RawResponse } from './helpers/node-request.js';

const json = (r: RawResponse) => JSON.parse(r.body.toString('utf8'));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('legacy fixture', () => {
  let fx: LegacyFixture;
  before(async () => { fx = await startLegacy({ name: 'legacy-a' }); });
  after(async () => { await fx.close(); });

  describe('routes', () => {
    it('serves a small HTML home page at /', async () => {
      const r = await raw(fx.url, '/');
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/html/);
      assert.match(r.body.toString(), /<html>[\s\S]*legacy/);
      assert.equal(r.headers['x-served-by'], 'legacy');
    });

    it('answers GET /api/v1/track/:id with package JSON and the raw path and query', async () => {
      const r = await raw(fx.url, '/api/v1/track/7?x=1&y=%20', { headers: { 'X-Trace-Me': 'abc' } });
      assert.equal(r.status, 200);
      const b = json(r);
      assert.equal(b.served_by, 'legacy');
      assert.equal(b.instance, 'legacy-a');
      assert.equal(b.method, 'GET');
      assert.equal(b.path, '/api/v1/track/7');
      assert.equal(b.query, 'x=1&y=%20');
      assert.equal(b.url, '/api/v1/track/7?x=1&y=%20');
      assert.equal(b.headers['x-trace-me'], 'abc');
      assert.equal(b.headers.host, `127.0.0.1:${fx.port}`);
      assert.deepEqual({ id: b.package.id, status: b.package.status }, { id: '7', status: 'in_transit' });
      assert.equal(b.body_bytes, 0);
      assert.equal(b.body_sha256, sha256(Buffer.alloc(0)));
    });

    it('echoes an unnormalised request target exactly as received', async () => {
      const target = '/a/%2e%2e/b//c;v=1?q=%zz&&x=%2F';
      const b = json(await raw(fx.url, target));
      assert.equal(b.url, target);
      assert.equal(b.path, '/a/%2e%2e/b//c;v=1');
      assert.equal(b.query, 'q=%zz&&x=%2F');
    });

    it('answers 200 JSON for any path and method no route claims', async () => {
      const r = await raw(fx.url, '/some/legacy/page.php?id=3', { method: 'PUT', body: Buffer.from('x=1') });
      assert.equal(r.status, 200);
      const b = json(r);
      assert.equal(b.served_by, 'legacy');
      assert.equal(b.method, 'PUT');
      assert.equal(b.path, '/some/legacy/page.php');
      assert.equal(b.body_bytes, 3);
    });

    it('accepts a JSON order with 201 and echoes it', async () => {
      const order = Buffer.from(JSON.stringify({ sku: 'A-1', qty: 2 }));
      const r = await raw(fx.url, '/api/v1/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: order });
      assert.equal(r.status, 201);
      const b = json(r);
      assert.deepEqual(b.order.received, { sku: 'A-1', qty: 2 });
      assert.equal(b.body_bytes, order.length);
      assert.equal(b.body_sha256, sha256(order));
    });

    it('rejects an order that is not JSON with 400', async () => {
      const r = await raw(fx.url, '/api/v1/orders', { method: 'POST', body: Buffer.from('{nope') });
      assert.equal(r.status, 400);
      assert.equal(json(r).served_by, 'legacy');
    });

    it('counts and hashes a multi-megabyte body exactly', async () => {
      const body = randomBytes(6 * 1024 * 1024 + 17);
      const b = json(await raw(fx.url, '/upload/blob', { method: 'POST', body }));
      assert.equal(b.body_bytes, body.length);
      assert.equal(b.body_sha256, sha256(body));
    });

    it('does bounded CPU work for /generate-report', async () => {
      const b = json(await raw(fx.url, '/generate-report?month=2024-01'));
      assert.equal(b.served_by, 'legacy');
      assert.match(b.report.digest, /^[0-9a-f]{64}$/);
      assert.equal(b.report.pages, 4);
    });

    it('serves image bytes with an image content type under /images/', async () => {
      const r = await raw(fx.url, '/images/logo.png');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'image/png');
      assert.deepEqual([...r.body.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
      const gif = await raw(fx.url, '/images/a/b.gif');
      assert.equal(gif.headers['content-type'], 'image/gif');
      assert.equal(gif.body.subarray(0, 3).toString(), 'GIF');
    });

    it('answers /health with 200 JSON', async () => {
      const r = await raw(fx.url, '/health');
      assert.equal(r.status, 200);
      assert.equal(json(r).status, 'ok');
    });

    it('counts every request it serves, once', async () => {
      const before = fx.requests;
      await raw(fx.url, '/one');
      await raw(fx.url, '/two', { method: 'POST', body: Buffer.from('x') });
      assert.equal(fx.requests - before, 2);
    });
  });

  describe('faults', () => {
    it('delay=MS holds the answer at least that long', async () => {
      const t0 = performance.now();
      const r = await raw(fx.url, '/slow', { headers: { 'x-fixture-fault': 'delay=250' } });
      assert.equal(r.status, 200);
      assert.ok(performance.now() - t0 >= 240, 'answered too early');
    });

    it('status=CODE answers that status with the JSON echo (query parameter form)', async () => {
      const r = await raw(fx.url, '/api/v1/track/9?fixture_fault=status=503');
      assert.equal(r.status, 503);
      assert.equal(json(r).served_by, 'legacy');
      assert.equal(json(r).package.id, '9');
    });

    it('combines faults: delay=150,status=418', async () => {
      const t0 = performance.now();
      const r = await raw(fx.url, '/teapot', { headers: { 'x-fixture-fault': 'delay=150,status=418' } });
      assert.equal(r.status, 418);
      assert.ok(performance.now() - t0 >= 140);
    });

    it('reset destroys the connection before any answer', async () => {
      const before = fx.requests;
      const err: RawError = await raw(fx.url, '/x', { headers: { 'x-fixture-fault': 'reset' } }).then(() => assert.fail('expected a socket error'), (e) => e);
      assert.equal(err.phase, 'headers');
      assert.equal(err.code, 'ECONNRESET');
      assert.equal(fx.requests - before, 1);
    });

    it('reset-mid sends headers and part of the body, then cuts the connection', async () => {
      const err: RawError = await raw(fx.url, '/x?fixture_fault=reset-mid').then(() => assert.fail('expected a truncated body'), (e) => e);
      assert.equal(err.phase, 'body');
      assert.equal(err.status, 200);
    });

    it('hang never answers (client timeout)', async () => {
      const err: RawError = await raw(fx.url, '/x', { headers: { 'x-fixture-fault': 'hang' }, timeoutMs: 300 }).then(() => assert.fail('expected a timeout'), (e) => e);
      assert.equal(err.code, 'CLIENT_TIMEOUT');
      assert.equal(err.phase, 'headers');
    });

    it('stall-body sends headers, then never finishes the body (client timeout)', async () => {
      const err: RawError = await raw(fx.url, '/x', { headers: { 'x-fixture-fault': 'stall-body' }, timeoutMs: 300 }).then(() => assert.fail('expected a timeout'), (e) => e);
      assert.equal(err.phase, 'body');
      assert.equal(err.status, 200);
    });

    it('chunked answers without Content-Length: the same echo, chunked', async () => {
      const r = await raw(fx.url, '/x?fixture_fault=chunked');
      assert.equal(r.status, 200);
      assert.equal(r.headers['transfer-encoding'], 'chunked');
      assert.equal(r.headers['content-length'], undefined);
      assert.equal(JSON.parse(r.body.toString()).path, '/x');
    });

    it('rejects an unknown fault with 400', async () => {
      const r = await raw(fx.url, '/x', { headers: { 'x-fixture-fault': 'explode' } });
      assert.equal(r.status, 400);
      assert.match(r.body.toString(), /explode/);
    });

    it('applies faults given at start to every request', async () => {
      const down = await startLegacy({ faults: 'status=503' });
      try {
        const r = await raw(down.url, '/health');
        assert.equal(r.status, 503);
        assert.equal(json(r).served_by, 'legacy');
      } finally {
        await down.close();
      }
    });

    it('big=BYTES streams a generated body with flat memory', async () => {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      const retained = () => { gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
      const size = 50 * 1024 * 1024;
      const baseline = retained();
      let peak = 0;
      const received = await new Promise<number>((resolve, reject) => {
        const req = request(`${fx.url}/download?fixture_fault=big=50m`, { agent: false }, (res) => {
          assert.equal(res.headers['content-length'], String(size));
          let offset = 0;
          let nextSample = 0;
          res.on('data', (chunk: Buffer) => {
            for (let i = 0; i < chunk.length; i++) if (chunk[i] !== (offset + i) % 251) return req.destroy(new Error(`bad byte at ${offset + i}`));
            offset += chunk.length;
            if (offset >= nextSample) { peak = Math.max(peak, retained() - baseline); nextSample += 8 * 1024 * 1024; }
          });
          res.on('end', () => resolve(offset));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(received, size);
      assert.ok(peak < 24 * 1024 * 1024, `memory grew by ${Math.round(peak / 1048576)} MiB while streaming`);
    });
  });

  describe('WebSocket /ws', () => {
    it('echoes text and binary messages', async () => {
      const ws = new WebSocket(`${fx.url.replace('http', 'ws')}/ws`);
      try {
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        const next = () => new Promise<[Buffer, boolean]>((resolve) => ws.once('message', (d, bin) => resolve([d as Buffer, bin])));
        let reply = next();
        ws.send('hello legacy');
        assert.deepEqual(await reply, [Buffer.from('hello legacy'), false]);
        reply = next();
        ws.send(Buffer.from([0, 1, 2, 255]));
        assert.deepEqual(await reply, [Buffer.from([0, 1, 2, 255]), true]);
      } finally {
        ws.terminate();
      }
    });

    it('does not upgrade other paths', async () => {
      const ws = new WebSocket(`${fx.url.replace('http', 'ws')}/not-ws`);
      const status = await new Promise<number>((resolve, reject) => {
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('upgraded')));
      });
      ws.on('error', () => {}); // terminating a refused handshake reports an error
      ws.terminate();
      assert.equal(status, 200);
    });
  });

  describe('lifecycle', () => {
    it('close() ends keep-alive, hung, stalled and WebSocket connections', async () => {
      const own = await startLegacy();
      const agent = new Agent({ keepAlive: true });
      await raw(own.url, '/warm', { agent });
      const hung = raw(own.url, '/x', { headers: { 'x-fixture-fault': 'hang' } }).catch((e: RawError) => e);
      const stalled = raw(own.url, '/x', { headers: { 'x-fixture-fault': 'stall-body' } }).catch((e: RawError) => e);
      const ws = new WebSocket(`${own.url.replace('http', 'ws')}/ws`);
      await new Promise((resolve) => ws.once('open', resolve));
      await new Promise((r) => setTimeout(r, 50)); // let the hang/stall requests arrive
      const closed = await Promise.race([own.close().then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))]);
      agent.destroy();
      assert.equal(closed, true, 'close() did not resolve');
      assert.ok((await hung) instanceof Error);
      assert.ok((await stalled) instanceof Error);
      await new Promise((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve(null) : ws.once('close', resolve)));
    });

    it('runs as a script and prints where it listens', async () => {
      const port = await freePort();
      const child = spawn(process.execPath, [join(__dirname, '..', 'monolith-fixture', 'legacy.js'), '--port', String(port), '--fault', 'status=299']);
      try {
        const line = await new Promise<string>((resolve, reject) => {
          child.stdout.once('data', (d: Buffer) => resolve(d.toString()));
          child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
        });
        assert.match(line, new RegExp(`http://127\\.0\\.0\\.1:${port}`));
        const r = await raw(`http://127.0.0.1:${port}`, '/health');
        assert.equal(r.status, 299);
        assert.equal(json(r).served_by, 'legacy');
      } finally {
        child.kill('SIGTERM');
      }
    });
  });
});
