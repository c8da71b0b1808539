// One request's routing decision, exactly as the compiled nginx makes it: parse the target as
// nginx does, find the location, apply the route's method rule and canary split (the effective
// percent from the runtime state), and compute the request target proxy_pass would send.
// Pure: no I/O, so tests and the equivalence check can call it directly.
import type { Route } from '../manifest/route-table';
import { parseRequestTarget, proxiedAsReceived, proxyUpstreamTarget, upstreamUriAfterRewriteBreak, escapeUri, type ParsedTargetOk } from './nginx-uri';
import type { RouteMatcher } from './route-matcher';
import type { ProxyPass } from '../manifest/location-plan';
import { canarySide } from './split-clients';

export interface RequestFacts {
  readonly method: string;
  /** The request target as received (Node's req.url: a binary string). */
  readonly rawTarget: string;
  /** Node's joined Cookie header, if any. */
  readonly cookie: string | undefined;
  /** Node's raw header list, for header sticky keys (headerVariable). */
  readonly rawHeaders: readonly string[];
  readonly remoteAddress: string;
}

/** Which side of the route serves the request. */
export type Side = 'to' | 'legacy';

export type Decision =
  | { readonly kind: 'bad'; readonly status: 400 }
  | { readonly kind: 'redirect'; readonly route: Route; readonly parsed: ParsedTargetOk; readonly location: string }
  | {
    readonly kind: 'proxy';
    readonly route: Route;
    readonly parsed: ParsedTargetOk;
    readonly side: Side;
    /** The upstream block the request goes to: "legacy", "functions" or an upstream's name. */
    readonly upstream: string;
    /** The request target sent upstream. */
    readonly path: string;
    /** What debug headers and metrics call the target: "legacy" or the route's `to`. */
    readonly target: string;
  };

/** What the state store answers: the percent of the route's traffic sent to `to`. */
export interface PercentSource { effectivePercent(route: Route): number }

export function decideRoute(matcher: RouteMatcher, state: PercentSource, req: RequestFacts): Decision {
  const parsed = parseRequestTarget(req.rawTarget);
  if (!parsed.ok) return { kind: 'bad', status: 400 };
  const found = matcher.match(parsed.uri);
  const route = found.location.route;
  if (found.redirect) {
    const location = escapeUri(found.location.name) + (parsed.args ? '?' + parsed.args : '');
    return { kind: 'redirect', route, parsed, location };
  }
  const side = chooseSide(route, state, req);
  if (side === 'legacy') {
    return { kind: 'proxy', route, parsed, side, upstream: 'legacy', path: proxiedAsReceived(parsed), target: 'legacy' };
  }
  const pass = found.location.pass;
  return { kind: 'proxy', route, parsed, side, upstream: pass.upstream, path: upstreamPath(pass, found.location.name, parsed), target: route.to.text };
}

/** Where the route's `to` side would send this request: for a shadow copy when the user is served by legacy. */
export function toSideTarget(matcher: RouteMatcher, parsed: ParsedTargetOk): { upstream: string; path: string } {
  const location = matcher.match(parsed.uri).location;
  return { upstream: location.pass.upstream, path: upstreamPath(location.pass, location.name, parsed) };
}

function chooseSide(route: Route, state: PercentSource, req: RequestFacts): Side {
  if (route.to.kind === 'legacy') return 'legacy';
  if (route.methods !== null && !route.methods.includes(req.method)) return 'legacy';
  const percent = state.effectivePercent(route);
  if (percent <= 0) return 'legacy';
  if (percent >= 100) return 'to';
  return canarySide(stickyValue(route, req), saltBytes(route), percent);
}

const saltCache = new WeakMap<Route, string>();
/** The salt as nginx.conf holds it: UTF-8 bytes, one char per byte. */
function saltBytes(route: Route): string {
  let s = saltCache.get(route);
  if (s === undefined) saltCache.set(route, s = Buffer.from(route.canary.salt, 'utf8').toString('latin1'));
  return s;
}

/** The sticky key's value as nginx's variable holds it; a missing key gets a random one ($request_id). */
function stickyValue(route: Route, req: RequestFacts): string {
  const sticky = route.canary.sticky;
  let value = '';
  switch (sticky.kind) {
    case 'cookie': value = req.cookie === undefined ? '' : cookieValue(req.cookie, sticky.name); break;
    case 'header': value = headerVariable(req.rawHeaders, sticky.name); break;
    case 'ip': value = remoteAddr(req.remoteAddress); break;
    case 'random': break;
  }
  return value === '' ? randomRequestId() : value;
}

/**
 * nginx's $cookie_NAME (ngx_http_parse_multi_header_lines, 1.22): the name compared without
 * case, spaces allowed around "=", the value runs to the next ";" (commas and trailing spaces
 * included); a pair that does not match is skipped up to the next ";" or ",".
 */
export function cookieValue(header: string, name: string): string {
  const end = header.length;
  let p = 0;
  while (p < end) {
    if (header.slice(p, p + name.length).toLowerCase() === name.toLowerCase()) {
      let q = p + name.length;
      while (q < end && header.charCodeAt(q) === 0x20) q++;
      if (q < end && header.charCodeAt(q) === 0x3d) {
        q++;
        while (q < end && header.charCodeAt(q) === 0x20) q++;
        const semi = header.indexOf(';', q);
        return header.slice(q, semi === -1 ? end : semi);
      }
    }
    while (p < end) {
      const c = header.charCodeAt(p++);
      if (c === 0x3b || c === 0x2c) break;
    }
    while (p < end && header.charCodeAt(p) === 0x20) p++;
  }
  return '';
}

/**
 * nginx 1.22's $http_NAME: the header's first line, except Cookie and X-Forwarded-For, whose
 * lines it joins with "; " and ", " (ngx_http_variable_headers).
 */
function headerVariable(raw: readonly string[], name: string): string {
  const lower = name.toLowerCase();
  const separator = lower === 'cookie' ? '; ' : lower === 'x-forwarded-for' ? ', ' : null;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length !== name.length || raw[i].toLowerCase() !== lower) continue;
    if (separator === null) return raw[i + 1];
    value = value === undefined ? raw[i + 1] : value + separator + raw[i + 1];
  }
  return value ?? '';
}

/** $remote_addr: an IPv4 client on a dual-stack socket is shown by Node as ::ffff:a.b.c.d. */
export function remoteAddr(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function randomRequestId(): string {
  return Math.random().toString(16).slice(2) + Math.random().toString(16).slice(2);
}

/**
 * The request target proxy_pass sends: as received; with the URI part replacing the matched
 * location name (the whole path in an exact location); or, in a regex location, base + $uri.
 */
function upstreamPath(pass: ProxyPass, location: string, parsed: ParsedTargetOk): string {
  switch (pass.kind) {
    case 'as_is': return proxiedAsReceived(parsed);
    case 'uri_part': return proxyUpstreamTarget(parsed, { uriPart: pass.uriPart, location });
    case 'rewrite': return upstreamUriAfterRewriteBreak(pass.base + parsed.uri, parsed.args);
  }
}
