// The protections nginx gives a monolith without being asked, checked with raw sockets against
// both layers on one manifest: a body is read whole before the upstream sees the request (stalled,
// truncated and malformed bodies reach it never), slow clients are timed out (client_body_timeout,
// send_timeout, the read timeout on an upgraded connection), a connection's pipelined requests are
// served one at a time, and a dynamic route survives a missing gateway. Small timeouts in the
// manifest keep it quick; every wait polls for a state, with a bound.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { renderNginxConfig } from '../gateway/nginx/render-config';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { CountingUpstream } from './helpers/counting-upstream';
import { freePort } from './helpers/net';
import { requireNginx, startNginx, type RunningNginx } from './helpers/nginx';
import { sleep } from './helpers/raw-http';

const manifest = (p: { nginx: number; upstream: number; gateway: number; admin: number; tmp: string }) => `
version: 1
listen: "127.0.0.1:${p.nginx}"
upstreams:
  legacy: { servers: ["127.0.0.1:${p.upstream}"], keepalive: 4 }
  functions: { servers: ["127.0.0.1:${p.upstream}"] }
gateway: { listen: "127.0.0.1:${p.gateway}", admin: "127.0.0.1:${p.admin}", body_temp_path: "${p.tmp}" }
defaults:
  timeouts: { read: 1s, client_body_timeout: 1s, send_timeout: 1s }
  body: { max_size: 1m, buffer: 16k }
routes:
  - id: stream
    match: { prefix: /stream }
    to: legacy
    body: { buffering: false }
  - id: dyn
    match: { prefix: /dynamic }
    to: function:anything
    dynamic: true
`;

/** Polls `ok` every 20 ms until it holds, failing after `tries` polls. */
async function until(what: string, ok: () => boolean, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (ok()) return;
    await sleep(20);
  }
  assert.fail(`timed out waiting until ${what}`);
}

/** A raw connection that records what it received and whether the server closed it. */
function open(port: number): Promise<{ socket: Socket; data: () => string; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let closed = false;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => { text += d; });
    socket.on('close', () => { closed = true; });
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, data: () => text, closed: () => closed }));
    socket.once('error', reject);
  });
}

