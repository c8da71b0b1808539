// The admin API (supertest against a real gateway's admin listener): the token file, reads,
// PATCH with every kind of bad input, 401/404 that change nothing, the state file and the audit
// log, the change effective on the next request, restarts, and the Prometheus series.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import supertest from 'supertest';
import { request } from 'undici';
import { preciseNowMs } from '../gateway/util/host-clock';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { startStack, type Stack } from './helpers/stack';

const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : null);

describe('admin API', function () {
  this.timeout(60_000);
  let stack: Stack;
  let gw: GatewayHandle;
  let token: string;
  let api: supertest.Agent;
  let base: string;

  before(async () => {
    stack = await startStack(ROUTING_MANIFEST, { nginx: false });
    // No STRANGLER_ADMIN_TOKEN: the gateway generates the token file; addresses from the manifest.
    gw = await startGateway({ manifestPath: stack.manifestPath, watch: false, env: {} });
    token = readFileSync(gw.tokenPath!, 'utf8').trim();
    api = supertest.agent(`http://127.0.0.1:${gw.admin.port}`);
    base = `http://127.0.0.1:${gw.listen.port}`;
  });
  after(async () => {
    await gw?.close(1000);
    await stack?.stop();
  });

  const auth = () => ({ authorization: `Bearer ${token}` });
  async function servedBy(path: string): Promise<string> {
    const res = await request(`${base}${path}`);
    await res.body.dump();
    return String(res.headers['x-served-by']);
  }

  describe('listener and token', () => {
    it('listens on the manifest\'s gateway.admin, on loopback, apart from the traffic listener', () => {
      assert.deepEqual(gw.admin, { host: '127.0.0.1', port: stack.ports.admin });
      assert.deepEqual(gw.listen, { host: '127.0.0.1', port: stack.ports.gateway });
    });

    it('generates a random token into a 0600 file beside the manifest', () => {
      assert.equal(gw.tokenCreated, true);
      assert.equal(gw.tokenPath, join(dirname(stack.manifestPath), 'routes.token'));
      assert.equal(statSync(gw.tokenPath!).mode & 0o777, 0o600);
      assert.match(token, /^[0-9a-f]{64}$/);
    });

    it('keeps the token file across restarts and prefers STRANGLER_ADMIN_TOKEN when set', async () => {
      const statePath = join(dirname(stack.manifestPath), 'other.state.json');
      const again = await startGateway({ manifestPath: stack.manifestPath, watch: false, listen: '127.0.0.1:0', admin: '127.0.0.1:0', state: statePath, env: {} });
      try {
        assert.equal(again.tokenCreated, false);
        assert.equal(again.tokenPath, gw.tokenPath);
        await supertest(`http://127.0.0.1:${again.admin.port}`).get('/routes').set(auth()).expect(200);
      } finally {
        await again.close(1000);
      }
      const fromEnv = await startGateway({ manifestPath: stack.manifestPath, watch: false, listen: '127.0.0.1:0', admin: '127.0.0.1:0', state: statePath, env: { STRANGLER_ADMIN_TOKEN: 'env-token' } });
      try {
        assert.equal(fromEnv.tokenPath, null);
        const a = supertest(`http://127.0.0.1:${fromEnv.admin.port}`);
        await a.get('/routes').set('authorization', 'Bearer env-token').expect(200);
        await a.get('/routes').set(auth()).expect(401);
      } finally {
        await fromEnv.close(1000);
      }
    });
  });

  describe('reads', () => {
    it('GET /healthz needs no token', async () => {
      const res = await api.get('/healthz').expect(200).expect('content-type', /application\/json/);
      assert.deepEqual(res.body, {
        status: 'ok', service: 'strangler-admin', version: res.body.version,
        state: { store: 'file', available: true, state_version: 0, stale_seconds: 0, state_adopted_at_ms: res.body.state.state_adopted_at_ms },
      });
      assert.ok(res.body.state.state_adopted_at_ms <= preciseNowMs(), 'the state was adopted before this answer');
      assert.equal(typeof res.body.version, 'string');
    });

    it('GET /routes lists every route and default with manifest and effective percent', async () => {
      const res = await api.get('/routes').set(auth()).expect(200);
      const ids = (res.body.routes as Array<{ id: string }>).map((r) => r.id);
      assert.deepEqual(ids, [...stack.table.routes.map((r) => r.id), 'default']);
      const images = res.body.routes.find((r: { id: string }) => r.id === 'images');
      assert.equal(images.manifest_percent, 30);
      assert.equal(images.effective_percent, 30);
      assert.equal(images.to, 'function:image-resizer');
      assert.equal(images.override, null);
      assert.equal(res.body.manifest_sha256, stack.table.sha256);
    });

    it('GET /routes/:id shows one route with its counters; an unknown route is 404', async () => {
      await servedBy('/api/v1/track/1');
      const res = await api.get('/routes/track').set(auth()).expect(200);
      assert.equal(res.body.id, 'track');
      assert.ok(res.body.stats.requests >= 1);
      const nope = await api.get('/routes/nope').set(auth()).expect(404).expect('content-type', /application\/json/);
      assert.equal(nope.body.error, 'unknown_route');
      assert.match(nope.body.message, /no route "nope"/);
    });

    it('every read but /healthz needs the token: missing, wrong or another scheme is 401', async () => {
      for (const path of ['/routes', '/routes/images', '/metrics']) {
        for (const header of [undefined, 'Bearer wrong', `Basic ${token}`, `Bearer ${token}x`]) {
          const req = api.get(path);
          if (header) req.set('authorization', header);
          const res = await req.expect(401);
          assert.equal(res.body.error, 'unauthorized');
          assert.match(res.body.message, /token/);
          assert.match(res.headers['www-authenticate'], /^Bearer/);
          assert.doesNotMatch(res.text, /images|track/, 'a 401 says nothing about routes');
        }
      }
    });

    it('refuses Host and Origin headers that are not its own (DNS rebinding)', async () => {
      await api.get('/routes').set(auth()).set('host', `evil.example:${gw.admin.port}`).expect(403);
      await api.get('/routes').set(auth()).set('origin', 'http://evil.example').expect(403);
      await api.get('/routes').set(auth()).set('host', `localhost:${gw.admin.port}`).expect(200);
    });
  });

  describe('PATCH /routes/:id', () => {
    const statePath = () => gw.statePath;

    it('without the right token: 401 and nothing changes (effective percent, state file, audit log, traffic)', async () => {
      const before = { state: read(statePath()), audit: read(gw.auditLocation) };
      for (const header of [undefined, 'Bearer wrong', `bearer${token}`]) {
        const req = api.patch('/routes/off').send({ percent: 100 });
        if (header) req.set('authorization', header);
        const res = await req.expect(401);
        assert.equal(res.body.error, 'unauthorized');
        assert.match(res.body.message, /token/);
      }
      assert.equal(gw.state.override('off'), undefined);
      assert.equal(read(statePath()), before.state);
      assert.equal(read(gw.auditLocation), before.audit);
      assert.equal(await servedBy('/off/1'), 'legacy', 'the 0% route still goes to legacy');
    });

    it('bad input: 400 with a JSON error saying what is wrong, and nothing changes', async () => {
      const before = { state: read(statePath()), audit: read(gw.auditLocation) };
      const cases: Array<[string, RegExp]> = [
        ['{"percent": 101}', /percent must be <= 100/],
        ['{"percent": -1}', /percent must be >= 0/],
        ['{"percent": "50"}', /percent must be number,null/],
        ['{"percent": true}', /percent must be number,null/],
        ['{"percent": 12.345}', /percent must be multiple of 0.01/],
        // Would round to another percent (1e-9 to 0, turning the route off): refused, not stored.
        ['{"percent": 1e-9}', /percent must be multiple of 0.01/],
        ['{"percent": 33.330000001}', /percent must be multiple of 0.01/],
        ['{}', /must have required property 'percent'/],
        ['{"percent": 5, "route": "images"}', /must NOT have additional properties \("route"\)/],
        ['[50]', /body must be object/],
        ['50', /body must be object/],
        ['{"percent": 5', /not valid JSON/],
        ['', /not valid JSON/],
      ];
      for (const [body, why] of cases) {
        const res = await api.patch('/routes/images').set(auth()).set('content-type', 'application/json').send(body).expect(400);
        assert.match(res.headers['content-type'], /application\/json/);
        assert.match(res.body.error, /^invalid_(json|body|percent)$/);
        assert.match(res.body.message, why, `body ${body}: ${res.body.message}`);
        if (!/JSON/.test(why.source)) assert.match(res.body.message, /expected \{"percent": 0\.\.100/, 'the error says what is expected');
      }
      const wrongType = await api.patch('/routes/images').set(auth()).set('content-type', 'text/plain').send('{"percent": 5}').expect(415);
      assert.deepEqual([wrongType.body.error, /application\/json/.test(wrongType.body.message)], ['unsupported_media_type', true]);
      const tooBig = await api.patch('/routes/images').set(auth()).set('content-type', 'application/json').send(`{"percent": 5, "x": "${'a'.repeat(20_000)}"}`).expect(413);
      assert.deepEqual([tooBig.body.error, /larger than/.test(tooBig.body.message)], ['body_too_large', true]);
      assert.equal(gw.state.effectivePercent(stack.table.routes.find((r) => r.id === 'images')!), 30);
      assert.equal(read(statePath()), before.state);
      assert.equal(read(gw.auditLocation), before.audit);
    });

    it('unknown route: 404 naming the routes; the default route: 409', async () => {
      const res = await api.patch('/routes/nope').set(auth()).send({ percent: 5 }).expect(404);
      assert.equal(res.body.error, 'unknown_route');
      assert.match(res.body.message, /no route "nope".*routes: track, orders/);
      const def = await api.patch('/routes/default').set(auth()).send({ percent: 5 }).expect(409);
      assert.equal(def.body.error, 'default_route_fixed');
      assert.match(def.body.message, /default route/);
    });

    it('sets the percent: persisted atomically, audited, effective on the next request', async () => {
      assert.equal(await servedBy('/off/2'), 'legacy');
      const sent = preciseNowMs();
      const res = await api.patch('/routes/off').set(auth()).send({ percent: 100 }).expect(200);
      const health = (await api.get('/healthz').expect(200)).body.state;
      assert.equal(health.state_version, res.body.state_version);
      assert.ok(health.state_adopted_at_ms >= sent && health.state_adopted_at_ms <= preciseNowMs(), 'healthz says when the change began serving');
      assert.equal(res.body.effective_percent, 100);
      assert.equal(res.body.previous_percent, 0);
      assert.equal(res.body.manifest_percent, 0);
      assert.equal(res.body.override.percent, 100);
      assert.equal(res.body.override.by, '127.0.0.1');
      assert.equal(await servedBy('/off/3'), 'function', 'the very next request follows the change');
      const state = JSON.parse(readFileSync(statePath(), 'utf8'));
      assert.equal(res.body.state_version, state.version, 'the answer names the state version it produced');
      assert.equal(state.routes.off.percent, 100);
      assert.equal(statSync(statePath()).mode & 0o777, 0o600);
      const lines = readFileSync(gw.auditLocation, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const last = lines[lines.length - 1];
      assert.deepEqual({ ...last, time: undefined }, { time: undefined, route: 'off', action: 'set', old: 0, new: 100, client: '127.0.0.1', state_version: state.version });
      assert.ok(Math.abs(Date.parse(last.time) - Date.now()) < 60_000, `audit time ${last.time}`);
      assert.match(last.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    });

    it('concurrent PATCHes are applied one at a time: the audit log chains old → new and ends at the state', async () => {
      const before = readFileSync(gw.auditLocation, 'utf8').trim().split('\n').length;
      const percents = Array.from({ length: 20 }, (_, i) => 50 + i);
      await Promise.all(percents.map((percent) => api.patch('/routes/search').set(auth()).send({ percent }).expect(200)));
      const lines = readFileSync(gw.auditLocation, 'utf8').trim().split('\n').slice(before).map((l) => JSON.parse(l));
      assert.equal(lines.length, 20);
      assert.equal(lines[0].old, 100);
      for (let i = 1; i < lines.length; i++) assert.equal(lines[i].old, lines[i - 1].new, `audit line ${i}: ${JSON.stringify(lines[i])}`);
      assert.deepEqual(lines.map((l) => l.new).sort(), [...percents].sort());
      assert.equal(JSON.parse(readFileSync(statePath(), 'utf8')).routes.search.percent, lines[lines.length - 1].new);
      assert.equal(statSync(gw.auditLocation).mode & 0o777, 0o600, 'the audit log is private too');
      await api.patch('/routes/search').set(auth()).send({ percent: null }).expect(200);
    });

    it('accepts two decimals and application/merge-patch+json', async () => {
      const res = await api.patch('/routes/images').set(auth()).set('content-type', 'application/merge-patch+json').send('{"percent": 12.25}').expect(200);
      assert.equal(res.body.effective_percent, 12.25);
      assert.equal(res.body.previous_percent, 30);
    });

    it('{"percent": null} clears the override: back to the manifest\'s percent, persisted and audited', async () => {
      const res = await api.patch('/routes/images').set(auth()).send({ percent: null }).expect(200);
      assert.equal(res.body.override, null);
      assert.equal(res.body.effective_percent, 30);
      assert.equal(res.body.previous_percent, 12.25);
      assert.equal(JSON.parse(readFileSync(statePath(), 'utf8')).routes.images, undefined);
      const lines = readFileSync(gw.auditLocation, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const last = lines[lines.length - 1];
      assert.deepEqual([last.route, last.action, last.old, last.new], ['images', 'clear', 12.25, 30]);
      // Clearing again is harmless.
      await api.patch('/routes/images').set(auth()).send({ percent: null }).expect(200);
    });

    it('a restart reloads the state file: overrides survive', async () => {
      await api.patch('/routes/track').set(auth()).send({ percent: 0 }).expect(200);
      assert.equal(await servedBy('/api/v1/track/9'), 'legacy');
      const again = await startGateway({ manifestPath: stack.manifestPath, watch: false, listen: '127.0.0.1:0', admin: '127.0.0.1:0', env: {} });
      try {
        const res = await supertest(`http://127.0.0.1:${again.admin.port}`).get('/routes/track').set(auth()).expect(200);
        assert.equal(res.body.effective_percent, 0);
        assert.equal(res.body.override.percent, 0);
        const off = await supertest(`http://127.0.0.1:${again.admin.port}`).get('/routes/off').set(auth()).expect(200);
        assert.equal(off.body.effective_percent, 100);
        const r = await request(`http://127.0.0.1:${again.listen.port}/api/v1/track/9`);
        await r.body.dump();
        assert.equal(r.headers['x-served-by'], 'legacy');
      } finally {
        await again.close(1000);
      }
      await api.patch('/routes/track').set(auth()).send({ percent: null }).expect(200);
    });
  });

  describe('GET /metrics', () => {
    it('Prometheus text: requests by route/target/status class, latency histogram, fallbacks, upstream errors', async () => {
      await servedBy('/health');
      await servedBy('/gone/1'); // upstream:dead refused, served by legacy (fallback)
      await servedBy('/gone-nofb/1'); // upstream:dead refused, 502
      const res = await api.get('/metrics').set(auth()).expect(200).expect('content-type', /text\/plain/);
      const text = res.text;
      for (const re of [
        /^# TYPE strangler_requests_total counter$/m,
        /^strangler_requests_total\{route="default",target="legacy",status_class="2xx"\} [1-9]\d*$/m,
        /^strangler_requests_total\{route="gone-nofb",target="upstream:dead",status_class="5xx"\} [1-9]\d*$/m,
        /^strangler_requests_total\{route="gone",target="legacy",status_class="2xx"\} [1-9]\d*$/m,
        /^# TYPE strangler_request_duration_seconds histogram$/m,
        /^strangler_request_duration_seconds_bucket\{le="0\.005",route="default",target="legacy"\} \d+$/m,
        /^strangler_request_duration_seconds_bucket\{le="\+Inf",route="default",target="legacy"\} [1-9]\d*$/m,
        /^strangler_request_duration_seconds_count\{route="default",target="legacy"\} [1-9]\d*$/m,
        /^strangler_fallbacks_total\{route="gone",reason="refused"\} [1-9]\d*$/m,
        /^strangler_upstream_errors_total\{route="gone-nofb",target="upstream:dead",kind="refused"\} [1-9]\d*$/m,
        /^strangler_upstream_errors_total\{route="gone",target="upstream:dead",kind="refused"\} [1-9]\d*$/m,
        /^strangler_admin_route_percent\{route="images",source="effective"\} 30$/m,
        /^strangler_admin_changes_total\{route="off"\} [1-9]\d*$/m,
        /^strangler_admin_requests_total\{method="PATCH",code="401"\} [1-9]\d*$/m,
      ]) assert.match(text, re);
      const route = await api.get('/routes/gone').set(auth()).expect(200);
      assert.ok(route.body.stats.fallbacks >= 1);
    });
  });
});
