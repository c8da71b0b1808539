// The copies' connections to a server are one pool, shared by every route that copies there and
// capped (64, or the upstream's max_conns if lower). A copy that finds them all busy is not sent:
// it is skipped as pool_full, never reported as the upstream refusing it, and the user is served.
import assert from 'node:assert/strict';
import { request } from 'undici';
import { pollUntil } from './helpers/poll';
import { json } from './helpers/scripted-upstream';
import { startShadowRig, type ShadowRig } from './helpers/shadow-rig';

const manifest = (legacy: number, functions: number) => `
version: 1
listen: 8080
upstreams:
  legacy: { servers: ["127.0.0.1:${legacy}"] }
  functions: { servers: ["127.0.0.1:${functions}"], max_conns: 1 }
routes:
  - { id: first, match: { prefix: /first }, to: "function:first", canary: { percent: 0 }, shadow: { timeout: 30s } }
  - { id: second, match: { prefix: /second }, to: "function:second", canary: { percent: 0 }, shadow: { timeout: 30s } }
`;

describe('shadow copies: a full pool of copies skips, it does not fail', function () {
  this.timeout(30_000);
  let rig: ShadowRig;
  before(async () => {
    rig = await startShadowRig((p) => manifest(p.legacy, p.functions));
  });
  after(() => rig?.close());

  async function status(path: string): Promise<number> {
    const res = await request(rig.url(path));
    await res.body.dump();
    return res.statusCode;
  }

  it('counts a copy that finds the shared connections busy as skipped (pool_full), for its own route and another, and serves the user', async () => {
    rig.legacy.on('/', json(200, { ok: true }));
    rig.functions.on('/', () => undefined); // holds the first copy, and with it the one connection
    assert.equal(await status('/first/1'), 200);
    await pollUntil('the first copy waiting at the function', () => rig.functions.open() === 1);
    assert.equal(await status('/first/2'), 200);
    assert.equal(await status('/second/1'), 200);
    const first = await pollUntil('the second copy of first skipped', async () => {
      const r = await rig.results('first');
      return r.skipped.pool_full === 1 ? r : null;
    });
    assert.equal(first.errors, 0, JSON.stringify(first.error_kinds));
    const second = await rig.results('second');
    assert.deepEqual(second.skipped, { pool_full: 1 });
    assert.equal(second.errors, 0, JSON.stringify(second.error_kinds));
    assert.equal(rig.functions.open(), 1, 'only the first copy reached the function');
  });
});
