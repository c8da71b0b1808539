// Forwarding by the Node gateway (`strangler serve` as a child process, as operators run it):
// the headers upstream and back (RFC 9110 §7.6.1 hop-by-hop, X-Forwarded-*, nginx's $host),
// bodies streamed both ways with the gateway's memory flat, WebSocket pass-through, and upstream
// failures answered with a short JSON 502/504 naming the route and the failure, never a hang.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import WebSocket from 'ws';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { requireNginx } from './helpers/nginx';
import { rawRequest } from './helpers/raw-http';
import { memoryOf, startServeChild, type ServeChild } from './helpers/serve-child';
import { startStack, type Stack, type StackPorts } from './helpers/stack';

const MiB = 1024 * 1024;
const HEAVY = process.env.STRANGLER_HEAVY === '1';
/** The streamed body size: 256 MiB by default, 1 GiB with STRANGLER_HEAVY=1. */
const BIG = HEAVY ? 1024 * MiB : 256 * MiB;
/** Peak-RSS growth allowed while BIG bytes pass: flat means it does not scale with the body. */
const RSS_BOUND = 96 * MiB;

/**
 * A raw upstream for `upstream:hop`: answers every request with the request head exactly as it
 * arrived (JSON), and with hop-by-hop response headers a gateway must not pass on.
 */
function startHopServer(): Promise<{ server: Server; port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4); // GET requests only: no body follows
        const body = JSON.stringify({ head });
        socket.write([
          'HTTP/1.1 200 OK',
          'Content-Type: application/json',
          `Content-Length: ${Buffer.byteLength(body)}`,
          'Connection: keep-alive, X-Hop-Secret',
          'Keep-Alive: timeout=30',
          'X-Hop-Secret: only-for-the-next-hop',
          'Proxy-Connection: keep-alive',
          'Trailer: X-Checksum',
          'X-End-To-End: kept',
          'Set-Cookie: a=1; Path=/',
          'Set-Cookie: b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT',
          '', body,
        ].join('\r\n'));
      }
    });
  });
  server.on('close', () => { for (const s of sockets) s.destroy(); });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

const FORWARDING_MANIFEST = (hopPort: number) => (p: StackPorts) => `
version: 1
listen: "127.0.0.1:${p.nginx}"
debug_headers: true
upstreams:
  legacy: { servers: ["127.0.0.1:${p.legacy}"], keepalive: 16 }
  functions: { servers: ["127.0.0.1:${p.functions}"], keepalive: 16 }
  dead: { servers: ["127.0.0.1:${p.dead}"] }
  hop: { servers: ["127.0.0.1:${hopPort}"], keepalive: 4 }
gateway: { listen: "127.0.0.1:${p.gateway}", admin: "127.0.0.1:${p.admin}" }
defaults:
  body: { max_size: "0" }
routes:
  - id: slow
    match: { prefix: /slow }
    to: function:track-package
    timeouts: { read: 1s }
  - id: gone
    match: { prefix: /gone }
    to: upstream:dead
  - id: hop
    match: { prefix: /hop }
    to: upstream:hop
`;

/** Raw head lines ("Name: value") → lower-cased name → every value, in order. */
function parseHead(head: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of head.split('\r\n').slice(1)) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    out.set(name, [...(out.get(name) ?? []), line.slice(i + 1).trim()]);
  }
  return out;
}

/** The pattern the legacy fixture's `big=` fault streams: byte i is i % 251. */
function checkPattern(chunk: Buffer, offset: number): void {
  const last = chunk.length - 1;
  if (chunk[0] !== offset % 251 || chunk[last] !== (offset + last) % 251) {
    throw new Error(`download corrupted at offset ${offset}`);
  }
}

