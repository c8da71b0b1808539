// Checks of the public-edge settings the schema cannot express: the TLS listener, server names
// for a refusing default server, the ACME location, trusted proxies.
import type { PathSegment } from './errors';
import { isObj, locationKeys, type Report } from './semantic-checks';
import { parseAge, parseHostPort } from './units';

type Obj = Record<string, unknown>;

/** Where certbot's webroot plugin (and every ACME HTTP-01 client) puts its challenge files. */
export const ACME_CHALLENGE_PATH = '/.well-known/acme-challenge/';

/** server_name as nginx takes it: names separated by single spaces (the manifest may give a list). */
export function serverNameText(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(' ');
  return typeof value === 'string' ? value : '_';
}

/** The plain listener's port: `listen` as a port or host:port; null when malformed. */
function portOf(listen: unknown): { host: string | null; port: number } | null {
  if (typeof listen === 'number') return { host: null, port: listen };
  if (typeof listen === 'string') return parseHostPort(listen);
  return null;
}

/**
 * What nginx -t says of a server name the schema's characters allow (ngx_http_core_server_name,
 * then ngx_hash_add_key): at most one `*`, no empty label (`..`); a name starting with a dot
 * (".example.com") is taken whatever follows, else a `*` only as `*.name` or `name.*`; not `.`,
 * `*` or `*.` alone. null: nginx takes it.
 */
export function serverNameProblem(name: string): string | null {
  if (name === '_') return null;
  if (name === '.' || (name.startsWith('*') && (name.length < 3 || name[1] !== '.'))) return 'a leading * must be followed by a dot and a name (*.example.com)';
  if (name.split('*').length > 2) return 'a name has at most one *';
  if (name.includes('..')) return 'a name has no empty label (two dots in a row)';
  if (!name.includes('*') || (name.length > 1 && name.startsWith('.')) || name.startsWith('*.') || (name.length > 2 && name.endsWith('.*'))) return null;
  return 'a wildcard is a * at the start followed by a dot (*.example.com) or at the end after a dot (www.example.*)';
}

export function checkEdge(m: Obj, report: Report): void {
  const names = serverNameText(m.server_name);
  names.split(' ').forEach((name, i) => {
    const where: PathSegment[] = Array.isArray(m.server_name) ? ['server_name', i] : ['server_name'];
    const problem = serverNameProblem(name);
    if (problem !== null) report('STR_BAD_VALUE', where, `${JSON.stringify(name)} is not a server name nginx accepts: ${problem}`);
  });
  if (m.default_server === 'refuse' && names.split(' ').includes('_')) {
    report('STR_BAD_VALUE', ['default_server'], '"refuse" needs server_name to name the hosts to serve: with "_" every request would be refused');
  }
  if (!isObj(m.tls)) return;
  const tls = m.tls;
  const pair = ['certificate', 'certificate_key'].filter((k) => tls[k] !== undefined);
  if (pair.length === 1) {
    report('STR_REQUIRED', ['tls'], `${pair[0]} needs ${pair[0] === 'certificate' ? 'certificate_key' : 'certificate'} beside it`);
  } else if (pair.length === 0) {
    // Only the ACME webroot, to get the first certificate: nothing that needs one.
    const needs = ['listen', 'http2', 'redirect_http', 'hsts', 'session_tickets'].filter((k) => tls[k] !== undefined);
    if (tls.acme_webroot === undefined || needs.length) {
      report('STR_REQUIRED', ['tls'], `missing certificate and certificate_key${needs.length ? ` (${needs.join(', ')} need${needs.length === 1 ? 's' : ''} them)` : ''}; only acme_webroot may stand alone, to get the first certificate`);
    }
  }
  if (typeof tls.listen === 'string' && !parseHostPort(tls.listen)) {
    report('STR_BAD_ADDRESS', ['tls', 'listen'], `${JSON.stringify(tls.listen)} is not a port or host:port`);
  }
  const plain = portOf(m.listen);
  const secure = tls.listen === undefined ? { host: null, port: 443 } : portOf(tls.listen);
  if (plain && secure && plain.port === secure.port && (plain.host === secure.host || plain.host === null || secure.host === null)) {
    report('STR_BAD_ADDRESS', ['tls', 'listen'], `the HTTPS listener needs its own port: ${secure.port} is already listen's (plain HTTP)`);
  }
  if (typeof tls.hsts === 'string' && parseAge(tls.hsts) === null) {
    report('STR_BAD_DURATION', ['tls', 'hsts'], `${JSON.stringify(tls.hsts)} repeats a unit or has them out of order (largest first: 1y, 6M, 1w2d)`);
  }
  if (typeof tls.acme_webroot === 'string' && Array.isArray(m.routes)) {
    const acme = `^ ${ACME_CHALLENGE_PATH}`;
    m.routes.forEach((r, i) => {
      if (!isObj(r) || !isObj(r.match)) return;
      if (locationKeys(r.match).includes(acme)) {
        const where: PathSegment[] = ['routes', i, 'match', Object.keys(r.match)[0]];
        report('STR_DUPLICATE_MATCH', where, `claims ${ACME_CHALLENGE_PATH}, which tls.acme_webroot serves`);
      }
    });
  }
}
