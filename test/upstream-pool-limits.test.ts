// `keepalive: N` and `max_conns: M` mean what nginx means, in both layers: after a burst, at most
// N idle connections per server stay open (nginx: per worker), and no more than M connections to
// a server are open at once, requests past it getting 502.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { renderNginxConfig } from '../gateway/nginx/render-config';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { CountingUpstream } from './helpers/counting-upstream';
import { freePort } from './helpers/net';
import { requireNginx, startNginx, type RunningNginx } from './helpers/nginx';
import { sleep } from './helpers/raw-http';

const KEEPALIVE = 2;
const MAX_CONNS = 3;

const manifest = (p: { nginx: number; pooled: number; capped: number; gateway: number; admin: number }) => `
version: 1
listen: "127.0.0.1:${p.nginx}"
upstreams:
  legacy: { servers: ["127.0.0.1:${p.pooled}"], keepalive: ${KEEPALIVE} }
  capped: { servers: ["127.0.0.1:${p.capped}"], keepalive: ${KEEPALIVE}, max_conns: ${MAX_CONNS} }
gateway: { listen: "127.0.0.1:${p.gateway}", admin: "127.0.0.1:${p.admin}" }
routes:
  - id: capped
    match: { prefix: /capped }
    to: upstream:capped
  - id: capped-other-timeout
    match: { prefix: /capped-other }
    to: upstream:capped
    timeouts: { connect: 2s }
`;

async function until(what: string, ok: () => boolean, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (ok()) return;
    await sleep(20);
  }
  assert.fail(`timed out waiting until ${what}`);
}

describe('upstream pools: keepalive caps idle connections, max_conns caps all', function () {
  this.timeout(60_000);
  // One pooled upstream per layer: nginx's idle connections must not count against the gateway's.
  const pooled = { nginx: new CountingUpstream(), gateway: new CountingUpstream() };
  const capped = new CountingUpstream();
  let nginx: RunningNginx;
  let gateway: GatewayHandle;
  let ports: { nginx: number; pooled: number; capped: number; gateway: number; admin: number };
  /** nginx's worker_processes auto: the keepalive cache is per worker. */
  let nginxWorkers = 1;

  before(async function () {
    requireNginx(this);
    await pooled.nginx.start();
    await pooled.gateway.start();
    await capped.start();
    ports = { nginx: await freePort(), pooled: pooled.nginx.port, capped: capped.port, gateway: await freePort(), admin: await freePort() };
    const { table, diagnostics } = compileManifest(manifest(ports));
    assert.ok(table, JSON.stringify(diagnostics));
    const dir = mkdtempSync(join(tmpdir(), 'strangler-pools-'));
    writeFileSync(join(dir, 'routes.yaml'), manifest({ ...ports, pooled: pooled.gateway.port }));
    nginx = await startNginx(renderNginxConfig(table), { ports: [ports.nginx] });
    nginxWorkers = (await import('node:os')).availableParallelism();
    gateway = await startGateway({ manifestPath: join(dir, 'routes.yaml'), listen: '127.0.0.1:0', admin: '127.0.0.1:0', watch: false, env: { STRANGLER_ADMIN_TOKEN: 'pools-test' } });
  });
  after(async () => {
    await gateway?.close(500);
    await nginx?.stop();
    pooled.nginx.close();
    pooled.gateway.close();
    capped.close();
  });

  /** `n` requests at once, each on its own connection. */
  async function burst(port: number, path: string, n: number): Promise<number[]> {
    const all = Array.from({ length: n }, async () => {
      const res = await request(`http://127.0.0.1:${port}${path}`, { headers: { 'x-delay-ms': '300', connection: 'close' } });
      await res.body.dump();
      return res.statusCode;
    });
    return Promise.all(all);
  }

  for (const layer of ['nginx', 'gateway'] as const) {
    const port = () => (layer === 'nginx' ? ports.nginx : gateway.listen.port);

    it(`${layer}: after 30 simultaneous requests, keeps at most keepalive idle connections per server`, async () => {
      const up = pooled[layer];
      const statuses = await burst(port(), '/slow/burst', 30);
      assert.deepEqual(new Set(statuses), new Set([200]));
      assert.ok(up.maxInFlight > KEEPALIVE * nginxWorkers, `the burst was concurrent (${up.maxInFlight} at once)`);
      const bound = layer === 'nginx' ? KEEPALIVE * nginxWorkers : KEEPALIVE;
      await until(`at most ${bound} idle connections stay open`, () => up.openConnections <= bound, 100);
    });

    it(`${layer}: never opens more than max_conns connections to a server, and answers 502 past it`, async () => {
      capped.maxInFlight = 0;
      const statuses = await burst(port(), '/capped/slow', 8);
      assert.ok(capped.maxInFlight <= MAX_CONNS, `${capped.maxInFlight} requests at once at the capped server`);
      assert.equal(statuses.filter((s) => s === 200).length >= 1, true);
      assert.ok(statuses.every((s) => s === 200 || s === 502), `statuses ${statuses}`);
      assert.ok(statuses.filter((s) => s === 502).length >= 8 - MAX_CONNS, `statuses ${statuses}`);
      await until('the capped connections settle', () => capped.openConnections <= MAX_CONNS);
    });

    it(`${layer}: counts max_conns over every route to the server, whatever their connect timeouts`, async () => {
      capped.maxInFlight = 0;
      const statuses = (await Promise.all([burst(port(), '/capped/slow', 4), burst(port(), '/capped-other/slow', 4)])).flat();
      assert.ok(capped.maxInFlight <= MAX_CONNS, `${capped.maxInFlight} requests at once at the capped server`);
      assert.ok(statuses.every((s) => s === 200 || s === 502), `statuses ${statuses}`);
      assert.ok(statuses.filter((s) => s === 502).length >= 8 - MAX_CONNS, `statuses ${statuses}`);
      await until('the capped connections settle', () => capped.openConnections <= MAX_CONNS);
    });
  }
});
