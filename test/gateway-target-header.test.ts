// Who is told X-Strangler-Target. Without debug_headers the gateway names who served a request
// only to the nginx in front of it (a loopback peer), which logs it; a client that reaches the
// gateway from another address gets no debug header. With debug_headers everyone gets both.
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import { startFunctions, type FunctionsFixture } from '../monolith-fixture/functions';
import { startLegacy, type LegacyFixture } from '../monolith-fixture/legacy';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import type { PercentSource } from '../gateway/runtime/decide-route';
import { createGatewayServer, type GatewayServer } from '../gateway/runtime/gateway-server';
import { fromTrustedProxy } from '../gateway/runtime/trusted-peer';
import { freePort } from './helpers/net';
import { raw, type RawResponse } from './helpers/node-request';

/** An address of this machine that is not loopback: a connection to it comes from it. */
function externalAddress(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

/** The manifest's percents, no runtime overrides. */
const MANIFEST_PERCENTS: PercentSource = { effectivePercent: (route) => route.canary.percent };

describe('trusted peer: who counts as the nginx in front', () => {
  it('loopback peers, IPv4, IPv6 and IPv4-mapped, and nothing else', () => {
    for (const a of ['127.0.0.1', '127.3.4.5', '::1', '::ffff:127.0.0.1']) assert.equal(fromTrustedProxy(a), true, a);
    for (const a of ['192.0.2.2', '10.0.0.127', '::ffff:192.0.2.2', 'fd00::1', '::', '128.0.0.1', '', undefined]) {
      assert.equal(fromTrustedProxy(a), false, String(a));
    }
  });
});

for (const debug of [false, true]) {
  describe(`gateway: X-Strangler-Target with debug_headers ${debug ? 'on' : 'off'}`, function () {
    this.timeout(30_000);
    let legacy: LegacyFixture;
    let functions: FunctionsFixture;
    let gw: GatewayServer;
    let port: number;
    const external = externalAddress();

    before(async function () {
      if (!external) {
        const why = 'no non-loopback IPv4 address on this machine: the direct-client case cannot be reached';
        if (process.env.CI) throw new Error(why);
        console.warn(`  skipped: ${why}`);
        this.skip();
      }
      legacy = await startLegacy();
      functions = await startFunctions({ startWarm: true });
      const { table, diagnostics } = compileManifest(`version: 1
listen: 8080
debug_headers: ${debug}
upstreams:
  legacy: { servers: ["127.0.0.1:${legacy.port}"] }
  functions: { servers: ["127.0.0.1:${functions.port}"] }
  dead: { servers: ["127.0.0.1:${await freePort()}"] }
routes:
  - id: track
    match: { prefix: /api/v1/track }
    to: function:track-package
  - id: gone
    match: { prefix: /gone }
    to: upstream:dead
`, 'routes.yaml');
      assert.ok(table, JSON.stringify(diagnostics));
      gw = createGatewayServer({ table, state: MANIFEST_PERCENTS });
      // Every interface: reached on loopback as nginx would, and on the external address as a direct client.
      await gw.listen('0.0.0.0', 0);
      port = (gw.server.address() as AddressInfo).port;
    });
    after(async () => {
      await gw?.close(1000);
      await functions?.close();
      await legacy?.close();
    });

    const get = (host: string, path: string): Promise<RawResponse> => raw(`http://${host}:${port}`, path);

    const cases = [
      { path: '/api/v1/track/42', status: 200, route: 'track', target: 'function:track-package' },
      { path: '/users/7', status: 200, route: 'default', target: 'legacy' },
      { path: '/gone/1', status: 502, route: 'gone', target: 'upstream:dead' },
    ];

    for (const c of cases) {
      it(`${c.path}: a loopback peer is told who served it`, async () => {
        const res = await get('127.0.0.1', c.path);
        assert.equal(res.status, c.status);
        assert.equal(res.headers['x-strangler-target'], c.target);
        assert.equal(res.headers['x-strangler-route'], debug ? c.route : undefined);
      });

      it(`${c.path}: a client on another address is ${debug ? 'told too (debug_headers)' : 'not told'}`, async () => {
        const res = await get(external!, c.path);
        assert.equal(res.status, c.status);
        assert.equal(res.headers['x-strangler-target'], debug ? c.target : undefined);
        assert.equal(res.headers['x-strangler-route'], debug ? c.route : undefined);
      });
    }

    it('the direct requests really came from the external address', async () => {
      const before = legacy.requestsFrom(external!);
      await get(external!, '/users/8');
      assert.equal(legacy.requestsFrom(external!), before + 1);
    });
  });
}
