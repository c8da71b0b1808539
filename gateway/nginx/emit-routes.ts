// RouteTable -> the http-context directives of the strangler config: upstreams, canary maps,
// and the routing server whose locations implement the README's routing semantics (its
// listeners, TLS and the servers around it are emit-edge.ts's).
//
// Shape of a route's location (why each part is there):
// - `set $strangler_route/$strangler_target`: the log line and debug headers say who served it.
// - methods or a canary split can send a request to legacy instead: `return 597` jumps, through
//   `error_page 597 = @strangler_legacy_N`, to a named location, because proxy_pass with a URI
//   part (how function paths are rewritten) is not allowed inside `if`, and the legacy side must
//   not inherit the function side's proxy_intercept_errors.
// - fallback: the function's 502/503/504 (or nginx's own on error/timeout) are intercepted and
//   served by @strangler_fallback_N, which replays idempotent requests to legacy only.
// Variables and named locations are numbered by route position: ids never reach variable names.
import { d, entry, literal, type Directive } from './directive';
import { edgeHeaders, emitEdgeHttp, emitEdgeServers, forwardedFor, serverAddress, UPSTREAM_HOST } from './emit-edge';
import { LOG_FORMAT_NAME, nginxLogFormat, nginxLogMaps, TARGET_HEADER } from './log-format';
import { IDEMPOTENT_METHODS, requestBuffering, SHADOW_HEADER, type Body, type Buffers, type Route, type RouteTable, type StickyKey, type Timeouts } from '../manifest/route-table';
import { formatPercent } from '../manifest/percent';
import { upstreamFailureBody } from '../http-answers';
import { handedToGateway, locationPlan, type Location, type ProxyPass } from '../manifest/location-plan';

export const UPSTREAM_PREFIX = 'strangler_';
export const GATEWAY_UPSTREAM = 'strangler_gateway';
export const GATEWAY_MAX_FAILS = 3;
export const GATEWAY_FAIL_TIMEOUT = '10s';
/** $strangler_target of a location handed to the gateway, until the gateway's answer names who served it. */
const DYNAMIC_TARGET = 'gateway';
/**
 * The internal status that jumps to a route's legacy named location. Not 418: with
 * proxy_intercept_errors on, a function answering the jump status would be sent to legacy too,
 * and no real upstream answers 597.
 */
const TO_LEGACY_STATUS = 597;

export interface EmitOptions {
  /** Where the access log goes; null: inherit the surrounding config's access_log. */
  accessLog: string | null;
}

export function upstreamName(name: string): string {
  return UPSTREAM_PREFIX + literal(name);
}

export function emitHttpContext(table: RouteTable, opts: EmitOptions): Directive[] {
  return [
    ...emitLogFormat(),
    ...emitEdgeHttp(table),
    // WebSocket upgrades pass through; every other request keeps the upstream connection alive.
    d('map', ['$http_upgrade', '$strangler_connection'], [entry('default', 'upgrade'), entry('', '')]),
    ...emitUpstreams(table),
    ...table.routes.flatMap(emitCanaryMaps),
    ...emitServer(table, opts),
  ];
}

function emitLogFormat(): Directive[] {
  // A route handed to the gateway logs who answered it (the gateway's target header); any other
  // location logs its own $strangler_target. The key pairs both, so only a gateway answer counts.
  const header = `$upstream_http_${TARGET_HEADER.toLowerCase().replace(/-/g, '_')}`;
  return [
    d('log_format', [LOG_FORMAT_NAME, 'escape=json', nginxLogFormat()]),
    ...nginxLogMaps(),
    d('map', [`$strangler_target:${header}`, '$strangler_served_by'], [
      entry(`~^${DYNAMIC_TARGET}:(?<strangler_answered>.+)$`, '$strangler_answered'),
      entry('default', '$strangler_target'),
    ]),
  ];
}

