// The Node gateway terminating TLS itself (gateway.tls): HTTPS with the upstream headers nginx
// sends (X-Forwarded-Proto https, the client's port in Host), a renewed certificate taken on
// reload, HTTP/1.1 only; and default_server: refuse closing connections for unknown hosts, as
// the compiled nginx does.
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { startGateway, type GatewayHandle } from '../gateway/runtime/serve-gateway';
import { lineFor, loggedLines } from './helpers/access-lines';
import { curl } from './helpers/curl';
import { requireNginx } from './helpers/nginx';
import { exchange, rawRequest } from './helpers/raw-http';
import { startServeChild } from './helpers/serve-child';
import { startStack, type Stack, type StackPorts } from './helpers/stack';
import { makeCertificate, requireTlsTools, type TestCertificate } from './helpers/tls';

const NAME = 'api.example.test';

const manifest = (cert: TestCertificate) => (p: StackPorts) => `
version: 1
listen: "127.0.0.1:${p.nginx}"
server_name: [${NAME}, "*.example.test"]
default_server: refuse
debug_headers: true
upstreams:
  legacy: { servers: ["127.0.0.1:${p.legacy}"] }
  functions: { servers: ["127.0.0.1:${p.functions}"] }
gateway:
  listen: "127.0.0.1:${p.gateway}"
  admin: "127.0.0.1:${p.admin}"
  tls: { certificate: ${cert.certificate}, certificate_key: ${cert.certificate_key} }
routes:
  - { id: track, match: { prefix: /api/v1/track }, to: "function:track-package" }
`;

describe('gateway.tls: the Node gateway over HTTPS, and default_server: refuse in both layers', function () {
  this.timeout(60_000);
  let cert: TestCertificate;
  let stack: Stack;
  let gateway: GatewayHandle;

  before(async function () {
    requireNginx(this);
    requireTlsTools(this);
    cert = makeCertificate({ names: [NAME] });
    stack = await startStack(manifest(cert));
    gateway = await startGateway({ manifestPath: stack.manifestPath, watch: false, env: { STRANGLER_ADMIN_TOKEN: 'gateway-tls-test-token' } });
  });
  after(async () => {
    await gateway?.close(1000);
    await stack?.stop();
  });

  const tls = { tls: { servername: NAME } };

  it('serves HTTPS with the headers nginx sends upstream', async () => {
    const res = await rawRequest(gateway.listen.port, '/api/v1/track/7', { ...tls, headers: { host: `${NAME}:8443` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-strangler-target'], 'function:track-package');
    const h = JSON.parse(res.body.toString()).headers;
    assert.equal(h.host, `${NAME}:8443`);
    assert.equal(h['x-forwarded-proto'], 'https');
    const dflt = await rawRequest(gateway.listen.port, '/health', { ...tls, headers: { host: `${NAME}:443` } });
    assert.equal(JSON.parse(dflt.body.toString()).headers.host, NAME);
  });

  it('names its traffic listener https:// in the admin API\'s GET /instances', async () => {
    assert.equal(gateway.trafficUrl, `https://127.0.0.1:${gateway.listen.port}`);
    const res = await rawRequest(gateway.admin.port, '/instances', { headers: { host: `127.0.0.1:${gateway.admin.port}`, authorization: 'Bearer gateway-tls-test-token' } });
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(JSON.parse(res.body.toString()).gateways.map((g: { listen: string }) => g.listen), [gateway.trafficUrl]);
  });

  it('speaks HTTP/1.1 over TLS, also to a client that offers HTTP/2', async () => {
    const res = await curl(`https://${NAME}:${gateway.listen.port}/health`, { http: '2', resolve: { host: NAME, port: gateway.listen.port }, cacert: cert.certificate });
    assert.equal(res.status, 200);
    assert.equal(res.version, '1.1');
  });

  it('takes a renewed certificate on reload, without a restart', async () => {
    const before = await fingerprint(gateway.listen.port);
    assert.equal(before, await fingerprint(gateway.listen.port));
    makeCertificate({ names: [NAME], dir: cert.dir }); // certbot renews in place
    const r = await gateway.reload('test');
    assert.equal(r.outcome, 'reloaded');
    const after = await fingerprint(gateway.listen.port);
    assert.notEqual(after, before);
    const res = await rawRequest(gateway.listen.port, '/health', { ...tls, headers: { host: NAME } });
    assert.equal(res.status, 200);
  });

  it('strangler serve --workers 2 serves HTTPS from each worker, and prints an https:// address', async () => {
    const child = await startServeChild([stack.manifestPath, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--workers', '2'], { STRANGLER_ADMIN_TOKEN: 'gateway-tls-test-token' });
    try {
      assert.match(child.stdout(), /^ {2}traffic +https:\/\/127\.0\.0\.1:[0-9]+$/m);
      const served = await Promise.all(Array.from({ length: 8 }, () => rawRequest(child.trafficPort, '/health', { ...tls, headers: { host: NAME } })));
      assert.deepEqual(served.map((r) => r.status), Array(8).fill(200));
    } finally {
      await child.kill();
    }
  });

  it('closes the connection for a Host none of server_name names, in nginx and the gateway alike', async () => {
    for (const host of ['evil.example', 'example.test', 'api.example.test.evil']) {
      const raw = Buffer.from(`GET /refused-host HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.equal((await exchange(stack.ports.nginx, { raw })).status, 0, `nginx answered Host ${host}`);
      assert.equal((await exchange(gateway.listen.port, { raw, ...tls })).status, 0, `the gateway answered Host ${host}`);
    }
    // Over TLS the name is checked at the handshake too (SNI), as nginx's ssl_reject_handshake does.
    const known = Buffer.from(`GET /health HTTP/1.1\r\nHost: ${NAME}\r\nConnection: close\r\n\r\n`);
    assert.equal((await exchange(gateway.listen.port, { raw: known, tls: { servername: 'evil.example' } })).status, 0, 'unknown SNI');
    await assert.rejects(curl(`https://127.0.0.1:${gateway.listen.port}/health`), /curl/, 'no SNI');
    // ngx_hash_find_wc_head: "*.example.test" takes any name ending in ".example.test", an empty first label too.
    for (const host of [NAME, 'WWW.Example.Test', 'a.b.example.test:8443', `${NAME}.`, '.example.test', '.Example.Test.']) {
      const n = await rawRequest(stack.ports.nginx, '/health', { headers: { host } });
      const g = await rawRequest(gateway.listen.port, '/health', { ...tls, headers: { host } });
      assert.deepEqual([g.status, g.headers['x-served-by']], [n.status, n.headers['x-served-by']], host);
      assert.equal(n.status, 200, host);
    }
  });

  it('writes no access-log line for a refused Host (nginx logs its 444; no route answered)', async () => {
    const log = stack.manifestPath.replace(/\.yaml$/, '.access.log'); // gateway.access_log's default
    assert.equal((await exchange(gateway.listen.port, { raw: Buffer.from('GET /refused-then HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n'), ...tls })).status, 0);
    assert.equal((await rawRequest(gateway.listen.port, '/served-after', { ...tls, headers: { host: NAME } })).status, 200);
    // Lines are written in order: once the later request's line is there, a refused one would be too.
    await lineFor(log, '/served-after');
    assert.deepEqual(loggedLines(log).map((l) => l.uri).filter((u) => String(u).startsWith('/refused')), []);
  });
});

/** SHA-256 fingerprint of the certificate a fresh TLS connection is shown. */
function fingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ port, host: '127.0.0.1', servername: NAME, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}
