// Fallback replays a request to legacy only when the gateway still has its body. With request
// buffering (the default) it always has: in memory up to body.buffer, in a temp file beyond.
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

  it('replays a PUT larger than the in-memory limit from its temp file, body intact (request buffering)', async () => {
    const before = stack.legacy.requests;
    const body = randomBytes(REPLAY_BUFFER_LIMIT + 1024 * 1024);
    const res = await request(url('/gone/big'), { method: 'PUT', body, headers: { 'content-length': String(body.length) } });
    const echo = await res.body.json() as { served_by: string; body_bytes: number; body_sha256: string };
    assert.equal(res.statusCode, 200);
    assert.equal(echo.served_by, 'legacy');
    assert.equal(echo.body_bytes, body.length);
    assert.equal(echo.body_sha256, createHash('sha256').update(body).digest('hex'));
    assert.equal(stack.legacy.requests, before + 1, 'legacy saw exactly the replay');
  });

  it('replays a chunked PUT (unknown length) to legacy with its length, as nginx sends a buffered body', async () => {
    const res = await request(url('/gone/chunked'), { method: 'PUT', body: Readable.from([Buffer.from('a'), Buffer.from('b')]) });
    const echo = await res.body.json() as { served_by: string; body_bytes: number; headers: Record<string, string> };
    assert.equal(res.statusCode, 200);
    assert.equal(echo.served_by, 'legacy');
    assert.equal(echo.body_bytes, 2);
    assert.equal(echo.headers['content-length'], '2');
    assert.equal(echo.headers['transfer-encoding'], undefined);
  });
});
