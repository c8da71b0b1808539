// The server-level parts of the config that face the client: listeners, TLS, the plain-HTTP
// redirect and ACME webroot, the refusing default server, the client's real address behind
// load balancers, and the Host sent upstream. Route locations are emit-routes.ts's.
//
// HTTP/2 is the `listen … ssl http2` parameter: nginx 1.22 (Debian 12) knows only that form;
// 1.25.1 and later accept it with a deprecation warning (the `http2 on;` directive replaced it).
import { ACME_CHALLENGE_PATH } from '../manifest/edge-checks';
import type { Listen, RouteTable, Tls } from '../manifest/route-table';
import { d, entry, literal, type Directive } from './directive';
import { EDGE_TARGETS, LOG_FORMAT_NAME } from './log-format';

/** nginx's `$host` plus the client's port where it is not the scheme's default (see hostPortMap). */
export const UPSTREAM_HOST = '$host$strangler_host_port';

/**
 * Mozilla's "intermediate" TLS 1.2 ciphers (forward-secret AEAD), without its DHE ones: those
 * need an ssl_dhparam file, and every client that speaks TLS 1.2 has ECDHE. TLS 1.3 suites are
 * OpenSSL's defaults.
 */
const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** host:port as nginx writes it (IPv6 bracketed). */
export function serverAddress(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : literal(host)}:${port}`;
}

function address(l: Listen): string {
  return l.host === null ? String(l.port) : serverAddress(l.host, l.port);
}

/** http-context directives: the real client address, the upstream Host's port, the HSTS value. */
export function emitEdgeHttp(table: RouteTable): Directive[] {
  const out: Directive[] = [];
  if (table.trusted_proxies.length) {
    // A client's X-Forwarded-For is believed only from these addresses; recursive: the rightmost
    // address that is not a trusted proxy is the client.
    for (const p of table.trusted_proxies) out.push(d('set_real_ip_from', [p.text]));
    out.push(d('real_ip_header', ['X-Forwarded-For']), d('real_ip_recursive', ['on']));
    // $proxy_add_x_forwarded_for would append the client a second time: append the proxy we saw.
    out.push(d('map', ['$http_x_forwarded_for', '$strangler_forwarded_for'], [
      entry('', '$realip_remote_addr'),
      entry('default', '$http_x_forwarded_for, $realip_remote_addr'),
    ]));
  }
  out.push(hostPortMap());
  if (table.tls?.hsts) {
    // Only over HTTPS (a browser ignores it over plain HTTP, and it must not pin a plain-only name).
    out.push(d('map', ['$scheme', '$strangler_hsts'], [entry('https', `max-age=${table.tls.hsts.seconds}`), entry('default', '')]));
  }
  return out;
}

/**
 * `:PORT` when the Host header names a port other than the scheme's default, else "". $host is
 * nginx's validated Host (lower-cased, no port); this puts the client's port back, so a legacy
 * app that builds absolute URLs keeps it. The Node gateway computes the same (proxy-headers.ts).
 * A space separates scheme and header: a valid Host never holds one (nginx answers 400 first).
 */
function hostPortMap(): Directive {
  return d('map', ['$scheme $http_host', '$strangler_host_port'], [
    entry('~^http .*:80$', ''),
    entry('~^https .*:443$', ''),
    entry('~:([0-9]+)$', ':$1'),
    entry('default', ''),
  ]);
}

/** The X-Forwarded-For value sent upstream. */
export function forwardedFor(table: RouteTable): string {
  return table.trusted_proxies.length ? '$strangler_forwarded_for' : '$proxy_add_x_forwarded_for';
}

/** Strict-Transport-Security, for the server and for every location with add_header of its own (add_header does not merge). */
export function edgeHeaders(table: RouteTable): Directive[] {
  return table.tls?.hsts ? [d('add_header', ['Strict-Transport-Security', '$strangler_hsts', 'always'])] : [];
}

function tlsListen(tls: Tls, extra: string[] = []): Directive {
  return d('listen', [address(tls.listen), 'ssl', ...(tls.http2 ? ['http2'] : []), ...extra]);
}

function tlsSettings(tls: Tls): Directive[] {
  const out = [
    d('ssl_certificate', [tls.certificate]),
    d('ssl_certificate_key', [tls.certificate_key]),
    d('ssl_protocols', ['TLSv1.2', 'TLSv1.3']),
    d('ssl_ciphers', [TLS12_CIPHERS]),
    d('ssl_prefer_server_ciphers', ['off']),
    d('ssl_session_cache', ['shared:strangler_tls:10m']),
    d('ssl_session_timeout', ['1d']),
    d('ssl_session_tickets', [tls.session_tickets ? 'on' : 'off']),
  ];
  // Only a certificate that names an OCSP responder can be stapled (Let's Encrypt dropped OCSP in 2025).
  if (tls.ocsp_stapling) out.push(d('ssl_stapling', ['on']), d('ssl_stapling_verify', ['on']));
  return out;
}

function logVariables(target: string, accessLog: string | null): Directive[] {
  return [
    ...(accessLog ? [d('access_log', [accessLog, LOG_FORMAT_NAME])] : []),
    d('set', ['$strangler_route', 'default']),
    d('set', ['$strangler_target', target]),
  ];
}

/** ACME HTTP-01 challenges from the webroot certbot writes to; ^~ so no regex route takes them. */
function acmeLocation(table: RouteTable): Directive[] {
  if (!table.acme_webroot) return [];
  return [d('location', ['^~', ACME_CHALLENGE_PATH], [
    d('set', ['$strangler_target', EDGE_TARGETS.acme_webroot]),
    d('root', [table.acme_webroot]),
    d('default_type', ['text/plain']),
    d('try_files', ['$uri', '=404']),
  ])];
}

/**
 * The server blocks: the routing server (its `body` holds the routes), and around it, as the
 * manifest asks, the plain-HTTP redirect server and the refusing default server.
 */
export function emitEdgeServers(table: RouteTable, body: readonly Directive[], accessLog: string | null): Directive[] {
  const names = d('server_name', table.server_name.split(' ').map(literal));
  const plain = d('listen', [address(table.listen)]);
  const tls = table.tls;
  const servers: Directive[] = [];

  if (table.default_server === 'refuse') {
    // Requests for a Host none of server_name: the connection is closed without an answer, and a
    // TLS handshake for an unknown name (or none) is refused before any certificate is shown.
    const block = [
      d('listen', [address(table.listen), 'default_server']),
      ...(tls ? [tlsListen(tls, ['default_server'])] : []),
      d('server_name', ['_']),
      ...(tls ? [d('ssl_reject_handshake', ['on'])] : []),
      ...logVariables(EDGE_TARGETS.refused, accessLog),
      d('return', [444]),
    ];
    servers.push(d('server', [], block));
  }
  if (!tls) return [...servers, d('server', [], [plain, names, ...body, ...acmeLocation(table)])];

  if (tls.redirect_http) {
    const port = tls.listen.port === 443 ? '' : `:${tls.listen.port}`;
    servers.push(d('server', [], [
      plain, names, ...logVariables(EDGE_TARGETS.https_redirect, accessLog),
      ...acmeLocation(table),
      d('location', ['/'], [d('return', [301, `https://$host${port}$request_uri`])]),
    ]));
    servers.push(d('server', [], [tlsListen(tls), names, ...tlsSettings(tls), ...edgeHeaders(table), ...body]));
    return servers;
  }
  servers.push(d('server', [], [plain, tlsListen(tls), names, ...tlsSettings(tls), ...edgeHeaders(table), ...body, ...acmeLocation(table)]));
  return servers;
}