function emitUpstreams(table: RouteTable): Directive[] {
  const out: Directive[] = [];
  for (const up of table.upstreams.values()) {
    const limit = up.max_conns > 0 ? [`max_conns=${up.max_conns}`] : [];
    const block = up.servers.map((s) => d('server', [serverAddress(s.host, s.port), ...limit]));
    // Without a shared zone, max_conns would hold per worker: the zone makes it one cap.
    if (up.max_conns > 0) block.unshift(d('zone', [upstreamName(up.name), '64k']));
    if (up.keepalive > 0) block.push(d('keepalive', [up.keepalive]), d('keepalive_requests', [10000]), d('keepalive_timeout', ['60s']));
    out.push(d('upstream', [upstreamName(up.name)], block));
  }
  if (table.routes.some(handedToGateway)) {
    // gateway.servers: every instance sharing the state. Passive health checks: an instance that
    // fails GATEWAY_MAX_FAILS times within GATEWAY_FAIL_TIMEOUT is skipped for that long, and a
    // request it refused goes to the next one (proxy_next_upstream's default: error timeout).
    // Legacy's servers as backup: when no gateway answers, nginx serves the dynamic routes from
    // legacy rather than 502 (the gateway, when up, decides the side itself).
    const servers = table.gateway.servers.map((s) => d('server', [serverAddress(s.host, s.port), `max_fails=${GATEWAY_MAX_FAILS}`, `fail_timeout=${GATEWAY_FAIL_TIMEOUT}`]));
    const legacy = table.upstreams.get('legacy')?.servers ?? [];
    out.push(d('upstream', [GATEWAY_UPSTREAM], [
      ...servers,
      ...legacy.map((s) => d('server', [serverAddress(s.host, s.port), 'backup'])),
      d('keepalive', [64]),
    ]));
  }
  return out;
}

/** The canary's key: nginx variable holding the sticky value, or a per-request random id. */
function stickyVariable(s: StickyKey): string {
  switch (s.kind) {
    case 'cookie': return `\${cookie_${literal(s.name)}}`;
    case 'header': return `\${http_${literal(s.name).toLowerCase().replace(/-/g, '_')}}`;
    // Braced: a salt that starts with a letter must not extend the variable's name.
    case 'ip': return '${remote_addr}';
    case 'random': return '${request_id}';
  }
}

export function hasSplit(route: Route): boolean {
  return !handedToGateway(route) && route.to.kind !== 'legacy' && route.canary.percent > 0 && route.canary.percent < 100;
}

/** split_clients refuses 0% parts, so only a real split (0 < percent < 100) gets one. */
function emitCanaryMaps(route: Route): Directive[] {
  if (!hasSplit(route)) return [];
  const n = route.index;
  const { sticky, salt, percent } = route.canary;
  const out: Directive[] = [];
  let key = stickyVariable(sticky);
  if (sticky.kind === 'cookie' || sticky.kind === 'header') {
    // A request without the key is bucketed at random, not all into the bucket of "".
    out.push(d('map', [key, `$strangler_key_${n}`], [entry('', '$request_id'), entry('default', key)]));
    key = `\${strangler_key_${n}}`;
  }
  out.push(d('split_clients', [`${key}${literal(salt)}`, `$strangler_canary_${n}`], [
    entry(`${formatPercent(percent)}%`, 'to'),
    entry('*', 'legacy'),
  ]));
  return out;
}

