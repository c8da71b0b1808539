// DNS-rebinding defence for the admin API, as Caddy does for its admin endpoint: a browser
// tricked into sending requests to 127.0.0.1 still sends the attacker's Host (evil.example)
// and Origin, so only the admin's own address, the localhost forms, and its own origin pass.
import { ipFamily } from '../util/ip-address';

/** What GET /healthz says about itself, so a client can tell this API from any other JSON server. */
export const ADMIN_SERVICE = 'strangler-admin';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** Splits a Host header value ("127.0.0.1:8091", "[::1]:8091", "localhost") into name and port. */
export function parseHostHeader(value: string): { name: string; port: number | null } | null {
  const m = /^(\[([0-9a-fA-F:.]+)\]|[^:\[\]\s]+)(?::([0-9]{1,5}))?$/.exec(value);
  if (!m) return null;
  return { name: (m[2] ?? m[1]).toLowerCase(), port: m[3] === undefined ? null : Number(m[3]) };
}

export interface AdminAddress {
  host: string;
  port: number;
}

/**
 * Returns a predicate for Host header values the admin listening on `bound` accepts; `names`
 * (the manifest's gateway.admin_hosts) are host names the operator vouches for, e.g. the DNS
 * name a Prometheus server scrapes.
 */
export function hostChecker(bound: AdminAddress, names: readonly string[] = []): (host: string | undefined) => boolean {
  const own = bound.host.replace(/^\[|\]$/g, '').toLowerCase();
  const wildcard = WILDCARDS.has(own);
  const listed = new Set(names.map((n) => n.toLowerCase()));
  return (host) => {
    const h = host === undefined ? null : parseHostHeader(host);
    if (!h) return false;
    if ((h.port ?? 80) !== bound.port) return false;
    if (h.name === own || LOOPBACK_NAMES.has(h.name) || listed.has(h.name)) return true;
    // Bound to every interface: any IP literal is a way to reach it; names are what rebinding uses.
    return wildcard && ipFamily(h.name) !== 0;
  };
}

/** An Origin header, when a browser sends one, must be the admin's own http origin. */
export function originAllowed(origin: string | undefined, hostOk: (host: string) => boolean): boolean {
  if (origin === undefined) return true; // curl, the CLI, scripts
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // includes "null" (sandboxed frames, file:// pages)
  }
  if (url.protocol !== 'http:' || url.pathname !== '/' || url.search || url.username) return false;
  return hostOk(url.port ? url.host : `${url.host}:80`);
}
