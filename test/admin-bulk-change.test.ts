// PATCH /routes: several routes as one change (the dashboard's kill switch is {"all": 0}), one
// state write and one audit entry, effective on the next request; bad bodies and unknown routes
// change nothing. GET /audit?limit=N tails the audit log within bounds; GET /instances names
// this gateway.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import supertest from 'supertest';
import { request } from 'undici';
import { AUDIT_MAX_LIMIT } from '../gateway/runtime/admin-api';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { startStack, type Stack } from './helpers/stack';

const TOKEN = 'bulk-change-test-token';
const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : null);
const auditLines = (gw: GatewayHandle) => (read(gw.auditPath) ?? '').split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('admin API: PATCH /routes, GET /audit, GET /instances', function () {
  this.timeout(60_000);
  let stack: Stack;
  let gw: GatewayHandle;
  let api: supertest.Agent;
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    stack = await startStack(ROUTING_MANIFEST, { nginx: false });
    gw = await startGateway({ manifestPath: stack.manifestPath, watch: false, listen: '127.0.0.1:0', admin: '127.0.0.1:0', env: { STRANGLER_ADMIN_TOKEN: TOKEN } });
    api = supertest.agent(`http://127.0.0.1:${gw.admin.port}`);
  });
  after(async () => {
    await gw?.close(1000);
    await stack?.stop();
  });

  async function servedBy(path: string): Promise<string> {
    const res = await request(`http://127.0.0.1:${gw.listen.port}${path}`);
    await res.body.dump();
    return String(res.headers['x-served-by']);
  }
  const ids = () => stack.table.routes.map((r) => r.id);

  it('refuses bad bodies, unknown routes and the default route with nothing changed', async () => {
    const before = { state: read(gw.statePath), audit: read(gw.auditPath) };
    const cases: Array<[string, number, string, RegExp]> = [
      ['{}', 400, 'invalid_body', /unexpected keys \[\]; expected \{"all"/],
      ['{"all": 0, "routes": {"track": 0}}', 400, 'invalid_body', /unexpected keys/],
      ['{"all": 101}', 400, 'invalid_body', /all must be 0\.\.100/],
      ['{"all": "0"}', 400, 'invalid_body', /all must be/],
      ['{"routes": {}}', 400, 'invalid_body', /at least one route/],
      ['{"routes": [1]}', 400, 'invalid_body', /routes must be an object/],
      // The percent module's exact rule, as PATCH /routes/:id: nothing that would round to another percent.
      ['{"routes": {"track": 0, "images": 12.345}}', 400, 'invalid_percent', /routes\.images must be multiple of 0\.01/],
      ['{"all": 1e-9}', 400, 'invalid_percent', /all must be multiple of 0\.01/],
      ['{"routes": {"track": 33.330000001}}', 400, 'invalid_percent', /routes\.track must be multiple of 0\.01/],
      ['{"routes": {"track": 0, "nope": 5, "also-nope": 1}}', 404, 'unknown_route', /no route "nope", "also-nope".*nothing changed/],
      ['{"routes": {"track": 0, "default": 5}}', 409, 'default_route_fixed', /default route/],
      ['[0]', 400, 'invalid_body', /body must be an object/],
      ['{"all": 0', 400, 'invalid_json', /not valid JSON/],
    ];
    for (const [body, status, code, why] of cases) {
      const res = await api.patch('/routes').set(auth).set('content-type', 'application/json').send(body).expect(status);
      assert.equal(res.body.error, code, body);
      assert.match(res.body.message, why, `${body}: ${res.body.message}`);
    }
    assert.equal(read(gw.statePath), before.state);
    assert.equal(read(gw.auditPath), before.audit);
    assert.equal(await servedBy('/api/v1/track/1'), 'function');
  });

  it('{"routes": {...}} sets and clears several routes in one change with one audit entry', async () => {
    const audited = auditLines(gw).length;
    const res = await api.patch('/routes').set(auth).send({ routes: { track: 0, off: 100 } }).expect(200);
    assert.deepEqual(res.body.changes, { track: { old: 100, new: 0 }, off: { old: 0, new: 100 } });
    assert.deepEqual(res.body.routes.map((r: { id: string }) => r.id), [...ids(), 'default']);
    assert.equal(await servedBy('/api/v1/track/2'), 'legacy', 'the next request follows the change');
    assert.equal(await servedBy('/off/2'), 'function');
    const state = JSON.parse(readFileSync(gw.statePath, 'utf8'));
    assert.deepEqual(Object.keys(state.routes).sort(), ['off', 'track']);

    const cleared = await api.patch('/routes').set(auth).send({ routes: { track: null } }).expect(200);
    assert.deepEqual(cleared.body.changes, { track: { old: 0, new: 100 } });
    assert.equal(gw.state.override('track'), undefined);
    const lines = auditLines(gw).slice(audited);
    assert.equal(lines.length, 2, 'one entry per change');
    assert.deepEqual(lines.map((l) => ({ ...l, time: undefined })), [
      { time: undefined, action: 'bulk', routes: { track: { old: 100, new: 0 }, off: { old: 0, new: 100 } }, client: '127.0.0.1', state_version: res.body.state_version },
      { time: undefined, action: 'bulk', routes: { track: { old: 0, new: 100 } }, client: '127.0.0.1', state_version: res.body.state_version + 1 },
    ]);
    assert.equal(cleared.body.state_version, res.body.state_version + 1, 'one state version per change');
  });

  it('{"all": 0} sends every route to legacy as one change; {"all": null} goes back to the manifest', async () => {
    const audited = auditLines(gw).length;
    const res = await api.patch('/routes').set(auth).send({ all: 0 }).expect(200);
    assert.deepEqual(Object.keys(res.body.changes), ids());
    for (const r of res.body.routes.filter((x: { id: string }) => x.id !== 'default')) assert.equal(r.effective_percent, 0, r.id);
    for (const path of ['/api/v1/track/3', '/images/a.png', '/off/3', '/upload/3']) assert.equal(await servedBy(path), 'legacy', path);
    assert.equal(auditLines(gw).length, audited + 1);

    await api.patch('/routes').set(auth).send({ all: null }).expect(200);
    assert.deepEqual(gw.state.snapshot().routes, {});
    assert.equal(await servedBy('/api/v1/track/4'), 'function');
    assert.equal(auditLines(gw).length, audited + 2);
  });

  it('GET /audit?limit=N: the last N entries oldest first, bounded; bad limits are 400', async () => {
    const all = auditLines(gw);
    assert.ok(all.length >= 4);
    const two = await api.get('/audit?limit=2').set(auth).expect(200);
    assert.deepEqual(two.body.entries, all.slice(-2));
    const dflt = await api.get('/audit').set(auth).expect(200);
    assert.deepEqual(dflt.body.entries, all.slice(-50));
    const huge = await api.get(`/audit?limit=${AUDIT_MAX_LIMIT * 10}`).set(auth).expect(200);
    assert.deepEqual(huge.body.entries, all.slice(-AUDIT_MAX_LIMIT));
    for (const bad of ['0', '-1', 'x', '1.5', '9999999']) {
      const res = await api.get(`/audit?limit=${bad}`).set(auth).expect(400);
      assert.equal(res.body.error, 'invalid_query');
    }
    await api.get('/audit').expect(401);
  });

  it('GET /audit reads only the end of a long log and skips lines that do not parse', async () => {
    const entry = (i: number) => JSON.stringify({ time: new Date().toISOString(), route: 'track', action: 'set', old: i % 100, new: (i + 1) % 100, client: 'filler' });
    const lastLine = entry(8000);
    appendFileSync(gw.auditPath, Array.from({ length: 8000 }, (_, i) => entry(i)).join('\n') + '\n{"torn": \n' + lastLine + '\n');
    assert.ok(statSync(gw.auditPath).size > 512 * 1024, 'a log larger than what one request reads');
    const res = await api.get(`/audit?limit=${AUDIT_MAX_LIMIT}`).set(auth).expect(200);
    assert.equal(res.body.entries.length, AUDIT_MAX_LIMIT);
    assert.deepEqual(res.body.entries.at(-1), JSON.parse(lastLine));
    assert.ok(res.body.entries.every((e: { client: string }) => e.client === 'filler'), 'the torn line is skipped');
  });

  it('GET /instances: this gateway, its manifest and traffic address; no nginx hosts', async () => {
    const res = await api.get('/instances').set(auth).expect(200);
    assert.deepEqual(Object.keys(res.body).sort(), ['gateways', 'nginx']);
    assert.deepEqual(res.body.nginx, []);
    assert.equal(res.body.gateways.length, 1);
    const g = res.body.gateways[0];
    assert.equal(g.self, true);
    assert.equal(g.pid, process.pid);
    assert.equal(g.manifest_sha256, stack.table.sha256);
    assert.equal(g.listen, `http://127.0.0.1:${gw.listen.port}`);
    assert.equal(g.admin, `http://127.0.0.1:${gw.admin.port}`);
    assert.deepEqual(g.traffic_pids, [process.pid]);
    assert.ok('state_version' in g);
    await api.get('/instances').expect(401);
  });
});
