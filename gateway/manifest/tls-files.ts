// What `validate` checks on disk for tls and gateway.tls: the files exist and are readable, hold a
// PEM certificate and a PEM private key, and the key belongs to the certificate; the ACME webroot
// is a directory. Read as the user running strangler: run it as the user nginx starts as (root,
// whose master process reads the key).
import type { KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { serverNameText } from './edge-checks';
import type { PathSegment } from './errors';
import { isObj, type Report } from './semantic-checks';

type Obj = Record<string, unknown>;

export interface CertificateFacts {
  /** The certificate names an OCSP responder (Authority Information Access), so it can be stapled. */
  readonly ocsp: boolean;
}

/** The file's bytes, or null after reporting why it cannot be read. */
function readRegularFile(path: string, what: string, where: PathSegment[], report: Report): Buffer | null {
  try {
    if (!statSync(path).isFile()) {
      report('STR_TLS_FILE', where, `${what} ${path} is not a regular file`);
      return null;
    }
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user (nginx reads it as root: validate as root too)' : `cannot be read (${code ?? (err as Error).message})`;
    report('STR_TLS_FILE', where, `${what} ${path} ${why}`);
    return null;
  }
}

/** Checks one certificate/key pair at `base` (["tls"] or ["gateway", "tls"]); the certificate's facts when both are good. */
export function checkCertificatePair(m: Obj, base: PathSegment[], report: Report): CertificateFacts | null {
  let node: unknown = m;
  for (const k of base) node = isObj(node) ? node[k] : undefined;
  if (!isObj(node) || typeof node.certificate !== 'string' || typeof node.certificate_key !== 'string') return null;
  // Loaded here, not with the module: a manifest without certificates does not pay node:crypto's load.
  const { createPrivateKey, X509Certificate } = require('node:crypto') as typeof import('node:crypto');
  const certWhere = [...base, 'certificate'];
  const keyWhere = [...base, 'certificate_key'];
  const certPem = readRegularFile(node.certificate, 'certificate', certWhere, report);
  const keyPem = readRegularFile(node.certificate_key, 'key', keyWhere, report);
  let cert: X509Certificate | null = null;
  let key: KeyObject | null = null;
  if (certPem) {
    try {
      cert = new X509Certificate(certPem);
    } catch {
      report('STR_TLS_CERT', certWhere, `${node.certificate} does not hold a PEM certificate (-----BEGIN CERTIFICATE-----)`);
    }
  }
  if (keyPem) {
    try {
      key = createPrivateKey(keyPem);
    } catch {
      const encrypted = /ENCRYPTED/.test(keyPem.toString('latin1'));
      report('STR_TLS_CERT', keyWhere, encrypted
        ? `${node.certificate_key} holds an encrypted private key: nginx would ask for a passphrase at every start; decrypt it (openssl pkey -in KEY -out KEY.plain)`
        : `${node.certificate_key} does not hold a PEM private key (-----BEGIN PRIVATE KEY-----)`);
    }
  }
  if (!cert || !key) return null;
  if (!cert.checkPrivateKey(key)) {
    report('STR_TLS_KEY_MISMATCH', keyWhere, `${node.certificate_key} is not the private key of the certificate in ${node.certificate} (${cert.subject.replace(/\n/g, ', ')})`);
    return null;
  }
  warnCoverage(cert, node.certificate, serverNameText(m.server_name), certWhere, report);
  return { ocsp: /^OCSP - URI:/m.test(cert.infoAccess ?? '') };
}

/** Browsers would refuse it: an expired certificate, or one that does not name a server_name. */
function warnCoverage(cert: X509Certificate, path: string, serverName: string, where: PathSegment[], report: Report): void {
  if (Date.parse(cert.validTo) < Date.now()) report('STR_W_CERTIFICATE', where, `${path} expired on ${cert.validTo}`, 'warning');
  for (const name of serverName.split(' ')) {
    // A name to ask the certificate about: one below a leading wildcard, the domain of ".name".
    const probe = name.startsWith('*.') ? `x${name.slice(1)}` : name.startsWith('.') ? name.slice(1) : name;
    if (name === '_' || probe.endsWith('.*')) continue;
    if (cert.checkHost(probe) === undefined) report('STR_W_CERTIFICATE', where, `${path} does not cover server_name ${name}: browsers would refuse it for that name`, 'warning');
  }
}

/** tls.acme_webroot must be a directory certbot can write into. */
export function checkAcmeWebroot(m: Obj, report: Report): void {
  const tls = m.tls;
  if (!isObj(tls) || typeof tls.acme_webroot !== 'string') return;
  try {
    if (!statSync(tls.acme_webroot).isDirectory()) report('STR_TLS_FILE', ['tls', 'acme_webroot'], `${tls.acme_webroot} is not a directory`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    report('STR_TLS_FILE', ['tls', 'acme_webroot'], `${tls.acme_webroot} ${code === 'ENOENT' ? 'does not exist (mkdir -p it)' : `cannot be read (${code})`}`);
  }
}
