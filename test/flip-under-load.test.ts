// Flipping a route under load: 8 keep-alive client loops run while 100 PATCHes move a route
// between 0% and 100%. No request may fail, every request that ran entirely between two
// acknowledged changes must follow the last one, and the very next request after each
// acknowledgement already follows it: no restart, no dropped request, no stale decision.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Pool } from 'undici';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { startStack, type Stack } from './helpers/stack';

const TOKEN = 'flip-under-load-token';
const LOOPS = 8;
const FLIPS = 100;

type Side = 'function' | 'legacy';

describe('flipping a route under load', function () {
  this.timeout(120_000);
  let stack: Stack;
  let gw: GatewayHandle;
  let traffic: Pool;
  let admin: Pool;

  before(async () => {
    stack = await startStack(ROUTING_MANIFEST, { nginx: false });
    gw = await startGateway({ manifestPath: stack.manifestPath, watch: false, listen: '127.0.0.1:0', admin: '127.0.0.1:0', env: { STRANGLER_ADMIN_TOKEN: TOKEN } });
    traffic = new Pool(`http://127.0.0.1:${gw.listen.port}`, { connections: LOOPS + 1, pipelining: 1 });
    admin = new Pool(`http://127.0.0.1:${gw.admin.port}`, { connections: 1 });
  });
  after(async () => {
    await traffic?.close();
    await admin?.close();
    await gw?.close(1000);
    await stack?.stop();
  });

  /** One GET on the `track` route; the side that served it, or the failure as text. */
  async function track(n: number): Promise<Side | string> {
    try {
      const res = await traffic.request({ path: `/api/v1/track/${n}`, method: 'GET' });
      const text = await res.body.text();
      if (res.statusCode !== 200) return `status ${res.statusCode}: ${text.slice(0, 200)}`;
      const body = JSON.parse(text) as { served_by: string };
      const route = res.headers['x-strangler-route'];
      if (route !== 'track') return `route ${String(route)}`;
      return body.served_by === 'function' || body.served_by === 'legacy' ? body.served_by : `served_by ${body.served_by}`;
    } catch (err) {
      return `error ${(err as Error).message}`;
    }
  }

  it(`${FLIPS} flips between 0% and 100% under ${LOOPS} keep-alive loops: zero failures, each ack effective at once`, async () => {
    /** Bumped when a PATCH is sent and when it is acknowledged. */
    let epoch = 0;
    /** The side every request must see; null while a PATCH is in flight. */
    let expected: Side | null = 'function';
    let running = true;
    const failures: string[] = [];
    const stale: string[] = [];
    let requests = 0;
    let checked = 0;
    let n = 0;

    const loop = async () => {
      while (running) {
        const startEpoch = epoch;
        const want = expected;
        const got = await track(n++);
        requests++;
        if (got !== 'function' && got !== 'legacy') { failures.push(got); continue; }
        if (want !== null && epoch === startEpoch) {
          checked++;
          if (got !== want) stale.push(`epoch ${startEpoch}: expected ${want}, got ${got}`);
        }
      }
    };
    const loops = Array.from({ length: LOOPS }, loop);

    const nextAfterAck: string[] = [];
    try {
      for (let i = 0; i < FLIPS; i++) {
        const percent = i % 2 === 0 ? 0 : 100;
        expected = null;
        epoch++;
        const res = await admin.request({
          path: '/routes/track', method: 'PATCH',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ percent }),
        });
        const body = await res.body.json() as { effective_percent: number };
        assert.equal(res.statusCode, 200);
        assert.equal(body.effective_percent, percent);
        const side: Side = percent === 100 ? 'function' : 'legacy';
        expected = side;
        epoch++;
        // The very next request after the acknowledgement.
        const got = await track(n++);
        if (got !== side) nextAfterAck.push(`flip ${i} to ${percent}%: next request got ${got}`);
        // Let the loops run a little inside the stable phase.
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      running = false;
      await Promise.all(loops);
    }

    console.log(`      ${FLIPS} flips, ${requests} requests from ${LOOPS} loops (${checked} inside a stable phase), ${failures.length} failed`);
    assert.deepEqual(failures, [], 'no request may fail while the route flips');
    assert.deepEqual(nextAfterAck, [], 'the request after each acknowledged PATCH follows it');
    assert.deepEqual(stale, [], 'requests between two acknowledged changes follow the last one');
    assert.ok(requests >= 4 * FLIPS, `the loops really ran alongside the flips: ${requests} requests`);
    assert.ok(checked >= FLIPS, `enough requests ran inside stable phases: ${checked}`);

    assert.equal(gw.state.override('track')?.percent, 100, 'the last flip (to 100%) is the state');
    const audit = readFileSync(gw.auditLocation, 'utf8').trim().split('\n');
    assert.equal(audit.length, FLIPS, 'one audit line per flip');
  });

  it('manifest reloads under the same load: zero failures, each reload effective from the next request', async () => {
    const RELOADS = 20;
    let running = true;
    const failures: string[] = [];
    let requests = 0;
    const loop = async (k: number) => {
      for (let i = 0; running; i++) {
        try {
          const res = await traffic.request({ path: i % 2 ? `/off/${k}.${i}` : `/api/v1/track/${k}.${i}`, method: 'GET' });
          const text = await res.body.text();
          requests++;
          if (res.statusCode !== 200) failures.push(`status ${res.statusCode}: ${text.slice(0, 200)}`);
        } catch (err) {
          failures.push(`error ${(err as Error).message}`);
        }
      }
    };
    const loops = Array.from({ length: LOOPS }, (_, k) => loop(k));
    const wrong: string[] = [];
    try {
      for (let i = 0; i < RELOADS; i++) {
        const percent = i % 2 === 0 ? 100 : 0;
        writeFileSync(stack.manifestPath, stack.manifestText.replace('canary: { percent: 0 }', `canary: { percent: ${percent} }`));
        const r = await gw.reload('test');
        assert.equal(r.outcome, 'reloaded');
        const res = await traffic.request({ path: '/off/next', method: 'GET' });
        const body = await res.body.json() as { served_by: string };
        if (body.served_by !== (percent === 100 ? 'function' : 'legacy')) wrong.push(`reload ${i} (${percent}%): ${body.served_by}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      running = false;
      await Promise.all(loops);
    }
    console.log(`      ${RELOADS} reloads, ${requests} requests, ${failures.length} failed`);
    assert.deepEqual(failures, []);
    assert.deepEqual(wrong, []);
    assert.ok(requests >= 2 * RELOADS, `the loops ran alongside the reloads: ${requests}`);
  });
});
