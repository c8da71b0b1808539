// The one model both runtimes consume: a manifest, parsed and validated once, becomes a
// deeply frozen RouteTable. The nginx emitter and the Node gateway read only this.

import type { Cidr } from './cidr';

/** A duration or size keeps nginx's spelling (for the emitter) and its value (for the gateway). */
export interface Duration { readonly text: string; readonly ms: number }
export interface Size { readonly text: string; readonly bytes: number }

export interface HostPort { readonly host: string; readonly port: number; readonly text: string }

export interface Upstream {
  readonly name: string;
  readonly servers: readonly HostPort[];
  /** Idle connections kept per server (nginx: per worker); 0: none. */
  readonly keepalive: number;
  /** All connections to each server at once (nginx `server … max_conns=`); 0: unlimited. */
  readonly max_conns: number;
}

export type Target =
  | { readonly kind: 'legacy'; readonly text: 'legacy' }
  | { readonly kind: 'function'; readonly name: string; readonly text: string }
  | { readonly kind: 'async'; readonly name: string; readonly text: string }
  | { readonly kind: 'upstream'; readonly name: string; readonly text: string };

export type Match =
  | { readonly kind: 'exact'; readonly path: string }
  /** `path` as written; a prefix without a trailing slash matches on segment boundaries. */
  | { readonly kind: 'prefix'; readonly path: string }
  | { readonly kind: 'regex'; readonly pattern: string };

export type StickyKey =
  | { readonly kind: 'cookie'; readonly name: string }
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'ip' }
  | { readonly kind: 'random' };

export interface Canary {
  /** Share sent to the route's `to`, 0..100 with at most two decimals. */
  readonly percent: number;
  readonly sticky: StickyKey;
  readonly salt: string;
  /** `canary.rollout`: the gateway moves the percent through the steps itself; null without one. */
  readonly rollout: Rollout | null;
}

/** A progressive rollout's plan and checks (gateway/runtime/rollout-*.ts carries it out). */
export interface Rollout {
  /** Percentages in increasing order, the last 100. */
  readonly steps: readonly number[];
  /** Time at each step before a decision. */
  readonly interval: Duration;
  /** Function-side requests per step before a decision; fewer: hold. */
  readonly min_requests: number;
  /** Percent of function-side requests that may fail (5xx, timeouts, connection failures). */
  readonly max_error_rate: number;
  readonly max_latency_p99: Duration | null;
  /** Function p99 / legacy p99 in the same window. */
  readonly max_latency_ratio: number | null;
  /** Percentage points the function's 4xx rate may exceed legacy's; null: reported only. */
  readonly max_4xx_shift: number | null;
  /** Shadow match rate (percent) required before the first step; null: no gate. */
  readonly min_shadow_match: number | null;
}

export interface Timeouts {
  readonly connect: Duration;
  readonly send: Duration;
  /** proxy_read_timeout; also an upgraded connection's idle time, as nginx applies it to tunnels. */
  readonly read: Duration;
  /** nginx's client_body_timeout: the longest gap between two reads of the request body. */
  readonly client_body_timeout: Duration;
  /** nginx's send_timeout: the longest gap between two writes to a client that does not read. */
  readonly send_timeout: Duration;
}
export interface Buffers { readonly size: Size; readonly count: number; readonly each: Size; readonly busy: Size }
export interface Body {
  readonly max_size: Size;
  readonly buffer: Size;
  /** proxy_request_buffering: the whole body is read (memory, then a temp file) before the upstream request. */
  readonly buffering: boolean;
}

export interface Fallback {
  readonly to: 'legacy';
  /** Replay non-idempotent requests (POST, PATCH…) to legacy too; off unless the route opts in. */
  readonly non_idempotent: boolean;
}

/** `shadow:`: copies of the route's requests go to the side the split did not choose, and the answers are compared. */
export interface Shadow {
  /** Share of eligible requests copied, 0..100 in hundredths. */
  readonly percent: number;
  /** Upper-case methods copied. */
  readonly methods: readonly string[];
  readonly side_effect_free: boolean;
  /** `$.a.b[*].c` or `header:name` (lower case), as written. */
  readonly ignore: readonly string[];
  readonly max_in_flight: number;
  /** Largest request or response body a copy compares (a compressed answer: decoded). */
  readonly max_body: Size;
  /** The copy's whole time, connect to last byte. */
  readonly timeout: Duration;
  /** Percent of copies also sent a second time to legacy to learn its own noise; 0: off. */
  readonly noise_sample: number;
}

/**
 * The header every shadow copy carries (value 1), so an upstream can tell a copy from a user's
 * request. nginx and the gateway drop it from clients' requests: a client cannot pass its request
 * off as a copy.
 */
export const SHADOW_HEADER = 'X-Strangler-Shadow';

/** Methods a shadow copies by default: the safe ones (RFC 9110 §9.2.1) a copy cannot change state with. */
export const SHADOW_SAFE_METHODS: readonly string[] = Object.freeze(['GET', 'HEAD', 'OPTIONS']);

