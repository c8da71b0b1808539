// The compiled nginx as a public edge: a certificate made here with openssl, a real nginx serving
// HTTPS over HTTP/1.1 and HTTP/2 (checked with curl), the plain-HTTP redirect, the ACME webroot,
// the refusing default server, OCSP stapling where the certificate allows, and the client's
// address behind a trusted load balancer.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { formatDiagnostic } from '../gateway/manifest/errors';
import { LOG_FIELDS } from '../gateway/nginx/log-format';
import { renderNginxConfig } from '../gateway/nginx/render-config';
import { startFunctions, type FunctionsFixture } from '../monolith-fixture/functions';
import { startLegacy, type LegacyFixture } from '../monolith-fixture/legacy';
import { lineFor, type LoggedLine } from './helpers/access-lines';
import { curl } from './helpers/curl';
import { exchange } from './helpers/raw-http';
import { nginxCheck } from './helpers/manifest-text';
import { freePort } from './helpers/net';
import { requireNginx, startNginx, type RunningNginx } from './helpers/nginx';
import { makeCertificate, requireTlsTools, type TestCertificate } from './helpers/tls';

const NAME = 'api.example.test';

interface Edge { plain: number; tls: number; nginx: RunningNginx; conf: string }

const pick = (l: LoggedLine) => ({ route: l.route, target: l.target, status: l.status });

