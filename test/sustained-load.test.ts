// Sustained mixed load through the gateway while an operator changes percents and the manifest
// is rewritten and reloaded: zero unexpected answers, and heap and file descriptors flat.
// About 15 s by default, 2 minutes with STRANGLER_HEAVY=1.
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Agent, request } from 'undici';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { startStack, type Stack } from './helpers/stack';

const HEAVY = process.env.STRANGLER_HEAVY === '1';
const DURATION_MS = HEAVY ? 120_000 : 15_000;
const CONCURRENCY = 16;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMiB = () => { gc(); gc(); return process.memoryUsage().heapUsed / 1024 ** 2; };
const fds = () => readdirSync('/proc/self/fd').length;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Requests and the statuses each may get, whichever side a change or reload puts it on. */
const MIX: { method: string; path: string; body?: string; ok: number[] }[] = [
  { method: 'GET', path: '/api/v1/track/7', ok: [200] },
  { method: 'HEAD', path: '/api/v1/track/8', ok: [200] },
  { method: 'GET', path: '/images/a.png', ok: [200] },
  { method: 'POST', path: '/api/v1/orders', body: '{"n":1}', ok: [201, 202] },
  { method: 'GET', path: '/search/q', ok: [200] },
  { method: 'GET', path: '/docs/a.pdf', ok: [200] },
  { method: 'PUT', path: '/anything', body: 'x'.repeat(4096), ok: [200] },
  { method: 'GET', path: '/gone/x', ok: [200] }, // a fallback on every request
  { method: 'POST', path: '/upload', body: 'y'.repeat(2048), ok: [413] },
];

describe('sustained load with changes and reloads', function () {
  this.timeout(DURATION_MS + 120_000);
  let stack: Stack;
  let gw: GatewayHandle;

  before(async () => {
    stack = await startStack(ROUTING_MANIFEST, { nginx: false });
    gw = await startGateway({ manifestPath: stack.manifestPath, watch: false, env: { STRANGLER_ADMIN_TOKEN: 'load-token' } });
  });
  after(async () => {
    await gw?.close(1000);
    await stack?.stop();
  });

  it(`serves mixed traffic for ${DURATION_MS / 1000} s with runtime changes and manifest reloads: no unexpected answer, flat memory`, async () => {
    const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 10_000 });
    const base = `http://127.0.0.1:${gw.listen.port}`;
    const adminBase = `http://127.0.0.1:${gw.admin.port}`;
    const auth = { authorization: 'Bearer load-token', 'content-type': 'application/json' };
    const unexpected: string[] = [];
    let requests = 0;
    let changes = 0;
    let reloads = 0;
    let stop = false;

    const worker = async (w: number) => {
      for (let i = w; !stop; i += CONCURRENCY) {
        const m = MIX[i % MIX.length];
        try {
          const res = await request(base + m.path, {
            method: m.method as 'GET', body: m.body, dispatcher: agent,
            headers: { cookie: `session_id=u${i % 997}`, 'content-type': 'application/json' },
          });
          await res.body.dump();
          if (!m.ok.includes(res.statusCode)) unexpected.push(`${m.method} ${m.path}: ${res.statusCode}`);
        } catch (err) {
          unexpected.push(`${m.method} ${m.path}: ${(err as Error).message}`);
        }
        requests++;
      }
    };
    const changer = async () => {
      for (let i = 0; !stop; i++) {
        const route = i % 2 ? 'images' : 'track';
        const percent = i % 5 === 4 ? null : (i * 37) % 101;
        const res = await request(`${adminBase}/routes/${route}`, { method: 'PATCH', headers: auth, body: JSON.stringify({ percent }) });
        await res.body.dump();
        if (res.statusCode !== 200) unexpected.push(`PATCH ${route}: ${res.statusCode}`);
        changes++;
        await sleep(100);
      }
    };
    const reloader = async () => {
      for (let i = 0; !stop; i++) {
        // Alternate the manifest between two valid versions (a salt and a percent differ).
        const text = i % 2 ? stack.manifestText.replace('percent: 30, sticky: "cookie:session_id", salt: "v1"', 'percent: 60, sticky: "cookie:session_id", salt: "v2"') : stack.manifestText;
        writeFileSync(stack.manifestPath, text);
        const r = await gw.reload('test');
        if (r.outcome === 'invalid') unexpected.push(`reload ${i}: invalid`);
        else reloads++;
        await sleep(500);
      }
    };

    // Warm up, then measure.
    const warmup = Promise.all([...Array.from({ length: CONCURRENCY }, (_, w) => worker(w))]);
    await sleep(2000);
    stop = true;
    await warmup;
    const heapBefore = heapMiB();
    const fdsBefore = fds();
    const samples: number[] = [];
    stop = false;
    unexpected.length = 0;
    requests = 0;
    const running = Promise.all([...Array.from({ length: CONCURRENCY }, (_, w) => worker(w)), changer(), reloader()]);
    const started = Date.now();
    while (Date.now() - started < DURATION_MS) {
      await sleep(Math.min(5000, DURATION_MS / 4));
      samples.push(Math.round(process.memoryUsage().heapUsed / 1024 ** 2));
    }
    stop = true;
    await running;
    await agent.close();
    await sleep(300);
    const heapAfter = heapMiB();
    const fdsAfter = fds();
    console.log(`      sustained load: ${requests} requests, ${changes} changes, ${reloads} reloads in ${DURATION_MS / 1000} s, ${unexpected.length} unexpected; heap ${heapBefore.toFixed(1)} → ${heapAfter.toFixed(1)} MiB (samples ${samples.join(', ')}), fds ${fdsBefore} → ${fdsAfter}`);
    assert.deepEqual(unexpected.slice(0, 20), []);
    assert.ok(requests > 1000, `only ${requests} requests`);
    assert.ok(reloads >= 2 && changes >= 10, 'changes and reloads happened');
    assert.ok(heapAfter - heapBefore < 24, `heap grew from ${heapBefore.toFixed(1)} to ${heapAfter.toFixed(1)} MiB`);
    assert.ok(fdsAfter - fdsBefore <= 32, `file descriptors grew from ${fdsBefore} to ${fdsAfter}`);
    writeFileSync(stack.manifestPath, stack.manifestText);
  });
});
