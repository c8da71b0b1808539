// Certificates made by the tests with the system's openssl: a self-signed certificate and key in
// a temp directory, optionally naming an OCSP responder (so nginx's stapling is configured).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  readonly dir: string;
  readonly certificate: string;
  readonly certificate_key: string;
  /** The certificate's PEM, for clients that pin it as their CA. */
  readonly ca: string;
}

export interface CertificateOptions {
  /** DNS names (subjectAltName); the first is the CN. Default: localhost, with IP 127.0.0.1. */
  names?: string[];
  /** An OCSP responder URL in Authority Information Access. */
  ocsp?: string;
  /** Directory to write into (default: a new temp directory). */
  dir?: string;
  /** File name stem (default "server"). */
  name?: string;
}

/** The commands the TLS tests run that are missing: openssl makes certificates, curl is the HTTP/2 client. */
function missingTools(): string[] {
  return ['openssl', 'curl'].filter((tool) => spawnSync(tool, ['--version'], { encoding: 'utf8' }).status !== 0
    && spawnSync(tool, ['version'], { encoding: 'utf8' }).status !== 0);
}

/** Call from a `before` hook: without openssl or curl the TLS tests skip loudly, and fail in CI. */
export function requireTlsTools(ctx: Mocha.Context): void {
  const missing = missingTools();
  if (!missing.length) return;
  if (process.env.CI) throw new Error(`${missing.join(' and ')} not found; CI must run the TLS tests (apt-get install ${missing.join(' ')})`);
  console.warn(`!! SKIPPING TLS tests: ${missing.join(' and ')} not found (apt-get install ${missing.join(' ')})`);
  ctx.skip();
}

export function makeCertificate(opts: CertificateOptions = {}): TestCertificate {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'strangler-tls-'));
  const names = opts.names ?? ['localhost'];
  const stem = opts.name ?? 'server';
  const certificate = join(dir, `${stem}.crt`);
  const certificate_key = join(dir, `${stem}.key`);
  const san = ['subjectAltName=' + [...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',')];
  const args = [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${names[0]}`, '-keyout', certificate_key, '-out', certificate,
    '-addext', san[0],
    ...(opts.ocsp ? ['-addext', `authorityInfoAccess=OCSP;URI:${opts.ocsp}`] : []),
  ];
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return { dir, certificate, certificate_key, ca: readFileSync(certificate, 'utf8') };
}
