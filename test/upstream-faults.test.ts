// Upstream faults for both layers, nginx on the compiled config and the Node gateway: connection
// refused, reset before and in the middle of a response, headers never sent (read timeout), a
// stalled body, a very large response, and a function gateway answering 503 during a cold start.
// Each gets the status the README documents ("Fallback", "Failures without fallback"), fallback
// to legacy only for idempotent requests, and a POST is never replayed. Then N faulty requests
// through the gateway must leave its file descriptors and heap where they were.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { exchange, sleep, type Exchange } from './helpers/raw-http';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { requireNginx } from './helpers/nginx';
import { startStack, type Stack } from './helpers/stack';

const HEAVY = process.env.STRANGLER_HEAVY === '1';
const BIG = HEAVY ? 1024 ** 3 : 256 * 1024 ** 2;
const N = HEAVY ? 10_000 : 2_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function request(method: string, target: string, headers: string[] = [], body = ''): Buffer {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: localhost', 'Connection: close', ...headers];
  if (body || method === 'POST') lines.push(`Content-Length: ${Buffer.byteLength(body)}`, 'Content-Type: application/json');
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body, 'latin1');
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 ** 2;
}

/** Streams a response and counts its body bytes without keeping them; checks the fixture's byte pattern. */
function download(port: number, target: string, headers: string[]): Promise<{ status: number; bytes: number; patternOk: boolean; peakRssMiB: number }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(request('GET', target, headers)));
    let head = Buffer.alloc(0);
    let status = 0;
    let bytes = 0;
    let patternOk = true;
    let peak = 0;
    let chunkedMode = false;
    s.on('data', (d: Buffer) => {
      if (!status) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = head.subarray(0, end).toString('latin1');
        status = Number(text.split(' ')[1]);
        chunkedMode = /transfer-encoding:\s*chunked/i.test(text);
        d = head.subarray(end + 4);
      }
      if (chunkedMode) return reject(new Error('expected a Content-Length answer'));
      // Byte i of the body is i % 251: sample the first byte of each chunk.
      if (d.length && d[0] !== bytes % 251) patternOk = false;
      bytes += d.length;
      if ((bytes & 0xfffffff) < d.length) peak = Math.max(peak, process.memoryUsage().rss / 1024 ** 2);
    });
    s.on('error', reject);
    s.on('close', () => resolve({ status, bytes, patternOk, peakRssMiB: peak }));
  });
}

interface FaultCase {
  name: string;
  /** Faults set on a function for the case (setFaults), since a fault header would reach the fallback too. */
  fnFaults?: [string, string];
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  target: string;
  headers?: string[];
  status: number;
  /** Who must have served it: legacy for a fallback. */
  servedBy?: 'legacy' | 'function';
  /** The response is cut after its headers (nothing else is possible once they are out). */
  truncated?: boolean;
  /** Legacy must not see this request (no replay of a non-idempotent request). */
  legacyUntouched?: boolean;
}