/** The routing server's body; emit-edge.ts puts it into server blocks with their listeners. */
function emitServer(table: RouteTable, opts: EmitOptions): Directive[] {
  const block: Directive[] = [];
  if (opts.accessLog) block.push(d('access_log', [opts.accessLog, LOG_FORMAT_NAME]));
  block.push(
    d('set', ['$strangler_route', 'default']),
    d('set', ['$strangler_target', 'legacy']),
    d('proxy_http_version', ['1.1']),
    d('proxy_set_header', ['Host', UPSTREAM_HOST]),
    d('proxy_set_header', ['Connection', '$strangler_connection']),
    d('proxy_set_header', ['Upgrade', '$http_upgrade']),
    d('proxy_set_header', ['X-Real-IP', '$remote_addr']),
    d('proxy_set_header', ['X-Forwarded-For', forwardedFor(table)]),
    d('proxy_set_header', ['X-Forwarded-Proto', '$scheme']),
    d('proxy_set_header', ['X-Forwarded-Host', UPSTREAM_HOST]),
    d('proxy_set_header', ['X-Request-Id', '$strangler_request_id']),
    // An empty value: nginx does not send it. Only the gateway's shadow copies carry it.
    d('proxy_set_header', [SHADOW_HEADER, '']),
    d('proxy_next_upstream', ['error', 'timeout']),
    // The gateway never spools a response to disk (it relays with backpressure); nor does nginx, so
    // clients that do not read cannot fill the disk with proxy_temp files.
    d('proxy_max_temp_file_size', ['0']),
    ...tuning(table.defaults, null),
  );
  for (const location of locationPlan(table)) block.push(d('location', locationArgs(location), routeBody(table, location)));
  for (const route of table.routes) block.push(...routeNamedLocations(table, route));
  return emitEdgeServers(table, block, opts.accessLog);
}

/** Timeouts, buffers and body limits; with a base, only what differs from it. */
function tuning(s: { timeouts: Timeouts; buffers: Buffers; body: Body }, base: { timeouts: Timeouts; buffers: Buffers; body: Body } | null): Directive[] {
  const out: Directive[] = [];
  const changed = (a: { text: string }, b: { text: string } | undefined) => !b || a.text !== b.text;
  if (changed(s.timeouts.connect, base?.timeouts.connect)) out.push(d('proxy_connect_timeout', [s.timeouts.connect.text]));
  if (changed(s.timeouts.send, base?.timeouts.send)) out.push(d('proxy_send_timeout', [s.timeouts.send.text]));
  if (changed(s.timeouts.read, base?.timeouts.read)) out.push(d('proxy_read_timeout', [s.timeouts.read.text]));
  if (changed(s.buffers.size, base?.buffers.size)) out.push(d('proxy_buffer_size', [s.buffers.size.text]));
  if (!base || s.buffers.count !== base.buffers.count || s.buffers.each.text !== base.buffers.each.text) {
    out.push(d('proxy_buffers', [s.buffers.count, s.buffers.each.text]));
  }
  if (changed(s.buffers.busy, base?.buffers.busy)) out.push(d('proxy_busy_buffers_size', [s.buffers.busy.text]));
  if (changed(s.body.max_size, base?.body.max_size)) out.push(d('client_max_body_size', [s.body.max_size.text]));
  if (changed(s.body.buffer, base?.body.buffer)) out.push(d('client_body_buffer_size', [s.body.buffer.text]));
  if (changed(s.timeouts.client_body_timeout, base?.timeouts.client_body_timeout)) out.push(d('client_body_timeout', [s.timeouts.client_body_timeout.text]));
  if (changed(s.timeouts.send_timeout, base?.timeouts.send_timeout)) out.push(d('send_timeout', [s.timeouts.send_timeout.text]));
  const buffering = requestBuffering(s.body);
  if (!base || buffering !== requestBuffering(base.body)) out.push(d('proxy_request_buffering', [buffering ? 'on' : 'off']));
  return out;
}

/** `= P`, `P` or `~ P`: the location plan decides which. */
function locationArgs(location: Location): string[] {
  switch (location.kind) {
    case 'exact': return ['=', location.name];
    case 'prefix': return [location.name];
    case 'regex': return ['~', location.name];
  }
}

function debugHeaders(table: RouteTable): Directive[] {
  if (!table.debug_headers) return [];
  return [
    d('add_header', ['X-Strangler-Route', '$strangler_route', 'always']),
    d('add_header', ['X-Strangler-Target', '$strangler_target', 'always']),
    // A location with add_header of its own inherits none of the server's.
    ...edgeHeaders(table),
  ];
}

