// What a new user hit in the first hour: flip/canary/status pointed at a port that is not the
// admin API (the token must never reach it), status on unexpected answers, PATCH /routes, the
// manifest's admin_hosts, "did you mean", the YAML syntax error's position, status --help.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startStack, type Stack, type StackPorts } from './helpers/stack';
import { runCli, startServeChild, type ServeChild } from './helpers/serve-child';

const TOKEN = 'first-hour-token-0123456789abcdef';
const ENV = { STRANGLER_ADMIN_TOKEN: TOKEN };

const MANIFEST = (p: StackPorts) => `
version: 1
listen: "127.0.0.1:${p.nginx}"
upstreams:
  legacy: { servers: ["127.0.0.1:${p.legacy}"] }
  functions: { servers: ["127.0.0.1:${p.functions}"] }
gateway: { listen: "127.0.0.1:${p.gateway}", admin: "127.0.0.1:${p.admin}", admin_hosts: [strangler-admin.example.internal] }
routes:
  - { id: track, match: { prefix: /api/v1/track }, to: "function:track-package" }
  - { id: images, match: { prefix: /images/ }, to: "function:image-resizer", canary: { percent: 10 } }
`;

/** A plain HTTP server that answers every request with `body` and keeps every byte it received. */
async function recordingServer(body: string, type = 'application/json'): Promise<{ port: number; received: () => string; close: () => Promise<void> }> {
  let received = '';
  const server: Server = createServer((sock) => {
    sock.on('data', (d) => {
      received += d.toString('latin1');
      if (received.endsWith('\r\n\r\n') || /\r\n\r\n[\s\S]+$/.test(received)) {
        sock.end(`HTTP/1.1 200 OK\r\ncontent-type: ${type}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    received: () => received,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('the CLI and the admin API a new user meets', function () {
  this.timeout(60_000);
  let stack: Stack;
  let serve: ServeChild;

  before(async () => {
    stack = await startStack(MANIFEST, { nginx: false });
    serve = await startServeChild([stack.manifestPath], ENV);
  });
  after(async () => {
    await serve?.kill();
    await stack?.stop();
  });

  const cli = (...args: string[]) => runCli([...args, '--manifest', stack.manifestPath], ENV);
  const admin = (method: string, path: string, body?: unknown, host?: string) => request(`http://127.0.0.1:${stack.ports.admin}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(host ? { host } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

  it('flip, canary and status against a port that is not the admin API fail clearly, and the token is never sent', async () => {
    // What the monolith did: echo the request (headers included) back as JSON.
    const echo = await recordingServer('{"served_by":"legacy","headers":{}}');
    try {
      for (const args of [['flip', 'track', 'legacy'], ['canary', 'images', '50'], ['status'], ['flip', '--all', 'legacy']]) {
        const r = await cli(...args, '--admin', `127.0.0.1:${echo.port}`);
        assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, new RegExp(`http://127\\.0\\.0\\.1:${echo.port} is not a strangler admin API .*the admin token was not sent`));
        assert.doesNotMatch(r.stdout + r.stderr, /undefined|Cannot read properties/);
      }
      assert.ok(echo.received().includes('GET /healthz'), 'the CLI asked /healthz first');
      assert.ok(!echo.received().includes(TOKEN), 'the token reached a server that is not the admin API');
      assert.doesNotMatch(echo.received(), /authorization/i);
    } finally {
      await echo.close();
    }
    // The gateway's own traffic port is not the admin API either.
    const traffic = await cli('status', '--admin', `127.0.0.1:${stack.ports.gateway}`);
    assert.equal(traffic.status, 1);
    assert.match(traffic.stderr, /is not a strangler admin API/);
  });

  it('status never crashes on an answer of unexpected shape', async () => {
    // An admin API that says it is one but answers /routes with something else (another version).
    const odd = await recordingServer('{"status":"ok","service":"strangler-admin","routes":{"track":1}}');
    try {
      const r = await cli('status', '--admin', `127.0.0.1:${odd.port}`);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /did not answer with the routes this strangler version expects/);
      assert.doesNotMatch(r.stderr, /Cannot read properties|TypeError/);
    } finally {
      await odd.close();
    }
  });

  it('PATCH /routes: many routes or all in one version; bad bodies and unknown ids change nothing', async () => {
    const version = async () => ((await (await admin('GET', '/routes')).body.json()) as { state_version: number }).state_version;
    const v0 = await version();
    for (const [body, status, pattern] of [
      [{}, 400, /unexpected keys \[\]; expected \{"all"/],
      [{ routes: {}, all: 0 }, 400, /unexpected keys/],
      [{ routes: { track: 101 } }, 400, /routes\.track must be 0\.\.100/],
      [{ all: 'legacy' }, 400, /all must be 0\.\.100/],
      [{ routes: { trak: 0, images: 0 } }, 404, /no route "trak" in the manifest \(did you mean "track" for "trak"\?\); nothing changed/],
      [{ routes: { default: 0 } }, 409, /default route/],
    ] as Array<[unknown, number, RegExp]>) {
      const res = await admin('PATCH', '/routes', body);
      const json = (await res.body.json()) as { error: string; message?: string };
      assert.equal(res.statusCode, status, JSON.stringify(body));
      assert.match(json.message ?? json.error, pattern);
    }
    assert.equal(await version(), v0, 'nothing changed');
    const res = await admin('PATCH', '/routes', { routes: { track: 0, images: 50 } });
    assert.equal(res.statusCode, 200);
    const out = (await res.body.json()) as { state_version: number; changes: Record<string, { old: number; new: number }> };
    assert.equal(out.state_version, v0 + 1);
    assert.deepEqual(out.changes, { track: { old: 100, new: 0 }, images: { old: 10, new: 50 } });
    const all = await admin('PATCH', '/routes', { all: null });
    assert.equal(((await all.body.json()) as { state_version: number }).state_version, v0 + 2);
  });

  it('answers to the host names the manifest lists in gateway.admin_hosts, and refuses others', async () => {
    const listed = await admin('GET', '/routes', undefined, `strangler-admin.example.internal:${stack.ports.admin}`);
    assert.equal(listed.statusCode, 200);
    await listed.body.dump();
    const other = await admin('GET', '/routes', undefined, `evil.example:${stack.ports.admin}`);
    assert.equal(other.statusCode, 403);
    await other.body.dump();
  });

  it('serve bound to every interface prints the addresses other machines reach the admin API by, and answers them', async () => {
    const wide = await startServeChild([stack.manifestPath, '--listen', '127.0.0.1:0', '--admin', '0.0.0.0:0', '--state', join(mkdtempSync(join(tmpdir(), 'strangler-wide-')), 's.json')], ENV);
    try {
      const external = Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal && a.family === 'IPv4').map((a) => a!.address);
      for (const ip of external) {
        assert.match(wide.stdout(), new RegExp(`^ +http://${ip.replace(/\./g, '\\.')}:${wide.adminPort} \\(bound to 0\\.0\\.0\\.0`, 'm'));
        const res = await request(`http://${ip}:${wide.adminPort}/healthz`);
        assert.equal(res.statusCode, 200, `the printed URL http://${ip}:${wide.adminPort} is refused`);
        await res.body.dump();
      }
      if (!external.length) console.warn('      (no external IPv4 interface here: only the loopback URL to check)');
      assert.match(wide.stdout(), new RegExp(`^  admin +http://127\\.0\\.0\\.1:${wide.adminPort}$`, 'm'));
    } finally {
      await wide.kill();
    }
  });

  it('flip: a misspelt target gets "did you mean"; a misspelt route too', async () => {
    const target = await cli('flip', 'track', 'legcy');
    assert.equal(target.status, 2);
    assert.match(target.stderr, /got "legcy" \(did you mean legacy\?\)/);
    const route = await cli('flip', 'trak', 'legacy');
    assert.equal(route.status, 1);
    assert.match(route.stderr, /no route "trak" in the manifest \(did you mean track\?\)/);
  });

  it('status --help lists --json under Options:', async () => {
    const r = await runCli(['status', '--help']);
    const lines = r.stdout.split('\n');
    const options = lines.indexOf('Options:');
    const json = lines.findIndex((l) => /--json/.test(l) && !/^Usage/.test(l));
    assert.ok(options >= 0 && json > options, r.stdout);
  });

  it('validate: one YAML syntax error at the unclosed quote, and "did you mean" for a misspelt key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strangler-first-hour-'));
    const head = 'version: 1\nlisten: 8080\nupstreams:\n  legacy: { servers: ["127.0.0.1:8081"] }\n  functions: { servers: ["127.0.0.1:8082"] }\nroutes:\n';
    const quote = join(dir, 'quote.yaml');
    writeFileSync(quote, `${head}  - id: a\n    match: { prefix: "/a }\n    to: legacy\n`);
    const q = await runCli(['validate', quote]);
    assert.equal(q.status, 1);
    const errors = q.stderr.trim().split('\n').filter((l) => /error STR_/.test(l));
    assert.equal(errors.length, 1, q.stderr);
    assert.match(errors[0], /quote\.yaml:8:22: error STR_YAML_SYNTAX: Missing closing "quote/);
    const indent = join(dir, 'indent.yaml');
    writeFileSync(indent, `${head}  - id: a\n   match: { prefix: /a }\n    to: legacy\n`);
    const i = await runCli(['validate', indent]);
    assert.match(i.stderr, /indent\.yaml:8:4: error STR_YAML_SYNTAX/);
    assert.equal(i.stderr.trim().split('\n').filter((l) => /error STR_/.test(l)).length, 1, i.stderr);
    const key = join(dir, 'key.yaml');
    writeFileSync(key, `${head}  - { id: a, match: { prefix: /a }, to: "functon:a", canary: { percnt: 5 } }\n`);
    const k = await runCli(['validate', key]);
    assert.match(k.stderr, /unknown key "percnt" \(did you mean percent\?\)/);
    assert.match(k.stderr, /"functon:a" is not allowed here .*\(did you mean function:a\?\)/);
  });
});