describe('nginx as a public edge: TLS, HTTP/2, redirect, ACME, default server, real client address', function () {
  this.timeout(60_000);
  let legacy: LegacyFixture;
  let functions: FunctionsFixture;
  let cert: TestCertificate;
  let webroot: string;
  const running: RunningNginx[] = [];

  before(async function () {
    requireNginx(this);
    requireTlsTools(this);
    legacy = await startLegacy();
    functions = await startFunctions({ startWarm: true });
    cert = makeCertificate({ names: [NAME, 'www.example.test'] });
    // Workers (nobody, when the tests run as root) read the challenge files.
    webroot = mkdtempSync(join(tmpdir(), 'strangler-acme-'));
    mkdirSync(join(webroot, '.well-known', 'acme-challenge'), { recursive: true });
    writeFileSync(join(webroot, '.well-known', 'acme-challenge', 'tok-123'), 'tok-123.thumbprint');
    for (const dir of [webroot, join(webroot, '.well-known'), join(webroot, '.well-known', 'acme-challenge')]) chmodSync(dir, 0o755);
  });
  after(async () => {
    for (const n of running) await n.stop();
    await legacy?.close();
    await functions?.close();
  });

  async function startEdge(tls: string, top = ''): Promise<Edge> {
    const plain = await freePort();
    const tlsPort = await freePort();
    const text = `
version: 1
listen: "127.0.0.1:${plain}"
server_name: [${NAME}, www.example.test]
debug_headers: true
${top}
tls:
  listen: "127.0.0.1:${tlsPort}"
  certificate: ${cert.certificate}
  certificate_key: ${cert.certificate_key}
${tls.split('\n').map((l) => '  ' + l).join('\n')}
upstreams:
  legacy: { servers: ["127.0.0.1:${legacy.port}"] }
  functions: { servers: ["127.0.0.1:${functions.port}"] }
routes:
  - { id: track, match: { prefix: /api/v1/track }, to: "function:track-package" }
`;
    const { table, diagnostics } = compileManifest(text, 'routes.yaml');
    assert.ok(table, diagnostics.map(formatDiagnostic).join('\n'));
    const conf = renderNginxConfig(table);
    const nginx = await startNginx(conf, { ports: [plain, tlsPort] });
    running.push(nginx);
    return { plain, tls: tlsPort, nginx, conf };
  }

  const at = (port: number) => ({ host: NAME, port });

  /** The strangler_json line nginx wrote for `uri` (the full config logs to logs/access.log). */
  async function loggedLine(edge: Edge, uri: string): Promise<LoggedLine> {
    const found = await lineFor(join(edge.nginx.prefix, 'logs', 'access.log'), uri);
    assert.deepEqual(Object.keys(found), LOG_FIELDS.map((f) => f.key), 'the strangler_json format');
    return found;
  }

  describe('tls with redirect_http, acme_webroot and hsts', () => {
    let edge: Edge;
    before(async () => {
      edge = await startEdge(`redirect_http: true\nacme_webroot: ${webroot}\nhsts: 1y`);
    });

    for (const http of ['1.1', '2'] as const) {
      it(`serves HTTPS over HTTP/${http}: routes, HSTS, and the Host upstream keeps the non-default port`, async () => {
        const res = await curl(`https://${NAME}:${edge.tls}/health?x=1`, { http, resolve: at(edge.tls), cacert: cert.certificate });
        assert.equal(res.version, http === '2' ? '2' : '1.1');
        assert.equal(res.status, 200);
        assert.equal(res.headers['strict-transport-security'], 'max-age=31536000');
        assert.equal(res.headers['x-strangler-route'], 'default');
        const echo = JSON.parse(res.body);
        assert.equal(echo.served_by, 'legacy');
        assert.equal(echo.url, '/health?x=1');
        assert.equal(echo.headers.host, `${NAME}:${edge.tls}`);
        assert.equal(echo.headers['x-forwarded-host'], `${NAME}:${edge.tls}`);
        assert.equal(echo.headers['x-forwarded-proto'], 'https');
        const fn = await curl(`https://${NAME}:${edge.tls}/api/v1/track/7`, { http, resolve: at(edge.tls), cacert: cert.certificate });
        assert.equal(fn.status, 200);
        assert.equal(fn.headers['x-strangler-target'], 'function:track-package');
        assert.equal(fn.headers['strict-transport-security'], 'max-age=31536000', 'a location with its own add_header keeps HSTS');
      });
    }

    it('drops the port from the upstream Host when it is the scheme default', async () => {
      const res = await curl(`https://${NAME}:${edge.tls}/health`, { resolve: at(edge.tls), headers: [`Host: ${NAME}:443`] });
      assert.equal(JSON.parse(res.body).headers.host, NAME);
    });

    it('answers plain HTTP with 301 to https, host and URI kept', async () => {
      const before = legacy.requests;
      const res = await curl(`http://${NAME}:${edge.plain}/api/v1/track/7?a=b&c=%20`, { resolve: at(edge.plain) });
      assert.equal(res.status, 301);
      assert.equal(res.headers.location, `https://${NAME}:${edge.tls}/api/v1/track/7?a=b&c=%20`);
      assert.equal(res.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
      assert.equal(legacy.requests, before, 'nothing proxied over plain HTTP');
    });

    it('serves ACME challenges from the webroot over plain HTTP, not redirected', async () => {
      const res = await curl(`http://${NAME}:${edge.plain}/.well-known/acme-challenge/tok-123`, { resolve: at(edge.plain) });
      assert.equal(res.status, 200);
      assert.equal(res.body, 'tok-123.thumbprint');
      const missing = await curl(`http://${NAME}:${edge.plain}/.well-known/acme-challenge/nope`, { resolve: at(edge.plain) });
      assert.equal(missing.status, 404);
      const other = await curl(`http://${NAME}:${edge.plain}/.well-known/other`, { resolve: at(edge.plain) });
      assert.equal(other.status, 301);
    });

    it('logs HTTPS, the redirect and ACME in the one strangler_json format, the edge answers by name', async () => {
      await curl(`https://${NAME}:${edge.tls}/api/v1/track/log-https`, { resolve: at(edge.tls), cacert: cert.certificate });
      await curl(`http://${NAME}:${edge.plain}/api/v1/track/log-plain`, { resolve: at(edge.plain) });
      await curl(`http://${NAME}:${edge.plain}/.well-known/acme-challenge/tok-123`, { resolve: at(edge.plain) });
      assert.deepEqual(pick(await loggedLine(edge, '/api/v1/track/log-https')), { route: 'track', target: 'function:track-package', status: 200 });
      assert.deepEqual(pick(await loggedLine(edge, '/api/v1/track/log-plain')), { route: 'default', target: 'https_redirect', status: 301 });
      assert.deepEqual(pick(await loggedLine(edge, '/.well-known/acme-challenge/tok-123')), { route: 'default', target: 'acme_webroot', status: 200 });
    });

    it('writes modern TLS defaults', () => {
      for (const line of ['ssl_protocols TLSv1.2 TLSv1.3;', 'ssl_session_cache shared:strangler_tls:10m;', 'ssl_session_tickets off;', 'ssl http2;']) {
        assert.ok(edge.conf.includes(line), `missing: ${line}`);
      }
      assert.ok(!edge.conf.includes('ssl_stapling'), 'no stapling for a certificate without an OCSP responder');
    });

    it('negotiates TLS 1.3, and TLS 1.2 with a client that stops there', async () => {
      assert.equal(await tlsProtocol(edge.tls, 'TLSv1.3'), 'TLSv1.3');
      assert.equal(await tlsProtocol(edge.tls, 'TLSv1.2'), 'TLSv1.2');
    });
  });

  describe('tls without redirect, default_server: refuse', () => {
    let edge: Edge;
    before(async () => {
      edge = await startEdge('http2: false\nhsts: 2w', 'default_server: refuse');
    });

    it('serves the routes over plain HTTP and HTTPS from the same server, HSTS only over HTTPS', async () => {
      const plain = await curl(`http://${NAME}:${edge.plain}/health`, { resolve: at(edge.plain) });
      assert.equal(plain.status, 200);
      assert.equal(plain.headers['strict-transport-security'], undefined);
      assert.equal(JSON.parse(plain.body).headers['x-forwarded-proto'], 'http');
      const secure = await curl(`https://${NAME}:${edge.tls}/health`, { resolve: at(edge.tls), cacert: cert.certificate });
      assert.equal(secure.status, 200);
      assert.equal(secure.headers['strict-transport-security'], 'max-age=1209600');
    });

    it('offers HTTP/1.1 only with http2: false', async () => {
      const res = await curl(`https://${NAME}:${edge.tls}/health`, { http: '2', resolve: at(edge.tls), cacert: cert.certificate });
      assert.equal(res.version, '1.1');
    });

    it('closes the connection (444) for a Host that is none of server_name, and serves each name', async () => {
      const refused = await exchange(edge.plain, { raw: Buffer.from('GET /refused-host HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n') });
      assert.equal(refused.status, 0, 'no answer at all');
      assert.deepEqual(pick(await loggedLine(edge, '/refused-host')), { route: 'default', target: 'refused', status: 444 });
      const www = await curl(`http://www.example.test:${edge.plain}/health`, { resolve: { host: 'www.example.test', port: edge.plain } });
      assert.equal(www.status, 200);
    });

    it('refuses the TLS handshake for an unknown name or none', async () => {
      await assert.rejects(curl(`https://evil.example:${edge.tls}/health`, { resolve: { host: 'evil.example', port: edge.tls } }), /curl/);
      await assert.rejects(curl(`https://127.0.0.1:${edge.tls}/health`), /curl/);
    });
  });

  it('staples OCSP for a certificate that names a responder, and nginx -t accepts it', () => {
    const stapled = makeCertificate({ names: [NAME], ocsp: 'http://127.0.0.1:9/ocsp', name: 'ocsp' });
    const text = `version: 1\nlisten: 8080\ntls: { listen: 8443, certificate: ${stapled.certificate}, certificate_key: ${stapled.certificate_key} }\nupstreams:\n  legacy: { servers: ["127.0.0.1:8081"] }\n`;
    const { table, diagnostics } = compileManifest(text, 'routes.yaml');
    assert.ok(table, diagnostics.map(formatDiagnostic).join('\n'));
    assert.equal(table.tls?.ocsp_stapling, true);
    const conf = renderNginxConfig(table);
    assert.match(conf, /ssl_stapling on;\n\s*ssl_stapling_verify on;/);
    const check = nginxCheck(conf);
    assert.ok(check.ok, check.output);
  });

  it('serves the ACME webroot over plain HTTP before there is a certificate (tls with only acme_webroot)', async () => {
    const plain = await freePort();
    const text = `version: 1\nlisten: "127.0.0.1:${plain}"\ntls: { acme_webroot: ${webroot} }\nupstreams:\n  legacy: { servers: ["127.0.0.1:${legacy.port}"] }\n`;
    const { table, diagnostics } = compileManifest(text, 'routes.yaml');
    assert.ok(table, diagnostics.map(formatDiagnostic).join('\n'));
    const nginx = await startNginx(renderNginxConfig(table), { ports: [plain] });
    running.push(nginx);
    const challenge = await curl(`http://${NAME}:${plain}/.well-known/acme-challenge/tok-123`, { resolve: at(plain) });
    assert.equal(challenge.status, 200);
    assert.equal(challenge.body, 'tok-123.thumbprint');
    const proxied = await curl(`http://${NAME}:${plain}/health`, { resolve: at(plain) });
    assert.equal(JSON.parse(proxied.body).served_by, 'legacy');
  });

  describe('trusted_proxies', () => {
    it('takes the client from X-Forwarded-For of a trusted proxy: X-Real-IP, the forwarded chain', async () => {
      const edge = await startEdge('', 'trusted_proxies: [127.0.0.1/32, "::1"]');
      const res = await curl(`https://${NAME}:${edge.tls}/health`, { resolve: at(edge.tls), headers: ['X-Forwarded-For: 203.0.113.7'] });
      const h = JSON.parse(res.body).headers;
      assert.equal(h['x-real-ip'], '203.0.113.7');
      assert.equal(h['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    });

    it('ignores X-Forwarded-For from an address that is not a trusted proxy', async () => {
      const edge = await startEdge('', 'trusted_proxies: [10.0.0.0/8]');
      const res = await curl(`https://${NAME}:${edge.tls}/health`, { resolve: at(edge.tls), headers: ['X-Forwarded-For: 203.0.113.7'] });
      const h = JSON.parse(res.body).headers;
      assert.equal(h['x-real-ip'], '127.0.0.1');
      assert.equal(h['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    });
  });
});

/** The protocol a TLS handshake with SNI api.example.test settles on, the client capped at `max`. */
function tlsProtocol(port: number, max: 'TLSv1.2' | 'TLSv1.3'): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ port, host: '127.0.0.1', servername: NAME, maxVersion: max, rejectUnauthorized: false }, () => {
      const p = s.getProtocol();
      s.end();
      resolve(p);
    });
    s.on('error', reject);
  });
}