const FAULTS: FaultCase[] = [
  // connection refused: upstream:dead
  { name: 'refused, idempotent GET with fallback → legacy', method: 'GET', target: '/gone/a', status: 200, servedBy: 'legacy' },
  { name: 'refused, PUT with fallback → legacy', method: 'PUT', target: '/gone/a', status: 200, servedBy: 'legacy' },
  { name: 'refused, POST with fallback → 502, not replayed', method: 'POST', target: '/gone/a', status: 502, legacyUntouched: true },
  { name: 'refused, no fallback → 502', method: 'GET', target: '/gone-nofb/a', status: 502, legacyUntouched: true },
  // reset before the response
  { name: 'reset before the response, GET with fallback → legacy', fnFaults: ['reset', 'generate-report'], method: 'GET', target: '/generate-report/r', status: 200, servedBy: 'legacy' },
  { name: 'reset before the response, DELETE with fallback → legacy', fnFaults: ['reset', 'generate-report'], method: 'DELETE', target: '/generate-report/r', status: 200, servedBy: 'legacy' },
  { name: 'reset before the response, POST with fallback → 502, not replayed', fnFaults: ['reset', 'generate-report'], method: 'POST', target: '/generate-report/r', status: 502, legacyUntouched: true },
  { name: 'reset before the response, no fallback → 502', method: 'GET', target: '/slow/r', headers: ['X-Fixture-Fault: reset'], status: 502, legacyUntouched: true },
  // reset in the middle of the response: the status is out, the body is cut
  { name: 'reset mid-response, no fallback → 200 then cut', method: 'GET', target: '/slow/r', headers: ['X-Fixture-Fault: reset-mid,big=4m'], status: 200, truncated: true, legacyUntouched: true },
  { name: 'reset mid-response, with fallback → 200 then cut (too late to fall back)', fnFaults: ['reset-mid,big=4m', 'generate-report'], method: 'GET', target: '/generate-report/r', status: 200, truncated: true, legacyUntouched: true },
  // headers never sent: read timeout (1s on these routes)
  { name: 'headers never sent, no fallback → 504', method: 'GET', target: '/slow/r', headers: ['X-Fixture-Fault: hang'], status: 504, legacyUntouched: true },
  { name: 'headers never sent, GET with fallback → legacy', fnFaults: ['hang', 'generate-report'], method: 'GET', target: '/generate-report/r', status: 200, servedBy: 'legacy' },
  { name: 'headers never sent, POST with fallback → 504, not replayed', fnFaults: ['hang', 'generate-report'], method: 'POST', target: '/generate-report/r', status: 504, legacyUntouched: true },
  // body stalls after the headers: the read timeout cuts it
  { name: 'body stalls, no fallback → 200 then cut at the read timeout', method: 'GET', target: '/slow/r', headers: ['X-Fixture-Fault: stall-body,big=1m'], status: 200, truncated: true, legacyUntouched: true },
  { name: 'body stalls, with fallback → 200 then cut', fnFaults: ['stall-body,big=1m', 'generate-report'], method: 'GET', target: '/generate-report/r', status: 200, truncated: true, legacyUntouched: true },
  // 5xx answers
  { name: '503 from the function, GET with fallback → legacy', fnFaults: ['status=503', 'generate-report'], method: 'GET', target: '/generate-report/r', status: 200, servedBy: 'legacy' },
  { name: '502 from the function, GET with fallback → legacy', fnFaults: ['status=502', 'generate-report'], method: 'GET', target: '/generate-report/r', status: 200, servedBy: 'legacy' },
  { name: '504 from the function, GET with fallback → legacy', fnFaults: ['status=504', 'generate-report'], method: 'GET', target: '/generate-report/r', status: 200, servedBy: 'legacy' },
  { name: '503 from the function, POST with fallback → 502, not replayed', fnFaults: ['status=503', 'generate-report'], method: 'POST', target: '/generate-report/r', status: 502, legacyUntouched: true },
  { name: '504 from the function, POST with fallback → 504, not replayed', fnFaults: ['status=504', 'generate-report'], method: 'POST', target: '/generate-report/r', status: 504, legacyUntouched: true },
  { name: '500 from the function, with fallback → 500 passed on (not a fallback status)', fnFaults: ['status=500', 'generate-report'], method: 'GET', target: '/generate-report/r', status: 500, servedBy: 'function', legacyUntouched: true },
  { name: '503 from the function, no fallback → 503 passed on', method: 'GET', target: '/slow/r', headers: ['X-Fixture-Fault: status=503'], status: 503, servedBy: 'function', legacyUntouched: true },
];