export interface Route {
  readonly id: string;
  /** Position in the manifest; regex routes are tried in this order. */
  readonly index: number;
  readonly match: Match;
  /** Upper-case methods sent to `to`; null means every method. */
  readonly methods: readonly string[] | null;
  readonly to: Target;
  readonly canary: Canary;
  readonly fallback: Fallback | null;
  readonly dynamic: boolean;
  readonly timeouts: Timeouts;
  readonly buffers: Buffers;
  readonly body: Body;
  /** null: not shadowed. */
  readonly shadow: Shadow | null;
}

export interface Listen { readonly host: string | null; readonly port: number; readonly text: string }

/** A certificate and its key: absolute paths, checked to exist, be readable and match. */
export interface TlsFiles { readonly certificate: string; readonly certificate_key: string }

/** The public edge: nginx's HTTPS listener. */
export interface Tls extends TlsFiles {
  readonly listen: Listen;
  readonly http2: boolean;
  /** Plain HTTP answers 301 to https (ACME challenges excepted). */
  readonly redirect_http: boolean;
  /** Strict-Transport-Security max-age. */
  readonly hsts: { readonly text: string; readonly seconds: number } | null;
  readonly session_tickets: boolean;
  /** The certificate names an OCSP responder, so nginx staples its answers (false when the files were not read). */
  readonly ocsp_stapling: boolean;
}

/** An address or CIDR block whose X-Forwarded-For is trusted to name the client. */
/** A top-level trusted_proxies entry (nginx's set_real_ip_from): the one CIDR module's record. */
export type TrustedProxy = Cidr;

export interface RouteTable {
  readonly version: 1;
  /** sha256 of the manifest's bytes. */
  readonly sha256: string;
  readonly listen: Listen;
  /** One or more names separated by single spaces, as nginx's server_name takes them. */
  readonly server_name: string;
  /** refuse: a separate default server closes connections whose Host is none of server_name (444). */
  readonly default_server: 'serve' | 'refuse';
  /** null: plain HTTP only. */
  readonly tls: Tls | null;
  /** tls.acme_webroot: /.well-known/acme-challenge/ is served from here over plain HTTP (also before there is a certificate). */
  readonly acme_webroot: string | null;
  readonly trusted_proxies: readonly TrustedProxy[];
  readonly debug_headers: boolean;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  readonly gateway: GatewaySettings;
  readonly defaults: { readonly timeouts: Timeouts; readonly buffers: Buffers; readonly body: Body };
  /** Manifest order. */
  readonly routes: readonly Route[];
  /** The synthetic route that serves everything no route claims: id "default", to legacy. */
  readonly defaultRoute: Route;
}

export interface GatewaySettings {
  readonly listen: HostPort;
  readonly admin: HostPort;
  /** Extra Host names the admin API answers to (lower case). */
  readonly admin_hosts: readonly string[];
  /** gateway.state as written (a redis:// URL or a file path); null: the file beside the manifest. */
  readonly state: string | null;
  /** Peers whose forwarding headers the gateway believes; default loopback. */
  readonly trusted_proxies: readonly Cidr[];
  /** The instances nginx balances dynamic routes over; default [listen]. */
  readonly servers: readonly HostPort[];
  /** gateway.tls: the gateway's own listener over TLS; null: plain HTTP. */
  readonly tls: TlsFiles | null;
  /** access_log: a path as written (relative to the manifest's directory), 'stdout', 'off', or null for the default file. */
  readonly access_log: string | null;
  /** body_temp_path: where the gateway spools request bodies over body.buffer; null: <os tmpdir>/strangler-body. */
  readonly body_temp_path: string | null;
}

export const DEFAULT_ROUTE_ID = 'default';

/** A match as status and report show it: `/prefix`, `= /exact`, `~ regex`. */
export function matchText(m: Match): string {
  return m.kind === 'regex' ? `~ ${m.pattern}` : m.kind === 'exact' ? `= ${m.path}` : m.path;
}

/** RFC 9110 §9.2.2 idempotent methods: the ones a fallback may replay to legacy. */
export const IDEMPOTENT_METHODS: readonly string[] = Object.freeze(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * proxy_request_buffering: on unless the route opts out, or its body is unlimited (max_size 0),
 * which would let one client spool any amount to a temp file. Both runtimes read this rule.
 */
export function requestBuffering(body: Body): boolean {
  return body.buffering && body.max_size.bytes > 0;
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    if (value instanceof Map) {
      for (const v of value.values()) deepFreeze(v);
      const map = value as unknown as Map<unknown, unknown>;
      // A frozen Map can still be mutated through set/delete: shut those too.
      map.set = map.delete = map.clear = () => { throw new TypeError('RouteTable is immutable'); };
    } else {
      for (const v of Object.values(value as object)) deepFreeze(v);
    }
    Object.freeze(value);
  }
  return value;
}
