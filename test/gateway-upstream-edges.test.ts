// What a probe of the gateway's shielding found, each against the gateway alone: a buffered body
// in a temp file that an attempt never reads (its server at max_conns, a refused connect) neither
// ends the process nor keeps the file's descriptor; an upstream head up to proxy_buffer_size and
// an interim 103 before the answer are relayed as nginx relays them; and the requests a client
// pipelined before leaving are not served after it left.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { freePort } from './helpers/net';
import { pollUntil } from './helpers/poll';

const TOKEN = 'upstream-edges-test';

describe('gateway: upstream edges a probe found', function () {
  this.timeout(30_000);
  let upstream: Server;
  let gateway: GatewayHandle;
  let bodyDir: string;
  const held: ServerResponse[] = [];
  let seenHang = 0;

  before(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url!.includes('/hang')) {
          seenHang++;
          held.push(res);
          return;
        }
        if (req.url!.includes('/big-head')) {
          const cookies = Array.from({ length: 40 }, (_, i) => `c${i}=${'v'.repeat(500)}; Path=/`);
          res.writeHead(200, { 'set-cookie': cookies, 'content-length': 2 });
          return void res.end('ok');
        }
        if (req.url!.includes('/hints')) res.writeEarlyHints({ link: '</a.css>; rel=preload' });
        res.writeHead(200, { 'content-length': 2 });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as AddressInfo).port;
    const dead = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'strangler-upstream-edges-'));
    bodyDir = join(dir, 'body');
    writeFileSync(join(dir, 'routes.yaml'), `
version: 1
listen: 8080
upstreams:
  legacy: { servers: ["127.0.0.1:${port}"] }
  limited: { servers: ["127.0.0.1:${port}"], max_conns: 1 }
  dead: { servers: ["127.0.0.1:${dead}"] }
gateway: { body_temp_path: "${bodyDir}" }
defaults:
  body: { buffer: 16k }
routes:
  - { id: limited, match: { prefix: /limited }, to: "upstream:limited" }
  - { id: dead, match: { prefix: /dead }, to: "upstream:dead" }
`);
    gateway = await startGateway({ manifestPath: join(dir, 'routes.yaml'), listen: '127.0.0.1:0', admin: '127.0.0.1:0', watch: false, env: { STRANGLER_ADMIN_TOKEN: TOKEN } });
  });
  after(async () => {
    for (const res of held) res.destroy();
    await gateway?.close(500);
    upstream?.closeAllConnections();
    upstream?.close();
  });

  const url = (path: string) => `http://127.0.0.1:${gateway.listen.port}${path}`;
  /** This process's open descriptors on the gateway's body temp files (deleted ones included). */
  const bodyFds = () => readdirSync('/proc/self/fd').filter((fd) => {
    try { return readlinkSync(`/proc/self/fd/${fd}`).startsWith(bodyDir); } catch { return false; }
  }).length;
  const post = async (path: string) => {
    const res = await request(url(path), { method: 'POST', body: Buffer.alloc(50 * 1024, 'b'), headers: { 'content-type': 'application/octet-stream' } });
    await res.body.dump();
    return res.statusCode;
  };

  it('answers 502 to a body in a temp file whose server is at max_conns, and lives on', async () => {
    const first = request(url('/limited/hang'), { method: 'POST', body: Buffer.alloc(50 * 1024, 'a') });
    await pollUntil('the first request holding the one connection', () => seenHang === 1);
    assert.equal(await post('/limited/hang'), 502);
    assert.equal((await request(url('/ok'))).statusCode, 200, 'the gateway is still serving');
    held.pop()!.end('done');
    assert.equal((await first).statusCode, 200);
    await pollUntil('no descriptor left on a temp file', () => bodyFds() === 0);
  });

  it('closes the temp file of a body sent to a server that refuses connections', async () => {
    for (let i = 0; i < 5; i++) assert.equal(await post('/dead/x'), 502);
    await pollUntil('no descriptor left on a temp file', () => bodyFds() === 0);
    assert.deepEqual(readdirSync(bodyDir), []);
  });

  it('relays an upstream head up to proxy_buffer_size (20 KiB of Set-Cookie lines)', async () => {
    const client = new Agent({ maxHeaderSize: 64 * 1024 }); // undici's own limit is 16 KiB too
    try {
      const res = await request(url('/big-head'), { dispatcher: client });
      assert.equal(res.statusCode, 200);
      assert.equal((res.headers['set-cookie'] as string[]).length, 40);
      assert.equal(await res.body.text(), 'ok');
    } finally {
      await client.close();
    }
  });

  it('relays the final answer after an interim 103 Early Hints', async () => {
    const res = await request(url('/hints'));
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'ok');
  });

  it('does not serve the requests a client pipelined before it left', async () => {
    const recorded = async () => {
      const stats = await request(`http://127.0.0.1:${gateway.admin.port}/routes/default`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return (await stats.body.json() as { stats: { requests: number } }).stats.requests;
    };
    const before = await recorded();
    const hangsBefore = seenHang;
    const client = connect(gateway.listen.port, '127.0.0.1');
    client.on('error', () => undefined);
    client.write('GET /hang/flood HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(2000));
    await pollUntil('the first pipelined request at the upstream', () => seenHang === hangsBefore + 1);
    client.destroy();
    await pollUntil('the first pipelined request recorded (the client left)', async () => (await recorded()) === before + 1);
    const res = await request(url('/fresh'));
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    const since = (await recorded()) - before;
    assert.equal(since, 2, `${since} requests recorded: the queue of a client that left was served`);
    assert.equal(seenHang, hangsBefore + 1, 'a request the client queued before leaving reached the upstream');
  });
});
