// STRANGLER_READ_TOKEN: a second token for dashboards and Prometheus. Accepted for every GET
// (/metrics included), refused with 403 `read_only` for every change with nothing
// changed, unknown to a gateway started without it, and refused at start when it equals the
// admin token. GET /whoami tells a client which of the two it holds.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import supertest from 'supertest';
import { HTTP_ANSWERS } from '../gateway/http-answers';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { ROUTING_MANIFEST } from './helpers/manifests';
import { startStack, type Stack } from './helpers/stack';

const ADMIN = 'read-token-test-admin';
const READ = 'read-token-test-read';
const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : null);

describe('admin API: the read-only token', function () {
  this.timeout(60_000);
  let stack: Stack;
  let gw: GatewayHandle;
  let api: supertest.Agent;

  before(async () => {
    stack = await startStack(ROUTING_MANIFEST, { nginx: false });
    gw = await startGateway({
      manifestPath: stack.manifestPath, watch: false, listen: '127.0.0.1:0', admin: '127.0.0.1:0',
      env: { STRANGLER_ADMIN_TOKEN: ADMIN, STRANGLER_READ_TOKEN: READ },
    });
    api = supertest.agent(`http://127.0.0.1:${gw.admin.port}`);
  });
  after(async () => {
    await gw?.close(1000);
    await stack?.stop();
  });

  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  it('reads every GET endpoint, /metrics included', async () => {
    for (const path of ['/routes', '/routes/images', '/audit', '/instances', '/metrics', '/whoami']) {
      await api.get(path).set(bearer(READ)).expect(200);
    }
    const metrics = await api.get('/metrics').set(bearer(READ)).expect(200);
    assert.match(metrics.text, /^strangler_admin_route_percent\{route="images",source="effective"\} 30$/m);
  });

  it('GET /whoami says which token was sent', async () => {
    assert.deepEqual((await api.get('/whoami').set(bearer(READ)).expect(200)).body, { access: 'read' });
    assert.deepEqual((await api.get('/whoami').set(bearer(ADMIN)).expect(200)).body, { access: 'admin' });
    const wrong = await api.get('/whoami').set(bearer('nope')).expect(401);
    assert.equal(wrong.body.error, 'unauthorized');
  });

  it('refuses every change with 403 read_only, before reading the body, and changes nothing', async () => {
    const before = { state: read(gw.statePath), audit: read(gw.auditPath) };
    const changes: Array<[string, unknown]> = [
      ['/routes/images', { percent: 90 }],
      ['/routes/images', { percent: null }],
      ['/routes/images', 'not json'],
      ['/routes', { all: 0 }],
      ['/routes', { routes: { images: 100 } }],
    ];
    for (const [path, body] of changes) {
      const res = await api.patch(path).set(bearer(READ)).set('content-type', 'application/json')
        .send(typeof body === 'string' ? body : JSON.stringify(body)).expect(403);
      assert.equal(res.body.error, 'read_only');
      assert.match(res.body.message, /read-only token/);
    }
    assert.equal(gw.state.override('images'), undefined);
    assert.equal(read(gw.statePath), before.state);
    assert.equal(read(gw.auditPath), before.audit);
    // The admin token still changes things.
    await api.patch('/routes/images').set(bearer(ADMIN)).send({ percent: 40 }).expect(200);
    assert.equal(gw.state.override('images')?.percent, 40);
  });

  it('every refusal carries a catalogued code', async () => {
    const answers = [
      await api.get('/routes').expect(401),
      await api.get('/nope').set(bearer(ADMIN)).expect(404),
      await api.delete('/routes').set(bearer(ADMIN)).expect(405),
      await api.patch('/routes/images').set(bearer(ADMIN)).send({ percent: 101 }).expect(400),
      await api.patch('/routes/default').set(bearer(ADMIN)).send({ percent: 1 }).expect(409),
      await api.patch('/routes/images').set(bearer(ADMIN)).set('content-type', 'text/plain').send('x').expect(415),
      await api.get('/routes').set(bearer(ADMIN)).set('origin', 'http://evil.example').expect(403),
    ];
    assert.deepEqual(answers.map((a) => a.body.error), ['unauthorized', 'not_found', 'method_not_allowed', 'invalid_body',
      'default_route_fixed', 'unsupported_media_type', 'forbidden_origin']);
    for (const a of answers) {
      const code = a.body.error as keyof typeof HTTP_ANSWERS;
      assert.equal(HTTP_ANSWERS[code]?.status, a.status, `${code}: the catalogue's status`);
      assert.notEqual(HTTP_ANSWERS[code].by, 'traffic', `${code} is an admin answer`);
      assert.equal(typeof a.body.message, 'string');
      assert.deepEqual(Object.keys(a.body), ['error', 'message']);
    }
  });

  it('without STRANGLER_READ_TOKEN no second token exists', async () => {
    const other = await startGateway({ manifestPath: stack.manifestPath, watch: false, listen: '127.0.0.1:0', admin: '127.0.0.1:0', statePath: `${gw.statePath}.other`, env: { STRANGLER_ADMIN_TOKEN: ADMIN } });
    try {
      const a = supertest(`http://127.0.0.1:${other.admin.port}`);
      await a.get('/routes').set(bearer(READ)).expect(401);
      await a.get('/routes').set('authorization', 'Bearer ').expect(401);
      await a.get('/routes').set(bearer(ADMIN)).expect(200);
    } finally {
      await other.close(1000);
    }
  });

  it('refuses to start when the read-only token is the admin token', async () => {
    await assert.rejects(
      startGateway({ manifestPath: stack.manifestPath, watch: false, listen: '127.0.0.1:0', admin: '127.0.0.1:0', statePath: `${gw.statePath}.same`, env: { STRANGLER_ADMIN_TOKEN: ADMIN, STRANGLER_READ_TOKEN: ADMIN } }),
      /STRANGLER_READ_TOKEN must differ from the admin token/);
  });
});