describe('client shield: nginx and the gateway protect the monolith alike', function () {
  this.timeout(60_000);
  const up = new CountingUpstream();
  let nginx: RunningNginx;
  let gateway: GatewayHandle;
  let gatewayTmp = '';
  const layers: Array<{ name: string; port: () => number; tempFiles: () => string[] }> = [];

  before(async function () {
    requireNginx(this);
    await up.start();
    const dir = mkdtempSync(join(tmpdir(), 'strangler-shield-'));
    gatewayTmp = join(dir, 'body');
    const ports = { nginx: await freePort(), upstream: up.port, gateway: await freePort(), admin: await freePort(), tmp: gatewayTmp };
    const text = manifest(ports);
    const { table, diagnostics } = compileManifest(text);
    assert.ok(table, JSON.stringify(diagnostics));
    writeFileSync(join(dir, 'routes.yaml'), text);
    nginx = await startNginx(renderNginxConfig(table), { ports: [ports.nginx] });
    layers.push(
      { name: 'nginx', port: () => ports.nginx, tempFiles: () => listDir(join(nginx.prefix, 'client_body_temp')) },
      { name: 'gateway', port: () => gateway.listen.port, tempFiles: () => listDir(gatewayTmp) },
    );
    gateway = await startGateway({ manifestPath: join(dir, 'routes.yaml'), listen: '127.0.0.1:0', admin: '127.0.0.1:0', watch: false, env: { STRANGLER_ADMIN_TOKEN: 'shield-test' } });
  });
  after(async () => {
    await gateway?.close(500);
    await nginx?.stop();
    up.close();
  });

  function listDir(dir: string): string[] {
    if (!existsSync(dir)) return [];
    const out: string[] = [];
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) out.push(...listDir(join(dir, e.name)));
      else out.push(e.name);
    }
    return out;
  }

  /** A plain request through `port`, answered: after it, everything sent before it was handled. */
  async function barrier(port: number): Promise<void> {
    const c = await open(port);
    c.socket.write('GET /barrier HTTP/1.1\r\nHost: shield\r\nConnection: close\r\n\r\n');
    await until('the barrier request is answered', c.closed);
    assert.match(c.data(), /^HTTP\/1\.1 200/);
  }

  for (const layer of ['nginx', 'gateway'] as const) {
    const port = () => layers.find((l) => l.name === layer)!.port();
    const tempFiles = () => layers.find((l) => l.name === layer)!.tempFiles();

    describe(layer, () => {
      it('closes a connection whose declared body stalls (client_body_timeout), and the upstream never sees it', async () => {
        const before = up.requests;
        const c = await open(port());
        c.socket.write('POST /stall HTTP/1.1\r\nHost: shield\r\nContent-Length: 1000\r\n\r\n0123456789');
        await until('the stalled connection is closed', c.closed);
        assert.doesNotMatch(c.data(), /^HTTP\/1\.1 [25]/, 'no answer from upstream');
        await barrier(port());
        assert.equal(up.requests, before + 1, 'only the barrier reached the upstream');
      });

      it('closes a stalled body on a route that streams it (buffering: false) too', async () => {
        const c = await open(port());
        c.socket.write('POST /stream HTTP/1.1\r\nHost: shield\r\nContent-Length: 1000\r\n\r\n0123456789');
        await until('the stalled streamed upload is closed', c.closed);
        assert.doesNotMatch(c.data(), /^HTTP\/1\.1 2/);
      });

      it('reads a slow upload whole (spilled to a temp file) before the upstream sees it, then removes the file', async () => {
        const before = up.requests;
        const body = Buffer.alloc(300 * 1024, 97);
        const c = await open(port());
        c.socket.write(`POST /upload HTTP/1.1\r\nHost: shield\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
        c.socket.write(body.subarray(0, 200 * 1024));
        // nginx unlinks its client_body_temp files at once; the gateway's can be watched.
        if (layer === 'gateway') await until('the partial body is in a temp file', () => tempFiles().length > 0);
        await barrier(port());
        assert.equal(up.requests, before + 1, 'the upstream saw the request before its body was complete');
        c.socket.write(body.subarray(200 * 1024));
        await until('the upload is answered', c.closed);
        assert.match(c.data(), /^HTTP\/1\.1 200/);
        assert.equal(up.requests, before + 2);
        assert.equal(up.bodies[up.bodies.length - 1], body.length);
        await until('the temp file is removed', () => tempFiles().length === 0);
      });

      it('forwards nothing of a truncated body', async () => {
        const before = up.requests;
        const c = await open(port());
        c.socket.write('POST /truncated HTTP/1.1\r\nHost: shield\r\nContent-Length: 100\r\n\r\n' + 'x'.repeat(50));
        c.socket.end();
        await until('the truncated connection is closed', c.closed);
        await barrier(port());
        assert.equal(up.requests, before + 1, 'only the barrier reached the upstream');
      });

      it('answers 400 to a bad chunk size and forwards nothing', async () => {
        const before = up.requests;
        const c = await open(port());
        c.socket.write('POST /chunked HTTP/1.1\r\nHost: shield\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nbad\r\n0\r\n\r\n');
        await until('the bad chunked request is answered and closed', c.closed);
        assert.match(c.data(), /^HTTP\/1\.1 400/);
        await barrier(port());
        assert.equal(up.requests, before + 1, 'only the barrier reached the upstream');
      });

      it('serves pipelined requests on one connection one at a time', async () => {
        up.maxInFlight = 0;
        const before = up.requests;
        const n = 20;
        const c = await open(port());
        let pipeline = '';
        for (let i = 0; i < n; i++) pipeline += `GET /slow/${i} HTTP/1.1\r\nHost: shield\r\n${i === n - 1 ? 'Connection: close\r\n' : ''}\r\n`;
        c.socket.write(pipeline);
        await until('every pipelined request is answered', c.closed);
        assert.equal(c.data().match(/HTTP\/1\.1 200/g)?.length, n);
        assert.equal(up.requests, before + n);
        assert.equal(up.maxInFlight, 1, 'pipelined requests reached the upstream together');
      });

      it('cuts a download the client does not read (send_timeout), and the upstream answer with it', async () => {
        const cut = up.cutAnswers;
        const c = await open(port());
        c.socket.pause(); // never read
        c.socket.write('GET /big HTTP/1.1\r\nHost: shield\r\n\r\n');
        await until('the unread answer is cut at the upstream', () => up.cutAnswers > cut);
        c.socket.destroy();
        assert.ok(listDir(join(nginx.prefix, 'proxy_temp')).length === 0, 'nginx spooled the answer to disk');
      });

      it('closes an idle upgraded connection after the read timeout', async () => {
        const c = await open(port());
        c.socket.write('GET /ws HTTP/1.1\r\nHost: shield\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        await until('the upgrade is answered', () => c.data().includes('\r\n\r\n'));
        assert.match(c.data(), /^HTTP\/1\.1 101/);
        await until('the idle upgraded connection is closed', c.closed);
      });

      it('sends X-Request-Id upstream: the client\'s as is, or 32 hex digits', async () => {
        const c = await open(port());
        c.socket.write('GET /id HTTP/1.1\r\nHost: shield\r\nX-Request-Id: abc-123\r\n\r\nGET /id HTTP/1.1\r\nHost: shield\r\nConnection: close\r\n\r\n');
        await until('both are answered', c.closed);
        const [given, made] = up.requestIds.slice(-2);
        assert.equal(given, 'abc-123');
        assert.match(made, /^[0-9a-f]{32}$/);
      });
    });
  }

  it('nginx serves a dynamic route from legacy while no gateway answers', async () => {
    // The manifest's gateway.listen has no listener: the gateway under test listens elsewhere.
    const before = up.requests;
    const c = await open(layers[0].port());
    c.socket.write('GET /dynamic/x HTTP/1.1\r\nHost: shield\r\nConnection: close\r\n\r\n');
    await until('the dynamic route is answered', c.closed);
    assert.match(c.data(), /^HTTP\/1\.1 200/);
    assert.match(c.data(), /"url":"\/dynamic\/x"/);
    assert.equal(up.requests, before + 1);
  });

  it('nginx logs no uninitialized-variable warning for a request refused before routing', async () => {
    const c = await open(layers[0].port());
    c.socket.write('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n');
    await until('the refusal is answered', c.closed);
    assert.match(c.data(), /^HTTP\/1\.1 400/);
    await until('the access log has the refused request', () => /"status":400/.test(readLog(nginx.prefix)));
    assert.doesNotMatch(nginx.errorLog(), /uninitialized/);
    assert.doesNotMatch(nginx.errorLog(), /setrlimit/, 'worker_rlimit_nofile is omitted by default');
    assert.match(readLog(nginx.prefix), /"route":"-","target":"-".*"status":400/);
  });
});

function readLog(prefix: string): string {
  const file = join(prefix, 'logs', 'access.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}
