// Large answers are compared on a thread of their own: the event loop keeps turning while two
// big JSON bodies are parsed and walked, and the gateway reports what the thread found as it
// reports an inline comparison (paths, examples cut, ignore rules, noise).
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { CapturedAnswer } from '../gateway/runtime/shadow-compare';
import { CompareThread, onThread, THREAD_BYTES, type CompareReply } from '../gateway/runtime/shadow-compare-thread';
import { json } from './helpers/scripted-upstream';
import { rigManifest, startShadowRig, type ShadowRig } from './helpers/shadow-rig';

const answer = (body: unknown): CapturedAnswer => ({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) });
const items = (n: number, changed = -1) => ({ items: Array.from({ length: n }, (_, i) => ({ id: i, name: `item ${i}`, price: i === changed ? -1 : i * 3, tags: ['a', 'b', 'c'] })) });

describe('shadow: the comparison thread', function () {
  this.timeout(60_000);

  it('compares on its own thread: the event loop turns while a large pair is compared', async () => {
    const thread = new CompareThread();
    try {
      const job = { legacy: answer(items(50_000)), fn: answer(items(50_000, 40_000)), again: null };
      assert.ok(onThread(job));
      let turns = 0;
      let counting = true;
      const tick = () => {
        turns++;
        if (counting) setImmediate(tick);
      };
      setImmediate(tick);
      const reply = await new Promise<CompareReply>((resolve) => thread.compare(job, resolve));
      counting = false;
      assert.ok(!('error' in reply), JSON.stringify(reply));
      assert.deepEqual(reply.differences, [{ path: '$.items[40000].price', legacy: 120_000, function: -1 }]);
      assert.ok(turns >= 10, `the event loop turned ${turns} times while the thread compared`);
    } finally {
      await thread.close();
    }
  });

  it('sends back examples, never a body, and legacy\'s own differences for a noise sample', async () => {
    const thread = new CompareThread();
    try {
      const big = answer(items(5000));
      const other: CapturedAnswer = { ...answer([1]), body: Buffer.from(`[${'1,'.repeat(THREAD_BYTES)}1]`) };
      const reply = await new Promise<CompareReply>((resolve) => thread.compare({ legacy: big, fn: other, again: answer({ items: [] }) }, resolve));
      assert.ok(!('error' in reply), JSON.stringify(reply));
      assert.equal(reply.differences.length, 1);
      assert.equal(reply.differences[0].path, '$');
      assert.match(String(reply.differences[0].legacy), /… \(\d+ characters\)$/);
      assert.ok(String(reply.differences[0].function).length < 300);
      assert.ok(reply.noise!.length > 0 && reply.noise!.every((p) => p.startsWith('$.items[')));
    } finally {
      await thread.close();
    }
  });

  describe('through the gateway', () => {
    let rig: ShadowRig;
    before(async () => {
      rig = await startShadowRig((p) => rigManifest(p,
        '  - { id: big, match: { prefix: /big }, to: "function:big", canary: { percent: 0 }, shadow: { max_body: 8m, ignore: ["$.items[*].name"] } }'));
    });
    after(() => rig?.close());

    it('reports a large pair\'s differences at their paths, with the route\'s ignore rules', async () => {
      rig.legacy.on('/big', json(200, items(20_000)));
      rig.functions.on('/function/big', json(200, { items: items(20_000, 7).items.map((x) => ({ ...x, name: 'renamed' })) }));
      for (let i = 0; i < 2; i++) {
        const res = await request(rig.url('/big/list'));
        assert.equal(res.statusCode, 200);
        await res.body.arrayBuffer(); // read whole: a client that leaves early makes it user_incomplete
      }
      const r = await rig.settled('big', 2);
      assert.deepEqual([r.compared, r.different, r.errors], [2, 2, 0], JSON.stringify(r));
      assert.deepEqual(r.differences, [{ path: '$.items[7].price', count: 2, example: { legacy: 21, function: -1 } }]);
    });
  });
});
