// What a copy holds and for how long: its max_in_flight slot is free once the copy has failed or
// the user's answer is too slow to wait for, whatever the user's answer still does; results reset
// while copies run do not count them afterwards; legacy never runs a request that may change state
// twice for a noise sample; and only copies carry X-Strangler-Shadow.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { pollUntil } from './helpers/poll';
import { json } from './helpers/scripted-upstream';
import { rigManifest, startShadowRig, type ShadowRig } from './helpers/shadow-rig';

const ROUTES = `
  - { id: slow, match: { prefix: /slow }, to: "function:slow", canary: { percent: 0 }, shadow: { max_in_flight: 1, timeout: 300ms } }
  - { id: held, match: { prefix: /held }, to: "function:held", canary: { percent: 0 }, shadow: { timeout: 30s } }
  - id: orders
    match: { prefix: /orders }
    to: function:orders
    canary: { percent: 0 }
    shadow: { methods: [GET, POST], side_effect_free: true, noise: { sample: 100 } }`;

describe('shadow copies: slots, resets, noise samples and the copy header', function () {
  this.timeout(30_000);
  let rig: ShadowRig;
  /** User answers the legacy side started and holds open: the test ends them. */
  const streaming: ServerResponse[] = [];
  before(async () => {
    rig = await startShadowRig((p) => rigManifest(p, ROUTES));
  });
  after(async () => {
    for (const res of streaming) res.destroy();
    await rig?.close();
  });

  /** Starts a request whose answer legacy begins and never ends; resolves once its head arrived. */
  async function startStreaming(path: string): Promise<void> {
    const res = await request(rig.url(path));
    assert.equal(res.statusCode, 200);
    res.body.on('error', () => undefined);
  }
  const streamForever = (_req: unknown, res: ServerResponse) => {
    streaming.push(res);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk of a long answer\n');
  };

  it('counts a failed copy at once and frees its slot while the user\'s answer still streams', async () => {
    rig.legacy.on('/slow/stream', streamForever);
    rig.functions.on('/function/slow/stream', () => undefined); // never answers: the copy times out
    rig.legacy.on('/slow/quick', json(200, { ok: true }));
    rig.functions.on('/function/slow/quick', json(200, { ok: true }));
    await startStreaming('/slow/stream');
    const failed = await pollUntil('the copy\'s timeout counted', async () => {
      const r = await rig.results('slow');
      return r.errors === 1 ? r : null;
    });
    assert.deepEqual(failed.error_kinds, { timeout: 1 });
    const res = await request(rig.url('/slow/quick'));
    await res.body.dump();
    const r = await rig.settled('slow', 2);
    assert.deepEqual([r.compared, r.equal, r.skipped], [1, 1, {}], 'the slot was free for the next copy');
  });

  it('waits for the user\'s answer at most the shadow timeout after the copy\'s: then user_incomplete, and the slot is free', async () => {
    rig.legacy.on('/slow/long', streamForever);
    rig.functions.on('/function/slow/long', json(200, { ok: true }));
    await rig.admin('DELETE', '/routes/slow/shadow');
    await startStreaming('/slow/long');
    const r = await rig.settled('slow', 1);
    assert.deepEqual(r.skipped, { user_incomplete: 1 });
    assert.equal(streaming.at(-1)!.writableEnded, false, 'the user\'s answer is still streaming');
    const res = await request(rig.url('/slow/quick'));
    await res.body.dump();
    assert.equal((await rig.settled('slow', 2)).equal, 1);
  });

  it('does not count, after a reset, a copy that began before it', async () => {
    let release: (() => void) | null = null;
    rig.legacy.on('/held', json(200, { v: 1 }));
    rig.functions.on('/function/held/first', (_req, res) => {
      release = () => json(200, { v: 2 })(_req, res, Buffer.alloc(0));
    });
    rig.functions.on('/function/held/second', json(200, { v: 1 }));
    const first = await request(rig.url('/held/first'));
    await first.body.dump();
    await pollUntil('the first copy held at the function', () => release !== null);
    assert.equal((await rig.admin('DELETE', '/routes/held/shadow')).status, 200);
    release!();
    await pollUntil('the held answer sent', () => rig.functions.open() === 0);
    const second = await request(rig.url('/held/second'));
    await second.body.dump();
    const r = await rig.settled('held', 1);
    assert.deepEqual([r.compared, r.equal, r.different], [1, 1, 0], 'only the copy begun after the reset counts');
  });

  it('sends a noise sample of a GET, never of a POST: legacy runs a POST once', async () => {
    rig.legacy.on('/orders', json(200, { ok: true }));
    rig.functions.on('/function/orders', json(200, { ok: true }));
    const post = await request(rig.url('/orders/new'), { method: 'POST', body: '{"item":1}', headers: { 'content-type': 'application/json' } });
    await post.body.dump();
    const get = await request(rig.url('/orders/list'));
    await get.body.dump();
    const r = await rig.settled('orders', 2);
    assert.equal(r.compared, 2);
    assert.equal(r.noise_samples, 1, 'the GET was sampled');
    assert.equal(rig.legacy.seen.get('/orders/new'), 1, 'the POST reached legacy once');
    assert.equal(rig.functions.seen.get('/function/orders/new'), 1, 'and its copy the function once');
    assert.equal(rig.legacy.seen.get('/orders/list'), 2, 'the GET reached legacy twice: the user\'s and the sample');
  });

  it('sends X-Strangler-Shadow: 1 with copies only: a client\'s own is dropped', async () => {
    const seen: { side: string; value: unknown }[] = [];
    rig.legacy.on('/held/header', (req, res, body) => {
      seen.push({ side: 'legacy', value: req.headers['x-strangler-shadow'] });
      json(200, { ok: true })(req, res, body);
    });
    rig.functions.on('/function/held/header', (req, res, body) => {
      seen.push({ side: 'function', value: req.headers['x-strangler-shadow'] });
      json(200, { ok: true })(req, res, body);
    });
    const res = await request(rig.url('/held/header'), { headers: { 'x-strangler-shadow': '1' } });
    await res.body.dump();
    await pollUntil('the copy arrived', () => seen.length === 2);
    assert.deepEqual(seen.sort((a, b) => a.side.localeCompare(b.side)), [{ side: 'function', value: '1' }, { side: 'legacy', value: undefined }]);
  });
});
