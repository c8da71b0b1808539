// The headers the gateway sends upstream and back, as the compiled nginx sends them:
// `proxy_set_header Host $host$strangler_host_port` (emit-edge.ts), X-Real-IP,
// X-Forwarded-For/-Proto/-Host; nginx's own defaults
// (Keep-Alive, Expect, TE dropped; Content-Length/Transfer-Encoding recomputed); X-Request-Id
// (the client's, or a new one like $request_id); headers with
// "_" in their name ignored (ignore_invalid_headers on, underscores_in_headers off); plus the
// hop-by-hop headers of RFC 9110 §7.6.1, including those the Connection header names.
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { SHADOW_HEADER } from '../manifest/route-table';
import { remoteAddr } from './decide-route';
import { validateHost } from './nginx-uri';

/**
 * Request headers never forwarded as received (replaced, recomputed or hop-by-hop; a client's
 * X-Strangler-Shadow, which only copies carry); X-Real-IP and X-Forwarded-* are upstreamRequestHeaders' own.
 */
const REQUEST_DROP = new Set([
  'host', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'x-request-id',
  SHADOW_HEADER.toLowerCase(),
]);

/** Response headers nginx does not pass (hop-by-hop, and proxy_hide_header's defaults). */
const RESPONSE_DROP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'date', 'server', 'x-pad', 'x-accel-expires', 'x-accel-redirect', 'x-accel-limit-rate', 'x-accel-buffering', 'x-accel-charset',
]);

/**
 * nginx's $host from the Host header (ngx_http_validate_host): lower-cased, port and a trailing
 * dot removed. null when nginx answers 400 (empty, "..", "/", NUL or a control character).
 * An absolute-form request target's host takes precedence over the header.
 */
export function nginxHost(header: string | undefined, absoluteHost: string | null): string | null | undefined {
  const h = absoluteHost ?? header;
  return h === undefined ? undefined : validateHost(h);
}

/**
 * The Host sent upstream: nginx's $host plus the Host header's port where it is not the scheme's
 * default, exactly as the compiled map $strangler_host_port computes it (emit-edge.ts): the last
 * `:digits` at the end of the header, dropped when it is 80 for http or 443 for https.
 */
export function upstreamHost(host: string, hostHeader: string | undefined, scheme: 'http' | 'https'): string {
  const m = hostHeader === undefined ? null : /:([0-9]+)$/.exec(hostHeader);
  if (m === null || m[1] === (scheme === 'https' ? '443' : '80')) return host;
  return `${host}:${m[1]}`;
}

/** The Connection header's tokens: more hop-by-hop header names. */
function connectionTokens(value: string | undefined): Set<string> | null {
  if (!value) return null;
  const v = value.toLowerCase();
  // What nearly every client and upstream sends: names nothing beyond the dropped hop-by-hop set.
  if (v === 'keep-alive' || v === 'close') return null;
  return new Set(v.split(',').map((t) => t.trim()).filter(Boolean));
}

export interface ForwardedFor {
  /** The Host sent upstream (upstreamHost). */
  host: string;
  /** The client's address (client-address.ts). */
  remoteAddress: string;
  /** The peer is a trusted proxy: X-Real-IP and X-Forwarded-* it sent go upstream as received. */
  viaTrustedProxy?: boolean;
  scheme: 'http' | 'https';
  /** Sent as X-Request-Id (requestIdOf). */
  requestId: string;
}

/** The client's X-Request-Id (the first, as nginx 1.22's $http_x_request_id), or a new one like nginx's $request_id: 32 hex digits. */
export function requestIdOf(rawHeaders: readonly string[]): string {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].length === 12 && rawHeaders[i].toLowerCase() === 'x-request-id') {
      if (rawHeaders[i + 1] !== '') return rawHeaders[i + 1];
      break;
    }
  }
  return newRequestId();
}

/** Random bytes drawn a few kilobytes at a time: one randomBytes(16) per request cost 4% of the gateway's CPU. */
const ID_BYTES = 16;
let idPool = Buffer.alloc(0);
let idAt = 0;

function newRequestId(): string {
  if (idAt === idPool.length) {
    idPool = randomBytes(256 * ID_BYTES);
    idAt = 0;
  }
  idAt += ID_BYTES;
  return idPool.toString('hex', idAt - ID_BYTES, idAt);
}

/** Flat [name, value, …] list for undici, in the client's order and spelling. */
export function upstreamRequestHeaders(rawHeaders: readonly string[], connection: string | undefined, fwd: ForwardedFor): string[] {
  const extra = connectionTokens(connection);
  const trusted = fwd.viaTrustedProxy === true;
  const out: string[] = [];
  let xff: string | undefined;
  // From a trusted proxy, what it sent goes on as received (the last line of each, where one came twice).
  let realIp: string | undefined;
  let proto: string | undefined;
  let forwardedHost: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    const value = rawHeaders[i + 1];
    const lower = name.toLowerCase();
    switch (lower) {
      case 'x-forwarded-for': xff = xff === undefined ? value : `${xff}, ${value}`; continue;
      case 'x-real-ip': if (trusted) realIp = value; continue;
      case 'x-forwarded-proto': if (trusted) proto = value; continue;
      case 'x-forwarded-host': if (trusted) forwardedHost = value; continue;
    }
    if (REQUEST_DROP.has(lower) || (extra !== null && extra.has(lower)) || lower.includes('_')) continue;
    out.push(name, value);
  }
  const addr = remoteAddr(fwd.remoteAddress);
  out.push(
    'host', fwd.host,
    'x-real-ip', realIp ?? addr,
    // $proxy_add_x_forwarded_for: the client's X-Forwarded-For, then the client's address; a trusted proxy's as it sent it.
    'x-forwarded-for', xff === undefined ? addr : trusted ? xff : `${xff}, ${addr}`,
    'x-forwarded-proto', proto ?? fwd.scheme,
    'x-forwarded-host', forwardedHost ?? fwd.host,
    'x-request-id', fwd.requestId,
  );
  return out;
}

/** Upstream response headers as the client gets them, plus the debug headers when enabled. */
export function clientResponseHeaders(headers: IncomingHttpHeaders, debug: OutgoingHttpHeaders | null): OutgoingHttpHeaders {
  const extra = connectionTokens(typeof headers.connection === 'string' ? headers.connection : undefined);
  const out: OutgoingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    if (RESPONSE_DROP.has(name) || (extra !== null && extra.has(name))) continue;
    const v = headers[name];
    if (v !== undefined) out[name] = v;
  }
  if (debug !== null) Object.assign(out, debug);
  return out;
}

/** A response head for a raw socket (upgrades, CONNECT): status line, headers, blank line. */
export function rawResponseHead(status: number, reason: string, headers: OutgoingHttpHeaders | IncomingHttpHeaders): string {
  const lines = [`HTTP/1.1 ${status} ${reason}`.trimEnd()];
  for (const [k, v] of Object.entries(headers)) {
    for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) lines.push(`${k}: ${one}`);
  }
  return lines.join('\r\n') + '\r\n\r\n';
}