/** BIG bytes in 64 KiB chunks, each different, hashed as they go out. */
function uploadBody(total: number, hash: ReturnType<typeof createHash>): Readable {
  const size = 64 * 1024;
  let sent = 0;
  let n = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const chunk = Buffer.alloc(Math.min(size, total - sent), n++ & 0xff);
      chunk.writeUInt32BE(n, 0);
      hash.update(chunk);
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

function assertShortJsonError(status: number, bodyText: string, expect: { error: string; route: string }): Record<string, unknown> {
  assert.ok(bodyText.length < 300, `a short body, got ${bodyText.length} bytes: ${bodyText}`);
  assert.doesNotMatch(bodyText, /\bat .+:\d+:\d+|Error:|node:internal|\/gateway\//, 'no stack trace or internals in the body');
  const body = JSON.parse(bodyText) as Record<string, unknown>;
  assert.equal(body.error, expect.error, `${status} body: ${bodyText}`);
  assert.equal(body.route, expect.route);
  return body;
}

describe('gateway forwarding (strangler serve as a child process)', function () {
  this.timeout(60_000);
  let stack: Stack;
  let hop: { server: Server; port: number };
  let gw: ServeChild;
  let base: string;

  before(async () => {
    hop = await startHopServer();
    stack = await startStack(FORWARDING_MANIFEST(hop.port), { nginx: false });
    gw = await startServeChild([stack.manifestPath, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'], { STRANGLER_ADMIN_TOKEN: 'forwarding-test' });
    base = `http://127.0.0.1:${gw.trafficPort}`;
  });
  after(async () => {
    await gw?.kill();
    await stack?.stop();
    await new Promise((r) => hop?.server.close(r));
  });

  describe('request headers upstream', () => {
    let received: Map<string, string[]>;
    before(async () => {
      const res = await rawRequest(gw.trafficPort, '/hop/x?q=1', {
        headers: {
          host: 'API.Example.NO:8443',
          connection: 'close, X-Hop-Req',
          'x-hop-req': 'only-for-the-next-hop',
          'keep-alive': 'timeout=5',
          'proxy-connection': 'keep-alive',
          te: 'trailers',
          trailer: 'X-Checksum',
          upgrade: 'h2c',
          'x-forwarded-for': '203.0.113.7',
          'x-real-ip': '6.6.6.6',
          'x-forwarded-proto': 'https',
          'x-forwarded-host': 'evil.example',
          'x-custom': 'end-to-end',
        },
      });
      assert.equal(res.status, 200, res.body.toString());
      received = parseHead(JSON.parse(res.body.toString()).head);
    });

    it('strips hop-by-hop headers, including those the Connection header names', () => {
      for (const name of ['x-hop-req', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']) {
        assert.equal(received.get(name), undefined, `${name} must not reach the upstream: ${JSON.stringify([...received])}`);
      }
      for (const v of received.get('connection') ?? []) assert.doesNotMatch(v, /x-hop-req|close/i, 'the client\'s Connection header is not forwarded');
      assert.deepEqual(received.get('x-custom'), ['end-to-end'], 'end-to-end headers pass');
    });

    it('appends the client address to X-Forwarded-For and sets X-Real-IP, X-Forwarded-Proto/-Host', () => {
      assert.deepEqual(received.get('x-forwarded-for'), ['203.0.113.7, 127.0.0.1']);
      assert.deepEqual(received.get('x-real-ip'), ['127.0.0.1'], 'the client cannot choose X-Real-IP');
      assert.deepEqual(received.get('x-forwarded-proto'), ['http']);
      assert.deepEqual(received.get('x-forwarded-host'), ['api.example.no:8443']);
    });

    it('sends Host as nginx\'s $host (lower-cased) with the client\'s port where it is not 80', async () => {
      assert.deepEqual(received.get('host'), ['api.example.no:8443']);
      const res = await rawRequest(gw.trafficPort, '/hop/w', { headers: { host: 'API.Example.NO:80' } });
      assert.deepEqual(parseHead(JSON.parse(res.body.toString()).head).get('host'), ['api.example.no']);
    });

    it('starts X-Forwarded-For with the client address when the client sent none', async () => {
      const res = await rawRequest(gw.trafficPort, '/hop/y', { headers: { host: 'shop.example.' } });
      const h = parseHead(JSON.parse(res.body.toString()).head);
      assert.deepEqual(h.get('x-forwarded-for'), ['127.0.0.1']);
      assert.deepEqual(h.get('host'), ['shop.example'], 'a trailing dot is dropped, as nginx does');
    });
  });

  it('strips hop-by-hop response headers and keeps end-to-end ones', async () => {
    const res = await rawRequest(gw.trafficPort, '/hop/z');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-end-to-end'], 'kept');
    for (const name of ['x-hop-secret', 'keep-alive', 'proxy-connection', 'trailer']) {
      assert.equal(res.headers[name], undefined, `${name} must not reach the client: ${JSON.stringify(res.headers)}`);
    }
    assert.doesNotMatch(res.headers.connection ?? '', /x-hop-secret/i);
    const head = res.raw.subarray(0, res.raw.indexOf('\r\n\r\n')).toString('latin1');
    assert.deepEqual(head.split('\r\n').filter((l) => /^set-cookie:/i.test(l)).map((l) => l.slice(l.indexOf(':') + 1).trim()),
      ['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT'], 'each Set-Cookie stays its own header line');
  });

  describe('streaming', function () {
    this.timeout(HEAVY ? 600_000 : 180_000);
    let baseline: number;

    before(async () => {
      // Warm up both directions so buffers and code paths exist before the baseline.
      for (let i = 0; i < 2; i++) {
        const up = await request(`${base}/warm`, { method: 'POST', body: uploadBody(8 * MiB, createHash('sha256')) });
        await up.body.dump();
        const down = await request(`${base}/warm?fixture_fault=big=8m`);
        for await (const _ of down.body) { /* drain */ }
      }
      baseline = memoryOf(gw.pid).hwm;
    });

    it(`streams a ${BIG / MiB} MiB upload to legacy intact, with the gateway's peak RSS growth bounded`, async () => {
      const hash = createHash('sha256');
      const res = await request(`${base}/upload/big`, { method: 'PUT', body: uploadBody(BIG, hash), headers: { 'content-type': 'application/octet-stream' } });
      const echo = await res.body.json() as { served_by: string; body_bytes: number; body_sha256: string; headers: Record<string, string> };
      assert.equal(res.statusCode, 200);
      assert.equal(echo.served_by, 'legacy');
      assert.equal(echo.body_bytes, BIG);
      assert.equal(echo.body_sha256, hash.digest('hex'));
      assert.equal(echo.headers['transfer-encoding'], 'chunked', 'a body of unknown length is streamed, not buffered to count it');
      const after = memoryOf(gw.pid);
      const growth = after.hwm - baseline;
      console.log(`      upload ${BIG / MiB} MiB: gateway peak RSS ${(baseline / MiB).toFixed(1)} -> ${(after.hwm / MiB).toFixed(1)} MiB (growth ${(growth / MiB).toFixed(1)} MiB)`);
      assert.ok(growth < RSS_BOUND, `peak RSS grew ${(growth / MiB).toFixed(1)} MiB for a ${BIG / MiB} MiB upload`);
    });

    it(`streams a ${BIG / MiB} MiB download from legacy intact, with the gateway's peak RSS growth bounded`, async () => {
      const before = memoryOf(gw.pid).hwm;
      const res = await request(`${base}/download/big?fixture_fault=big=${BIG / MiB}m`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-length'], String(BIG), 'the length is passed through');
      let got = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        checkPattern(chunk, got);
        got += chunk.length;
      }
      assert.equal(got, BIG);
      const after = memoryOf(gw.pid);
      const growth = after.hwm - before;
      console.log(`      download ${BIG / MiB} MiB: gateway peak RSS ${(before / MiB).toFixed(1)} -> ${(after.hwm / MiB).toFixed(1)} MiB (growth ${(growth / MiB).toFixed(1)} MiB), RSS now ${(after.rss / MiB).toFixed(1)} MiB`);
      assert.ok(after.hwm - baseline < RSS_BOUND, `peak RSS grew ${((after.hwm - baseline) / MiB).toFixed(1)} MiB over the baseline`);
    });

    it('a client that stops reading a download holds the upstream back: peak RSS growth stays bounded', async () => {
      const before = memoryOf(gw.pid).hwm;
      const socket = connect(gw.trafficPort, '127.0.0.1');
      let got = 0;
      let peakDuringPause = before;
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.once('data', (first) => {
          got += first.length;
          socket.pause(); // stop reading: the kernel buffers fill, then the gateway must stop the upstream
          let polls = 0;
          const poll = setInterval(() => {
            peakDuringPause = Math.max(peakDuringPause, memoryOf(gw.pid).hwm);
            if (++polls < 30) return;
            clearInterval(poll);
            socket.on('data', (c: Buffer) => { got += c.length; });
            socket.once('end', () => resolve());
            socket.resume();
          }, 50);
        });
        socket.write(`GET /download/paused?fixture_fault=big=${BIG / MiB}m HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n`);
      });
      socket.destroy();
      assert.ok(got > BIG, `the whole body arrived after the pause (${got} bytes with the head)`);
      const growth = memoryOf(gw.pid).hwm - before;
      console.log(`      paused reader: gateway peak RSS growth ${(growth / MiB).toFixed(1)} MiB (${((peakDuringPause - before) / MiB).toFixed(1)} MiB during the pause)`);
      assert.ok(growth < RSS_BOUND, `peak RSS grew ${(growth / MiB).toFixed(1)} MiB while the client did not read`);
    });

    it('a client that aborts an upload or a download midway: the gateway carries on', async () => {
      await new Promise<void>((resolve, reject) => {
        const up = connect(gw.trafficPort, '127.0.0.1');
        up.on('error', () => undefined);
        up.write(`PUT /upload/aborted HTTP/1.1\r\nhost: localhost\r\ncontent-length: ${64 * MiB}\r\n\r\n`);
        up.write(Buffer.alloc(4 * MiB, 7), (err) => { if (err) return reject(err); up.destroy(); resolve(); });
      });
      const down = await request(`${base}/download/aborted?fixture_fault=big=${BIG / MiB}m`);
      let got = 0;
      for await (const chunk of down.body as AsyncIterable<Buffer>) {
        got += chunk.length;
        if (got > 8 * MiB) break; // leaving the loop destroys the body: the client goes away
      }
      const res = await request(`${base}/health`);
      assert.equal(res.statusCode, 200);
      await res.body.dump();
      assert.doesNotMatch(gw.stdout() + gw.stderr(), /internal error/);
    });
  });

  it('an upstream that breaks off mid-body: the client connection is cut, its body short of Content-Length', async () => {
    const res = await rawRequest(gw.trafficPort, '/cut', { headers: { 'x-fixture-fault': 'big=1m,reset-mid' }, timeoutMs: 15_000 });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(MiB));
    assert.ok(res.body.length < MiB, `${res.body.length} bytes of ${MiB}`);
  });

  it('passes WebSocket upgrades through: text and binary echo from legacy /ws', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.trafficPort}/ws`);
    const messages: Array<{ data: Buffer; binary: boolean }> = [];
    ws.on('message', (data, binary) => messages.push({ data: data as Buffer, binary }));
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
    const bin = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 256));
    ws.send('hello through the gateway');
    ws.send(bin);
    const deadline = Date.now() + 10_000;
    while (messages.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    assert.equal(messages.length, 2);
    assert.equal(messages[0].binary, false);
    assert.equal(messages[0].data.toString(), 'hello through the gateway');
    assert.equal(messages[1].binary, true);
    assert.ok(messages[1].data.equals(bin));
    await new Promise<void>((resolve) => { if (ws.readyState === WebSocket.CLOSED) resolve(); else ws.once('close', () => resolve()); });
  });

  describe('WebSocket upgrades the upstream does not accept', () => {
    const WS_HEADERS = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };

    /** Sends an upgrade request and reads the answer: head and a Content-Length body, or up to the close. */
    function upgradeAnswer(target: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string>; body: string }> {
      return new Promise((resolve, reject) => {
        const socket = connect(gw.trafficPort, '127.0.0.1');
        let buf = Buffer.alloc(0);
        const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer to the upgrade of ${target}`)); }, 15_000);
        const finish = () => {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return false;
          const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
          const h: Record<string, string> = {};
          for (const l of lines) h[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
          const body = buf.subarray(end + 4);
          if (h['content-length'] !== undefined && body.length < Number(h['content-length'])) return false;
          clearTimeout(timer);
          socket.destroy();
          resolve({ status: Number(statusLine.split(' ')[1]), headers: h, body: body.toString() });
          return true;
        };
        socket.on('data', (c) => { buf = Buffer.concat([buf, c]); finish(); });
        socket.on('close', () => { if (!finish()) { clearTimeout(timer); reject(new Error(`connection closed without an answer: ${buf.toString('latin1')}`)); } });
        socket.on('error', () => undefined);
        socket.write(`GET ${target} HTTP/1.1\r\nhost: localhost\r\n${Object.entries({ ...WS_HEADERS, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
      });
    }

    it('an upstream refusing the upgrade (403) is relayed as is, like nginx, not turned into a 502', async () => {
      const res = await upgradeAnswer('/ws?fixture_fault=status=403');
      assert.equal(res.status, 403);
      assert.equal(res.headers['x-served-by'], 'legacy');
      assert.equal(JSON.parse(res.body).served_by, 'legacy');
    });

    it('an upstream that ignores Upgrade answers normally, relayed', async () => {
      const res = await upgradeAnswer('/not-a-socket');
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).path, '/not-a-socket');
    });

    it('refused and timed-out upgrades: 502/504 JSON naming the route and the failure', async () => {
      const refused = await upgradeAnswer('/gone/ws');
      assert.equal(refused.status, 502);
      assert.equal(assertShortJsonError(502, refused.body, { error: 'upstream_failed', route: 'gone' }).failure, 'refused');
      const timedOut = await upgradeAnswer('/slow/ws', { 'x-fixture-fault': 'hang' });
      assert.equal(timedOut.status, 504);
      assert.equal(assertShortJsonError(504, timedOut.body, { error: 'upstream_timeout', route: 'slow' }).failure, 'timeout');
    });
  });

  describe('upstream failures', () => {
    it('connection refused: 502 JSON naming the route and the failure', async () => {
      const res = await rawRequest(gw.trafficPort, '/gone/1', { timeoutMs: 15_000 });
      assert.equal(res.status, 502);
      assert.match(res.headers['content-type'], /application\/json/);
      const body = assertShortJsonError(502, res.body.toString(), { error: 'upstream_failed', route: 'gone' });
      assert.equal(body.failure, 'refused');
    });

    it('connection reset: 502 JSON', async () => {
      const res = await rawRequest(gw.trafficPort, '/anything', { headers: { 'x-fixture-fault': 'reset' }, timeoutMs: 15_000 });
      assert.equal(res.status, 502);
      const body = assertShortJsonError(502, res.body.toString(), { error: 'upstream_failed', route: 'default' });
      assert.equal(body.failure, 'reset');
    });

    it('read timeout: 504 JSON naming the route and the failure', async () => {
      const res = await rawRequest(gw.trafficPort, '/slow/1', { headers: { 'x-fixture-fault': 'hang' }, timeoutMs: 15_000 });
      assert.equal(res.status, 504);
      const body = assertShortJsonError(504, res.body.toString(), { error: 'upstream_timeout', route: 'slow' });
      assert.equal(body.failure, 'timeout');
    });

    it('a streamed upload to a refused upstream gets its 502 and the connection ends', async () => {
      // The gateway answers before it has read the body, then reads and discards the rest (as
      // nginx's lingering close does): closing with the body unread would reset the connection,
      // and the reset could destroy the 502 before the client read it (EPIPE/ECONNRESET instead).
      for (const size of [64 * 1024, 8 * MiB, 8 * MiB, 8 * MiB, 8 * MiB, 32 * MiB]) {
        const res = await request(`${base}/gone/upload`, { method: 'POST', body: Buffer.alloc(size, 1), headers: { 'content-type': 'application/octet-stream' }, headersTimeout: 15_000, bodyTimeout: 15_000 });
        assert.equal(res.statusCode, 502);
        assertShortJsonError(502, await res.body.text(), { error: 'upstream_failed', route: 'gone' });
      }
      const after = await request(`${base}/health`);
      assert.equal(after.statusCode, 200);
      await after.body.dump();
    });

    it('a response stalled after its headers is cut after the read timeout, not left hanging', async () => {
      // rawRequest resolves only when the connection closes: a hang would time it out.
      const res = await rawRequest(gw.trafficPort, '/slow/2', { headers: { 'x-fixture-fault': 'stall-body' }, timeoutMs: 15_000 });
      assert.equal(res.status, 200);
      assert.ok(res.body.length < Number(res.headers['content-length']), 'the body is short of its Content-Length: the client can tell it was cut');
    });

    it('keeps serving on a keep-alive connection after a 502', async () => {
      const a = await request(`${base}/gone/3`);
      assert.equal(a.statusCode, 502);
      await a.body.dump();
      const b = await request(`${base}/health`);
      assert.equal(b.statusCode, 200);
      assert.equal((await b.body.json() as { served_by: string }).served_by, 'legacy');
    });

    it('never logged a stack trace', () => {
      assert.doesNotMatch(gw.stderr() + gw.stdout(), /\n\s+at .+:\d+:\d+/);
    });
  });
});

describe('gateway forwarding: X-Forwarded-* and Host exactly as the compiled nginx sends them', function () {
  let stack: Stack;
  let gateway: GatewayHandle;
  before(async function () {
    requireNginx(this);
    stack = await startStack(ROUTING_MANIFEST);
    gateway = await startGateway({ manifestPath: stack.manifestPath, watch: false, listen: '127.0.0.1:0', admin: '127.0.0.1:0', env: { STRANGLER_ADMIN_TOKEN: 'x' } });
  });
  after(async () => {
    await gateway?.close(1000);
    await stack?.stop();
  });

  it('a client\'s several X-Forwarded-For lines', async () => {
    const raw = 'GET /health HTTP/1.1\r\nhost: localhost\r\nx-forwarded-for: 198.51.100.1\r\nx-forwarded-for: 198.51.100.2, 198.51.100.3\r\nconnection: close\r\n\r\n';
    // Not rawRequest's rawRequest option: it half-closes, and both nginx and the gateway take that for a client gone.
    const xff = (port: number) => new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c)).on('error', reject).on('close', () => {
        const text = Buffer.concat(chunks).toString();
        try { resolve(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).headers['x-forwarded-for']); } catch (err) { reject(err); }
      });
      socket.write(raw);
    });
    const [n, g] = await Promise.all([xff(stack.ports.nginx), xff(gateway.listen.port)]);
    assert.equal(g, n);
  });

  for (const host of ['API.Example.NO:8443', 'shop.example.', 'localhost', '127.0.0.1:80', '[::1]:8090', 'xn--bcher-kva.example']) {
    it(`Host: ${host}`, async () => {
      const pick = (port: number) => rawRequest(port, '/health', { headers: { host, 'x-forwarded-for': '198.51.100.1' } }).then((r) => {
        const h = JSON.parse(r.body.toString()).headers as Record<string, string>;
        return { host: h.host, xff: h['x-forwarded-for'], real: h['x-real-ip'], proto: h['x-forwarded-proto'], fhost: h['x-forwarded-host'] };
      });
      const [n, g] = await Promise.all([pick(stack.ports.nginx), pick(gateway.listen.port)]);
      assert.deepEqual(g, n);
    });
  }
});
