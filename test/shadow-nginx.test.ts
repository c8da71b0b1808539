// A shadowed route behind a real nginx: nginx hands it to the gateway, the user gets legacy's
// answer, and the copy to the function is compared; `strangler diff` shows it to a person, and
// with --workers the counts are summed over the workers.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { renderNginxConfig } from '../gateway/nginx/render-config';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { gatewayBehindNginx } from './helpers/manifests';
import { freePort } from './helpers/net';
import { requireNginx, startNginx, type RunningNginx } from './helpers/nginx';
import { pollUntil } from './helpers/poll';
import { json, startScriptedUpstream, type ScriptedUpstream } from './helpers/scripted-upstream';
import { runCli } from './helpers/serve-child';

const TOKEN = 'shadow-nginx-test';

type Ports = Parameters<typeof gatewayBehindNginx>[0];
const manifest = (p: Ports) => gatewayBehindNginx(p, `  - id: quote
    match: { prefix: /quote }
    to: function:quote
    canary: { percent: 0 }
    shadow: { ignore: ["$.served_at"] }`);

async function scripted(): Promise<{ legacy: ScriptedUpstream; functions: ScriptedUpstream }> {
  const legacy = await startScriptedUpstream();
  const functions = await startScriptedUpstream();
  legacy.on('/quote', json(200, { price: 100, currency: 'NOK', served_at: 1 }));
  functions.on('/function/quote', json(200, { currency: 'NOK', price: 101, served_at: 2 }));
  return { legacy, functions };
}

function writeManifest(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'strangler-shadow-nginx-')), 'routes.yaml');
  writeFileSync(path, text);
  return path;
}

async function shadowOf(admin: number): Promise<{ compared: number; different: number; differences: { path: string; count: number }[] }> {
  const res = await request(`http://127.0.0.1:${admin}/routes/quote/shadow`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return await res.body.json() as { compared: number; different: number; differences: { path: string; count: number }[] };
}

/** The quote route's shadow summary in GET /routes (what the dashboard shows). */
async function routesSummary(admin: number): Promise<unknown> {
  const res = await request(`http://127.0.0.1:${admin}/routes`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return ((await res.body.json()) as { routes: { id: string; shadow?: unknown }[] }).routes.find((r) => r.id === 'quote')!.shadow;
}

describe('shadow through nginx: the route is handed to the gateway and compared', function () {
  this.timeout(30_000);
  let up: { legacy: ScriptedUpstream; functions: ScriptedUpstream };
  let nginx: RunningNginx;
  let gateway: GatewayHandle;
  let ports: Ports;

  before(async function () {
    requireNginx(this);
    up = await scripted();
    ports = { nginx: await freePort(), legacy: up.legacy.port, functions: up.functions.port, gateway: await freePort(), admin: await freePort() };
    const text = manifest(ports);
    const manifestPath = writeManifest(text);
    gateway = await startGateway({ manifestPath, watch: false, env: { STRANGLER_ADMIN_TOKEN: TOKEN } });
    nginx = await startNginx(renderNginxConfig(compileManifest(text).table!), { ports: [ports.nginx] });
  });
  after(async () => {
    await nginx?.stop();
    await gateway?.close(500);
    await Promise.all([up?.legacy.close(), up?.functions.close()]);
  });

  it('serves legacy\'s answer through nginx and compares the copy sent to the function', async () => {
    const res = await request(`http://127.0.0.1:${ports.nginx}/quote/7`);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await res.body.json(), { price: 100, currency: 'NOK', served_at: 1 });
    const r = await pollUntil('a comparison', async () => { const s = await shadowOf(ports.admin); return s.compared >= 1 ? s : null; });
    assert.equal(r.different, 1);
    assert.deepEqual(r.differences.map((d) => d.path), ['$.price']);
    assert.equal(up.functions.seen.get('/function/quote/7'), 1);
  });

  it('strangler diff shows the differing path and its example pair; --json prints the admin JSON', async () => {
    const env = { STRANGLER_ADMIN_TOKEN: TOKEN };
    const admin = `127.0.0.1:${ports.admin}`;
    const text = await runCli(['diff', 'quote', '--admin', admin], env);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /route quote \(function:quote\) against legacy: 1 compared, 0 equal, 1 different/);
    assert.match(text.stdout, /\$\.price +1x +legacy: 100\n +function: 101/);
    const asJson = await runCli(['diff', 'quote', '--admin', admin, '--json'], env);
    assert.equal(JSON.parse(asJson.stdout).differences[0].path, '$.price');
    const unknown = await runCli(['diff', 'nope', '--admin', admin], env);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no route "nope"/);
    const usage = await runCli(['diff', '--admin', admin], env);
    assert.equal(usage.status, 2, 'ROUTE is required');
  });
});

describe('shadow with --workers: results summed over the workers', function () {
  this.timeout(30_000);
  let up: { legacy: ScriptedUpstream; functions: ScriptedUpstream };
  let gateway: GatewayHandle;

  before(async () => {
    up = await scripted();
    // The manifest's own addresses are unused (listen and admin are given): free ports all the same.
    const text = manifest({ nginx: await freePort(), legacy: up.legacy.port, functions: up.functions.port, gateway: await freePort(), admin: await freePort() });
    gateway = await startGateway({ manifestPath: writeManifest(text), listen: '127.0.0.1:0', admin: '127.0.0.1:0', workers: 2, watch: false, env: { STRANGLER_ADMIN_TOKEN: TOKEN } });
  });
  after(async () => {
    await gateway?.close(500);
    await Promise.all([up?.legacy.close(), up?.functions.close()]);
  });

  it('counts every request whichever worker took it, and DELETE resets every worker', async () => {
    // A new connection per request, so the kernel spreads them over the workers.
    for (let i = 0; i < 10; i++) {
      const res = await request(`http://127.0.0.1:${gateway.listen.port}/quote`, { reset: true });
      await res.body.dump();
    }
    const r = await pollUntil('10 comparisons', async () => { const s = await shadowOf(gateway.admin.port); return s.compared >= 10 ? s : null; });
    assert.equal(r.compared, 10);
    assert.deepEqual(r.differences, [{ path: '$.price', count: 10, example: { legacy: 100, function: 101 } }]);
    assert.deepEqual(await routesSummary(gateway.admin.port), { compared: 10, equal: 0, different: 10, match_ratio: 0 }, 'GET /routes sums the workers too');
    const cleared = await request(`http://127.0.0.1:${gateway.admin.port}/routes/quote/shadow`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal((await cleared.body.json() as { compared: number }).compared, 0);
    assert.deepEqual(await routesSummary(gateway.admin.port), { compared: 0, equal: 0, different: 0, match_ratio: null });
  });
});