function routeBody(table: RouteTable, location: Location): Directive[] {
  const route = location.route;
  const n = route.index;
  const overrides = tuning(route, table.defaults);
  const head = [d('set', ['$strangler_route', literal(route.id)])];

  if (handedToGateway(route)) {
    // The gateway adds its own debug headers: nginx adds none here. Without debug_headers the
    // gateway still sends nginx its target header, for the log; the client does not see it.
    const hide = table.debug_headers ? [] : [d('proxy_hide_header', [TARGET_HEADER])];
    return [...head, d('set', ['$strangler_target', DYNAMIC_TARGET]), ...overrides, ...hide, d('proxy_pass', [`http://${GATEWAY_UPSTREAM}`])];
  }
  if (route.to.kind === 'legacy' || route.canary.percent === 0) {
    return [...head, d('set', ['$strangler_target', 'legacy']), ...overrides, ...debugHeaders(table), d('proxy_pass', [`http://${upstreamName('legacy')}`])];
  }

  const body: Directive[] = [...head, d('set', ['$strangler_target', literal(route.to.text)]), ...overrides, ...debugHeaders(table)];
  const toLegacy: Directive[] = [];
  if (route.methods) toLegacy.push(d('if', ['(', '$request_method', '!~', `^(${route.methods.map(literal).join('|')})$`, ')'], [d('return', [TO_LEGACY_STATUS])]));
  if (hasSplit(route)) toLegacy.push(d('if', ['(', `$strangler_canary_${n}`, '=', 'legacy', ')'], [d('return', [TO_LEGACY_STATUS])]));
  if (toLegacy.length) body.push(d('error_page', [TO_LEGACY_STATUS, '=', `@strangler_legacy_${n}`]), ...toLegacy);

  body.push(...proxyToTarget(location.pass));
  if (route.fallback) {
    body.push(
      d('proxy_intercept_errors', ['on']),
      d('error_page', [502, 503, '=', `@strangler_fallback_${n}`]),
      d('error_page', [504, '=', `@strangler_fallback_timeout_${n}`]),
    );
  }
  return body;
}

/** Named locations live at server level, after the route's own locations. */
export function routeNamedLocations(table: RouteTable, route: Route): Directive[] {
  if (handedToGateway(route) || route.to.kind === 'legacy' || route.canary.percent === 0) return [];
  const n = route.index;
  const overrides = tuning(route, table.defaults);
  const legacyBody = (extra: Directive[]) => [
    d('set', ['$strangler_target', 'legacy']),
    ...extra,
    ...overrides,
    ...debugHeaders(table),
    d('proxy_pass', [`http://${upstreamName('legacy')}`]),
  ];
  const out: Directive[] = [];
  if (route.methods || hasSplit(route)) out.push(d('location', [`@strangler_legacy_${n}`], legacyBody([])));
  if (route.fallback) {
    const refuse = (status: 502 | 504): Directive[] => route.fallback!.non_idempotent ? [] : [
      d('default_type', ['application/json']),
      d('if', ['(', '$request_method', '!~', `^(${IDEMPOTENT_METHODS.join('|')})$`, ')'], [
        d('set', ['$strangler_target', literal(route.to.text)]),
        d('return', [status, JSON.stringify(upstreamFailureBody(status, literal(route.id), literal(route.to.text)))]),
      ]),
    ];
    out.push(d('location', [`@strangler_fallback_${n}`], legacyBody(refuse(502))));
    out.push(d('location', [`@strangler_fallback_timeout_${n}`], legacyBody(refuse(504))));
  }
  return out;
}

/**
 * proxy_pass with a URI part replaces the matched location prefix; in an exact location the whole
 * path is replaced. Regex locations cannot have a URI part, so the path is rewritten first.
 */
function proxyToTarget(pass: ProxyPass): Directive[] {
  const up = `http://${upstreamName(pass.upstream)}`;
  switch (pass.kind) {
    case 'as_is': return [d('proxy_pass', [up])];
    case 'uri_part': return [d('proxy_pass', [up + literal(pass.uriPart)])];
    case 'rewrite': return [d('rewrite', ['^', `${literal(pass.base)}$uri`, 'break']), d('proxy_pass', [up])];
  }
}
