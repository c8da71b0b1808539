// Validation of the public-edge settings: tls and gateway.tls files read from disk (missing,
// not a file, not PEM, a key of another certificate), and the rules the schema cannot express
// (ports, HSTS ages, the ACME location, trusted proxies, a refusing default server). Each error
// names its manifest path, line and column, and which file is wrong.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCidr } from '../gateway/manifest/cidr';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { formatDiagnostic } from '../gateway/manifest/errors';
import { parseAge } from '../gateway/manifest/units';
import { runCli } from './helpers/serve-child';
import { makeCertificate, requireTlsTools, type TestCertificate } from './helpers/tls';

const HEAD = ['version: 1', 'listen: 8080', 'upstreams:', '  legacy: { servers: ["127.0.0.1:8081"] }'];

/** HEAD plus the given lines; the first given line is line 5. */
const manifest = (...lines: string[]) => [...HEAD, ...lines, ''].join('\n');

function errors(text: string, checkFiles = true): string[] {
  const { table, diagnostics } = compileManifest(text, 'routes.yaml', { checkFiles });
  const out = diagnostics.map(formatDiagnostic);
  if (table) assert.equal(diagnostics.filter((d) => d.severity === 'error').length, 0);
  return out;
}

describe('manifest: tls, gateway.tls, default_server, trusted_proxies', function () {
  let cert: TestCertificate;
  let other: TestCertificate;

  before(function () {
    requireTlsTools(this);
    cert = makeCertificate();
    other = makeCertificate({ dir: cert.dir, name: 'other' });
  });

  const tls = (certificate: string, key: string, extra = '') => `tls: { certificate: ${certificate}, certificate_key: ${key}${extra} }`;

  it('accepts a matching pair and records the TLS defaults', () => {
    const { table, diagnostics } = compileManifest(manifest(tls(cert.certificate, cert.certificate_key)), 'routes.yaml');
    assert.ok(table, diagnostics.map(formatDiagnostic).join('\n'));
    assert.deepEqual({ ...table.tls }, {
      certificate: cert.certificate, certificate_key: cert.certificate_key, listen: { host: null, port: 443, text: '443' },
      http2: true, redirect_http: false, hsts: null, session_tickets: false, ocsp_stapling: false,
    });
    assert.equal(table.acme_webroot, null);
    assert.equal(table.default_server, 'serve');
    assert.deepEqual(table.trusted_proxies, []);
  });

  it('refuses a key that belongs to another certificate, naming both files', () => {
    const out = errors(manifest(tls(cert.certificate, other.certificate_key)));
    assert.equal(out.length, 1, out.join('\n'));
    assert.match(out[0], /^routes\.yaml:5:\d+: error STR_TLS_KEY_MISMATCH: tls\.certificate_key: /);
    assert.ok(out[0].includes(other.certificate_key) && out[0].includes(cert.certificate), out[0]);
  });

  it('refuses missing files, saying which', () => {
    const out = errors(manifest(tls('/nonexistent/fullchain.pem', '/nonexistent/privkey.pem')));
    assert.deepEqual(out.map((l) => l.replace(/:5:\d+:/, ':5:C:')), [
      'routes.yaml:5:C: error STR_TLS_FILE: tls.certificate: certificate /nonexistent/fullchain.pem does not exist',
      'routes.yaml:5:C: error STR_TLS_FILE: tls.certificate_key: key /nonexistent/privkey.pem does not exist',
    ]);
  });

  it('refuses a directory and files without PEM', () => {
    const junk = join(cert.dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    const out = errors(manifest(tls(cert.dir, junk)));
    assert.equal(out.length, 2, out.join('\n'));
    assert.match(out[0], /STR_TLS_FILE: tls\.certificate: certificate \S+ is not a regular file/);
    assert.match(out[1], /STR_TLS_CERT: tls\.certificate_key: \S+junk\.pem does not hold a PEM private key/);
    assert.match(errors(manifest(tls(junk, cert.certificate_key)))[0], /STR_TLS_CERT: tls\.certificate: \S+ does not hold a PEM certificate/);
  });

  it('refuses an unreadable key (when not running as root, which reads everything)', function () {
    if (process.getuid?.() === 0) this.skip();
    const locked = join(mkdtempSync(join(tmpdir(), 'strangler-tls-locked-')), 'privkey.pem');
    writeFileSync(locked, 'x');
    chmodSync(locked, 0o000);
    assert.match(errors(manifest(tls(cert.certificate, locked)))[0], /STR_TLS_FILE: tls\.certificate_key: key \S+ is not readable by this user/);
  });

  it('warns when the certificate does not cover a server_name', () => {
    const { table, diagnostics } = compileManifest(manifest('server_name: [localhost, api.example.no, "*.example.no"]', tls(cert.certificate, cert.certificate_key)), 'routes.yaml');
    assert.ok(table, 'a warning only');
    assert.deepEqual(diagnostics.map(formatDiagnostic).map((l) => l.replace(cert.certificate, 'CERT')), [
      'routes.yaml:6:21: warning STR_W_CERTIFICATE: tls.certificate: CERT does not cover server_name api.example.no: browsers would refuse it for that name',
      'routes.yaml:6:21: warning STR_W_CERTIFICATE: tls.certificate: CERT does not cover server_name *.example.no: browsers would refuse it for that name',
    ]);
  });

  it('checks gateway.tls the same way', () => {
    const out = errors(manifest(`gateway: { tls: { certificate: ${cert.certificate}, certificate_key: ${other.certificate_key} } }`));
    assert.match(out[0], /^routes\.yaml:5:\d+: error STR_TLS_KEY_MISMATCH: gateway\.tls\.certificate_key: /);
  });

  it('records OCSP stapling only for a certificate that names a responder', () => {
    const ocsp = makeCertificate({ dir: cert.dir, name: 'ocsp', ocsp: 'http://127.0.0.1:9/' });
    const on = compileManifest(manifest(tls(ocsp.certificate, ocsp.certificate_key)), 'routes.yaml').table;
    assert.equal(on?.tls?.ocsp_stapling, true);
    const skipped = compileManifest(manifest(tls(ocsp.certificate, ocsp.certificate_key)), 'routes.yaml', { checkFiles: false }).table;
    assert.equal(skipped?.tls?.ocsp_stapling, false, 'files not read: no stapling');
  });

  it('refuses relative paths and characters outside the allow-list', () => {
    const out = errors(manifest(tls('certs/fullchain.pem', '"/etc/key;pem"')), false);
    assert.equal(out.length, 2, out.join('\n'));
    for (const line of out) assert.match(line, /error STR_BAD_FILE_PATH: tls\.certificate(_key)?: /);
  });

  it('refuses an ACME webroot that is not a directory, and a route that claims the challenge path', () => {
    const ok = tls(cert.certificate, cert.certificate_key, `, acme_webroot: ${cert.dir}`);
    assert.deepEqual(errors(manifest(ok)), []);
    const file = tls(cert.certificate, cert.certificate_key, `, acme_webroot: ${cert.certificate}`);
    assert.match(errors(manifest(file))[0], /STR_TLS_FILE: tls\.acme_webroot: \S+ is not a directory/);
    const claimed = manifest(tls(cert.certificate, cert.certificate_key, ', acme_webroot: /var/www/acme'), 'routes:', '  - { id: a, match: { prefix: /.well-known/acme-challenge }, to: legacy }');
    assert.ok(errors(claimed, false).some((l) => /routes\.yaml:7:\d+: error STR_DUPLICATE_MATCH: routes\[0\]\.match\.prefix: claims \/\.well-known\/acme-challenge\//.test(l)));
  });

  it('takes tls with only acme_webroot (to get the first certificate), and refuses half a pair', () => {
    const { table, diagnostics } = compileManifest(manifest(`tls: { acme_webroot: ${cert.dir} }`), 'routes.yaml');
    assert.ok(table, diagnostics.map(formatDiagnostic).join('\n'));
    assert.equal(table.tls, null);
    assert.equal(table.acme_webroot, cert.dir);
    assert.match(errors(manifest(`tls: { certificate: ${cert.certificate} }`))[0], /routes\.yaml:5:\d+: error STR_REQUIRED: tls: certificate needs certificate_key beside it/);
    assert.match(errors(manifest(`tls: { acme_webroot: ${cert.dir}, redirect_http: true }`))[0], /STR_REQUIRED: tls: missing certificate and certificate_key \(redirect_http needs them\)/);
    assert.match(errors(manifest('tls: {}'))[0], /STR_REQUIRED: tls: missing certificate and certificate_key; only acme_webroot may stand alone/);
  });

  it('refuses the plain port for HTTPS, a bad HSTS age and a bad listen', () => {
    const text = manifest('tls:', '  listen: 8080', '  certificate: /c.pem', '  certificate_key: /k.pem', '  hsts: 1d1y');
    const out = errors(text, false);
    assert.ok(out.some((l) => /:6:\d+: error STR_BAD_ADDRESS: tls\.listen: the HTTPS listener needs its own port/.test(l)), out.join('\n'));
    assert.ok(out.some((l) => /:9:\d+: error STR_BAD_DURATION: tls\.hsts: /.test(l)), out.join('\n'));
    assert.ok(errors(manifest('tls: { listen: "nohost:", certificate: /c.pem, certificate_key: /k.pem }'), false).some((l) => /STR_BAD_ADDRESS: tls\.listen/.test(l)));
  });

  it('parses HSTS ages in nginx time syntax', () => {
    assert.equal(parseAge('1y'), 31_536_000);
    assert.equal(parseAge('6M'), 15_552_000);
    assert.equal(parseAge('1w2d'), 9 * 86_400);
    assert.equal(parseAge('3600'), 3600);
    assert.equal(parseAge('0'), 0);
    assert.equal(parseAge('1d1y'), null);
    assert.equal(parseAge('1ms'), null);
  });

  it('takes server_name as a list, and default_server: refuse only with names', () => {
    const { table } = compileManifest(manifest('server_name: [api.example.no, "*.example.no"]', 'default_server: refuse'), 'routes.yaml');
    assert.equal(table?.server_name, 'api.example.no *.example.no');
    assert.equal(table?.default_server, 'refuse');
    assert.match(errors(manifest('default_server: refuse'))[0], /routes\.yaml:5:\d+: error STR_BAD_VALUE: default_server: "refuse" needs server_name/);
    assert.match(errors(manifest('server_name: [api.example.no, "*example.no"]'))[0], /routes\.yaml:5:\d+: error STR_BAD_VALUE: server_name\[1\]: "\*example\.no"/);
    assert.match(errors(manifest('default_server: closed'))[0], /STR_BAD_VALUE: default_server: "closed" must be one of "serve", "refuse"/);
  });

  it('refuses trusted_proxies that are not addresses or CIDR blocks', () => {
    const out = errors(manifest('trusted_proxies:', '  - 10.0.0.0/8', '  - 10.0.0.0/33', '  - "2001:db8::/129"', '  - 300.1.1.1', '  - "10.0.0.1; include x"'));
    assert.equal(out.length, 4, out.join('\n'));
    assert.match(out[0], /:7:\d+: error STR_BAD_CIDR: trusted_proxies\[1\]: "10\.0\.0\.0\/33": an IPv4 prefix length is at most 32/);
    assert.match(out[1], /:8:\d+: error STR_BAD_CIDR: trusted_proxies\[2\]: .*at most 128/);
    assert.match(out[2], /:9:\d+: error STR_BAD_CIDR: trusted_proxies\[3\]: "300\.1\.1\.1" is not an IPv4 or IPv6 address/);
    assert.match(out[3], /:10:\d+: error STR_BAD_CIDR: trusted_proxies\[4\]: "10.0.0.1; include x" is not an address or a CIDR block/);
    assert.deepEqual(parseCidr('::1'), { family: 6, address: '::1', bits: 128, text: '::1' });
  });

  it('strangler compile --no-tls-files compiles for a machine that holds the certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strangler-compile-tls-'));
    const file = join(dir, 'routes.yaml');
    writeFileSync(file, manifest(tls('/etc/letsencrypt/live/elsewhere/fullchain.pem', '/etc/letsencrypt/live/elsewhere/privkey.pem')));
    const checked = await runCli(['compile', file]);
    assert.equal(checked.status, 1);
    assert.match(checked.stderr, /STR_TLS_FILE: tls\.certificate: certificate \/etc\/letsencrypt\/live\/elsewhere\/fullchain\.pem does not exist/);
    const r = await runCli(['compile', file, '--no-tls-files']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ssl_certificate \/etc\/letsencrypt\/live\/elsewhere\/fullchain\.pem;/);
  });

  it('strangler validate prints which file is wrong, with its line, and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strangler-validate-tls-'));
    const file = join(dir, 'routes.yaml');
    writeFileSync(file, manifest(tls(cert.certificate, other.certificate_key)));
    const r = await runCli(['validate', file]);
    assert.equal(r.status, 1);
    assert.match(r.stdout + r.stderr, /routes\.yaml:5:\d+: error STR_TLS_KEY_MISMATCH: tls\.certificate_key: \S+other\.key is not the private key of the certificate in \S+server\.crt/);
  });
});
