// Fallback replays a request to legacy only when the gateway still has its body: a PUT with a
// known body up to REPLAY_BUFFER_LIMIT is held and replayed; a larger or chunked one streams to
// the function and, when that fails, gets 502 rather than a replay without its body.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { REPLAY_BUFFER_LIMIT } from '../gateway/runtime/gateway-server';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { startStack, type Stack } from './helpers/stack';

describe('gateway: fallback replay of request bodies', function () {
  let stack: Stack;
  let gateway: GatewayHandle;

  before(async () => {
    stack = await startStack(ROUTING_MANIFEST, { nginx: false });
    gateway = await startGateway({ manifestPath: stack.manifestPath, listen: '127.0.0.1:0', admin: '127.0.0.1:0', watch: false, env: { STRANGLER_ADMIN_TOKEN: 'replay-test' } });
  });
  after(async () => {
    await gateway?.close(1000);
    await stack?.stop();
  });

  const url = (path: string) => `http://127.0.0.1:${gateway.listen.port}${path}`;

  it('replays a small PUT to legacy, body included, when the upstream refuses', async () => {
    const body = Buffer.alloc(64 * 1024, 7);
    const res = await request(url('/gone/item'), { method: 'PUT', body });
    const echo = await res.body.json() as { served_by: string; body_bytes: number; method: string };
    assert.equal(res.statusCode, 200);
    assert.equal(echo.served_by, 'legacy');
    assert.equal(echo.method, 'PUT');
    assert.equal(echo.body_bytes, body.length);
    assert.equal(res.headers['x-strangler-target'], 'legacy');
  });

  it('replays a body that arrived in several chunks, after the function read it and answered 503, to legacy intact', async () => {
    // Held in memory, so the same body can be written to the function, then to legacy.
    const chunks = [0, 1, 2, 3, 4].map((i) => randomBytes(20_000 + i));
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const sha256 = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
    async function* slowly() {
      for (const c of chunks) {
        yield c;
        await sleep(10); // separate writes, so the gateway reads separate chunks
      }
    }
    stack.functions.setFaults('status=503', 'generate-report');
    try {
      const invoked = stack.functions.invocations['generate-report'] ?? 0;
      const res = await request(url('/generate-report/x'), { method: 'PUT', body: Readable.from(slowly()), headers: { 'content-length': String(total) } });
      const echo = await res.body.json() as { served_by: string; body_bytes: number; body_sha256: string };
      assert.equal(res.statusCode, 200);
      assert.equal(echo.served_by, 'legacy');
      assert.equal(echo.body_bytes, total);
      assert.equal(echo.body_sha256, sha256);
      assert.equal(stack.functions.invocations['generate-report'], invoked + 1, 'the function saw the first copy');
    } finally {
      stack.functions.setFaults('', 'generate-report');
    }
  });

  it('sends a body that arrived in several chunks to the function intact', async () => {
    const chunks = [0, 1, 2].map((i) => randomBytes(30_000 + i));
    const total = chunks.reduce((n, c) => n + c.length, 0);
    async function* slowly() {
      for (const c of chunks) {
        yield c;
        await sleep(10);
      }
    }
    const res = await request(url('/generate-report/y'), { method: 'POST', body: Readable.from(slowly()), headers: { 'content-length': String(total) } });
    const echo = await res.body.json() as { served_by: string; body_bytes: number; body_sha256: string; headers: Record<string, string> };
    assert.equal(res.statusCode, 200);
    assert.equal(echo.served_by, 'function');
    assert.equal(echo.body_bytes, total);
    assert.equal(echo.body_sha256, createHash('sha256').update(Buffer.concat(chunks)).digest('hex'));
    assert.equal(echo.headers['content-length'], String(total), 'a held body keeps its length, not chunked');
  });

  it('answers 502 to a PUT too large to hold, and never replays it without its body', async () => {
    const before = stack.legacy.requests;
    const size = REPLAY_BUFFER_LIMIT + 1024 * 1024;
    const res = await request(url('/gone/big'), { method: 'PUT', body: Buffer.alloc(size, 1), headers: { 'content-length': String(size) } });
    const answer = await res.body.json() as { error: string; route: string };
    assert.equal(res.statusCode, 502);
    assert.equal(answer.error, 'upstream_failed');
    assert.equal(answer.route, 'gone');
    assert.equal(stack.legacy.requests, before, 'legacy saw a replay');
  });

  it('answers 502 to a chunked PUT (unknown length) instead of replaying it', async () => {
    const res = await request(url('/gone/chunked'), { method: 'PUT', body: Readable.from([Buffer.from('a'), Buffer.from('b')]) });
    const answer = await res.body.json() as { error: string };
    assert.equal(res.statusCode, 502);
    assert.equal(answer.error, 'upstream_failed');
  });
});
