// A compressed answer is compared by what it says: a legacy side that gzips for clients that
// accept it and a function that answers plain (or in br) give equal answers, a real difference
// inside a compressed body is found at its JSON path, and what cannot be decoded (a gzip bomb past
// max_body, a broken body, a coding zlib does not know) is counted or reported as such. The user
// gets the bytes their side sent, untouched.
import assert from 'node:assert/strict';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { request } from 'undici';
import { decodeAnswer, type DecodeResult } from '../gateway/runtime/shadow-decode';
import type { CapturedAnswer } from '../gateway/runtime/shadow-compare';
import type { Script } from './helpers/scripted-upstream';
import { rigManifest, startShadowRig, type ShadowRig } from './helpers/shadow-rig';

const ROUTES = `
  - { id: plain, match: { prefix: /plain }, to: "function:plain", canary: { percent: 0 }, shadow: {} }
  - { id: price, match: { prefix: /price }, to: "function:price", canary: { percent: 0 }, shadow: {} }
  - { id: bomb, match: { prefix: /bomb }, to: "function:bomb", canary: { percent: 0 }, shadow: { max_body: 64k } }
  - { id: broken, match: { prefix: /broken }, to: "function:broken", canary: { percent: 0 }, shadow: {} }`;

/** A JSON answer in the given coding (its Content-Encoding set), or plain. */
function encoded(body: unknown, coding: 'gzip' | 'br' | 'deflate' | null, level = 6): Script {
  const text = Buffer.from(JSON.stringify(body));
  const bytes = coding === 'gzip' ? gzipSync(text, { level }) : coding === 'br' ? brotliCompressSync(text) : coding === 'deflate' ? deflateRawSync(text) : text;
  return raw(bytes, coding === null ? {} : { 'content-encoding': coding });
}

function raw(bytes: Buffer, headers: Record<string, string>): Script {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length, ...headers });
    res.end(bytes);
  };
}

const item = { id: 7, name: 'lamp', price: 20, tags: ['a', 'b'] };

describe('shadow copies: compressed answers are compared decoded', function () {
  this.timeout(30_000);
  let rig: ShadowRig;
  before(async () => {
    rig = await startShadowRig((p) => rigManifest(p, ROUTES));
  });
  after(() => rig?.close());

  /** Asks as a browser does; returns the bytes the user got, as they came. */
  async function get(path: string): Promise<{ encoding: unknown; body: Buffer }> {
    const res = await request(rig.url(path), { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(res.statusCode, 200);
    return { encoding: res.headers['content-encoding'], body: Buffer.from(await res.body.arrayBuffer()) };
  }

  it('finds legacy\'s gzip and the function\'s plain answer, or br against gzip at another level, equal', async () => {
    rig.legacy.on('/plain/gzip', encoded(item, 'gzip'));
    rig.functions.on('/function/plain/gzip', encoded({ tags: ['a', 'b'], price: 20, name: 'lamp', id: 7 }, null));
    rig.legacy.on('/plain/levels', encoded(item, 'gzip', 1));
    rig.functions.on('/function/plain/levels', encoded(item, 'br'));
    rig.legacy.on('/plain/deflate', encoded(item, 'deflate'));
    rig.functions.on('/function/plain/deflate', encoded(item, 'gzip', 9));
    const user = await get('/plain/gzip');
    assert.equal(user.encoding, 'gzip');
    assert.deepEqual(user.body, gzipSync(Buffer.from(JSON.stringify(item))), 'the user got legacy\'s bytes untouched');
    await get('/plain/levels');
    await get('/plain/deflate');
    const r = await rig.settled('plain', 3);
    assert.equal(r.compared, 3, JSON.stringify(r));
    assert.equal(r.equal, 3, JSON.stringify(r.differences));
  });

  it('finds a difference inside a compressed body at its JSON path', async () => {
    rig.legacy.on('/price', encoded(item, 'gzip'));
    rig.functions.on('/function/price', encoded({ ...item, price: 21 }, 'br'));
    await get('/price/7');
    const r = await rig.settled('price', 1);
    assert.deepEqual(r.differences.map((d) => d.path), ['$.price']);
    assert.deepEqual(r.differences[0].example, { legacy: 20, function: 21 });
  });

  it('skips an answer that decodes past max_body (a gzip bomb) as response_too_large, and serves the user its bytes', async () => {
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, ' ')); // 8 MiB of spaces in a few KiB
    assert.ok(bomb.length < 64 * 1024);
    rig.legacy.on('/bomb', raw(bomb, { 'content-encoding': 'gzip' }));
    rig.functions.on('/function/bomb', encoded(item, null));
    const user = await get('/bomb/1');
    assert.deepEqual(user.body, bomb);
    const r = await rig.settled('bomb', 1);
    assert.deepEqual(r.skipped, { response_too_large: 1 });
    assert.equal(r.compared, 0);
  });

  it('compares a body that does not decode, or in a coding without a decoder, as it came, and says why', async () => {
    const gz = gzipSync(Buffer.from(JSON.stringify(item)));
    rig.legacy.on('/broken/cut', raw(gz.subarray(0, gz.length - 12), { 'content-encoding': 'gzip' }));
    rig.functions.on('/function/broken/cut', encoded(item, null));
    await get('/broken/cut');
    let r = await rig.settled('broken', 1);
    assert.deepEqual(r.differences.map((d) => d.path), ['body']);
    assert.match(String(r.differences[0].example.legacy), /still encoded \(gzip: gzip did not decode \(unexpected end of file\)\)$/);
    assert.doesNotMatch(String(r.differences[0].example.function), /encoded/);

    rig.legacy.on('/broken/zstd', raw(Buffer.from('not really zstd'), { 'content-encoding': 'zstd' }));
    rig.functions.on('/function/broken/zstd', encoded(item, 'gzip'));
    await get('/broken/zstd');
    r = await rig.settled('broken', 2);
    const body = r.differences.find((d) => d.path === 'body')!;
    assert.equal(body.count, 2);
  });
});

describe('shadow: decoding one answer', () => {
  const answer = (body: Buffer, encoding?: string): CapturedAnswer => ({
    status: 200, headers: { 'content-type': 'application/json', ...(encoding === undefined ? {} : { 'content-encoding': encoding }) }, body,
  });
  const decode = (a: CapturedAnswer, limit = 1 << 20) => new Promise<DecodeResult>((resolve) => decodeAnswer(a, limit, resolve));
  const text = Buffer.from('{"a":1}');

  it('undoes stacked codings last first, reads deflate zlib-wrapped or raw, and leaves identity and empty bodies alone', async () => {
    const stacked = await decode(answer(brotliCompressSync(gzipSync(text)), 'gzip, br'));
    assert.deepEqual(stacked, { kind: 'answer', answer: answer(text, 'gzip, br') });
    for (const body of [deflateRawSync(text), deflateSync(text)]) {
      assert.deepEqual((await decode(answer(body, 'Deflate'))), { kind: 'answer', answer: answer(text, 'Deflate') });
    }
    assert.deepEqual(await decode(answer(text, 'identity')), { kind: 'answer', answer: answer(text, 'identity') });
    assert.deepEqual(await decode(answer(Buffer.alloc(0), 'gzip')), { kind: 'answer', answer: answer(Buffer.alloc(0), 'gzip') });
  });

  it('stops at the limit: decoded, the body may be no larger than max_body', async () => {
    const body = gzipSync(Buffer.alloc(1000, 'x'));
    assert.deepEqual(await decode(answer(body, 'gzip'), 999), { kind: 'too_large' });
    assert.equal((await decode(answer(body, 'gzip'), 1000)).kind, 'answer');
  });
});