describe('upstream faults: nginx and the gateway', function () {
  this.timeout(HEAVY ? 900_000 : 180_000);
  let stack: Stack;
  let gateway: GatewayHandle;

  before(async function () {
    requireNginx(this);
    stack = await startStack(ROUTING_MANIFEST);
    gateway = await startGateway({ manifestPath: stack.manifestPath, watch: false, env: { STRANGLER_ADMIN_TOKEN: 'faults-test-token' } });
  });
  after(async () => {
    await gateway?.close(1000);
    await stack?.stop();
  });

  function servedBy(e: Exchange): string | undefined {
    const h = e.headers['x-served-by'];
    if (h) return h;
    try { return JSON.parse(e.body.toString('utf8')).served_by; } catch { return undefined; }
  }

  it(`gives the documented answer for ${FAULTS.length} faults × 2 layers`, async () => {
    const problems: string[] = [];
    for (const c of FAULTS) {
      for (const [layer, port] of [['nginx', stack.ports.nginx], ['gateway', gateway.listen.port]] as const) {
        if (c.fnFaults) stack.functions.setFaults(c.fnFaults[0], c.fnFaults[1]);
        const legacyBefore = stack.legacy.requests;
        const body = c.method === 'POST' || c.method === 'PUT' ? '{"order":1}' : '';
        const e = await exchange(port, { raw: request(c.method, c.target, c.headers, body) }, 15_000);
        if (c.fnFaults) stack.functions.setFaults('', c.fnFaults[1]);
        const who = servedBy(e);
        const say = (why: string) => problems.push(`${layer}: ${c.name}: ${why} (status ${e.status}, served by ${who}, ${e.body.length} body bytes, complete ${e.complete})`);
        if (e.status !== c.status) say(`expected ${c.status}`);
        if (c.servedBy && who !== c.servedBy) say(`expected to be served by ${c.servedBy}`);
        if (c.truncated && e.complete) say('expected a cut response');
        if (!c.truncated && e.status > 0 && !e.complete) say('expected a complete response');
        if (c.legacyUntouched && stack.legacy.requests !== legacyBefore) say('legacy saw the request');
        if (e.status >= 500 && !who) {
          // The gateway's own failure bodies name the route, never more.
          try { JSON.parse(e.body.toString('utf8')); } catch { if (layer === 'gateway') say('failure body is not JSON'); }
        }
      }
    }
    console.log(`      upstream faults: ${FAULTS.length * 2} faulty requests, ${problems.length} unexpected answers`);
    assert.deepEqual(problems, []);
  });

  it(`streams a ${BIG / 1024 ** 2} MiB response through both without holding it in memory`, async () => {
    const rssBefore = process.memoryUsage().rss / 1024 ** 2;
    for (const [layer, port] of [['nginx', stack.ports.nginx], ['gateway', gateway.listen.port]] as const) {
      const r = await download(port, '/slow/big', [`X-Fixture-Fault: big=${BIG}`]);
      assert.equal(r.status, 200, layer);
      assert.equal(r.bytes, BIG, `${layer}: every byte arrived`);
      assert.ok(r.patternOk, `${layer}: the bytes are the fixture's`);
      // The test process holds the fixtures, the gateway and the client: none may buffer the body.
      assert.ok(r.peakRssMiB - rssBefore < 200, `${layer}: RSS grew ${Math.round(r.peakRssMiB - rssBefore)} MiB while streaming`);
    }
    console.log(`      large response: ${BIG / 1024 ** 2} MiB through nginx and the gateway, RSS ${Math.round(rssBefore)} → ${Math.round(process.memoryUsage().rss / 1024 ** 2)} MiB`);
  });

  it(`leaks no sockets or memory over ${N} faulty requests through the gateway`, async () => {
    // Warm up: pools, JIT, metrics label sets.
    const kinds: { raw: Buffer; status: number[] }[] = [
      { raw: request('GET', '/gone-nofb/x'), status: [502] },
      { raw: request('GET', '/gone/x'), status: [200] },
      { raw: request('POST', '/gone/x', [], '{"a":1}'), status: [502] },
      { raw: request('GET', '/slow/x', ['X-Fixture-Fault: reset']), status: [502] },
      { raw: request('GET', '/slow/x', ['X-Fixture-Fault: reset-mid']), status: [200] },
      { raw: request('GET', '/slow/x', ['X-Fixture-Fault: status=503']), status: [503] },
      { raw: request('POST', '/upload', ['X-Fixture-Fault: reset'], 'x'.repeat(2000)), status: [413] },
      { raw: request('GET', '/slow/x', ['X-Fixture-Fault: hang']), status: [504] },
    ];
    const run = async (count: number) => {
      let next = 0;
      const bad: string[] = [];
      const worker = async () => {
        for (let i = next++; i < count; i = next++) {
          // One hang (a 1 s timeout) in 40 keeps the run short.
          const k = i % 40 === 39 ? kinds[7] : kinds[i % 7];
          const e = await exchange(gateway.listen.port, { raw: k.raw }, 10_000);
          if (!k.status.includes(e.status)) bad.push(`${k.raw.toString('latin1').split('\r\n')[0]}: ${e.status}`);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      return bad;
    };
    await run(200);
    await sleep(200);
    const fdsBefore = openFds();
    const heapBefore = heapMiB();
    const bad = await run(N);
    await sleep(500); // let closed sockets finish closing
    const fdsAfter = openFds();
    const heapAfter = heapMiB();
    console.log(`      ${N} faulty requests through the gateway: fds ${fdsBefore} → ${fdsAfter}, heap ${heapBefore.toFixed(1)} → ${heapAfter.toFixed(1)} MiB, ${bad.length} unexpected answers`);
    assert.deepEqual(bad.slice(0, 10), []);
    // Keep-alive pools may hold a few more idle upstream connections than after the warm-up.
    assert.ok(fdsAfter - fdsBefore <= 32, `file descriptors grew from ${fdsBefore} to ${fdsAfter}`);
    assert.ok(heapAfter - heapBefore < 24, `heap grew from ${heapBefore.toFixed(1)} to ${heapAfter.toFixed(1)} MiB`);
    assert.ok(await exchange(gateway.listen.port, { raw: request('GET', '/health') }).then((e) => e.status === 200), 'still serving');
  });
});

describe('upstream faults: the function gateway answers 503 during a cold start', function () {
  this.timeout(60_000);
  let stack: Stack;
  let gateway: GatewayHandle;

  before(async function () {
    requireNginx(this);
    // Scaled to zero, a replica takes 2 s to start, and calls meanwhile get 503 (coldStartFails).
    stack = await startStack(ROUTING_MANIFEST, { functions: { startWarm: false, coldStartFails: true, coldStartMs: 2000, idleMs: 60_000 } });
    gateway = await startGateway({ manifestPath: stack.manifestPath, watch: false, env: { STRANGLER_ADMIN_TOKEN: 'cold-test-token' } });
  });
  after(async () => {
    await gateway?.close(1000);
    await stack?.stop();
  });

  it('falls back to legacy for GET, answers 502 for POST without replaying it, passes 503 on without fallback', async () => {
    for (const [layer, port] of [['nginx', stack.ports.nginx], ['gateway', gateway.listen.port]] as const) {
      const legacyBefore = stack.legacy.requests;
      const post = await exchange(port, { raw: request('POST', '/generate-report/x', [], '{"a":1}') });
      assert.equal(post.status, 502, `${layer}: POST during the cold start`);
      assert.equal(stack.legacy.requests, legacyBefore, `${layer}: legacy never saw the POST`);
      const get = await exchange(port, { raw: request('GET', '/generate-report/x') });
      assert.equal(get.status, 200, `${layer}: GET during the cold start`);
      assert.equal(get.headers['x-served-by'], 'legacy', `${layer}: served by legacy`);
      const slow = await exchange(port, { raw: request('GET', '/slow/x') });
      assert.equal(slow.status, 503, `${layer}: no fallback: the 503 is passed on`);
    }
    await sleep(2100);
    for (const port of [stack.ports.nginx, gateway.listen.port]) {
      const warm = await exchange(port, { raw: request('GET', '/generate-report/x') });
      assert.equal(warm.status, 200);
      assert.equal(warm.headers['x-served-by'], 'function', 'served by the function once warm');
    }
  });
});
