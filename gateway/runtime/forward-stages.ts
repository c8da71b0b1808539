// The gateway's request path as a short pipeline of small steps, in the manner of undici's
// handlers or YARP's forwarder: each stage does one job on one request's Forwarding and either
// answers it (returns true: the pipeline stops) or passes it on; `after` steps run once the
// request is over, whatever happened. A new step (a shadow copy, a rollout sample) is one more
// function in STAGES or AFTER; the others do not change.
//
//   refuse -> decide -> refuseUnknownHost -> limitBody -> redirect -> readBody -> shadowCopy -> attemptTarget -> fallbackToLegacy -> answerFailure
//   after: record, sampleRollout, logAccess, releaseRequestBody
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { errorBody, REFUSAL_CODES, upstreamFailureBody } from '../http-answers';
import { handedToGateway } from '../manifest/location-plan';
import { IDEMPOTENT_METHODS, requestBuffering, type Route, type RouteTable } from '../manifest/route-table';
import { replyJson } from '../util/json-reply';
import type { AccessLog } from './access-log';
import { decideRoute, type Decision, type PercentSource, type RequestFacts } from './decide-route';
import { attempt, type AttemptResult, type ResponseTap } from './forward';
import type { ClientAddress, ClientAddressOf } from './client-address';
import type { FailureKind, GatewayMetrics } from './gateway-metrics';
import { proxiedAsReceived } from './nginx-uri';
import { nginxHost, requestIdOf, upstreamHost, upstreamRequestHeaders } from './proxy-headers';
import { bodySource, bufferBody, closeBodySource, DEFAULT_BODY_TEMP_PATH, releaseBody, type BufferedBody } from './buffer-body';
import { BodyTimeout, BodyTooLarge, bodyLength, discardRest, relayBody } from './request-body';
import { refusal } from './request-limits';
import type { RouteMatcher } from './route-matcher';
import type { ServerNameMatcher } from './server-names';
import { shadowCopy, type ShadowCopies } from './shadow-copy';
import type { ServerPool, UpstreamPools } from './upstream-pools';

/** What every stage may use: the current table (swapped on reload) and the shared services. */
export interface GatewayContext {
  table: RouteTable;
  matcher: RouteMatcher;
  /** The client's address behind gateway.trusted_proxies (client-address.ts); swapped with the table. */
  clientAddress: ClientAddressOf;
  /** The table's server_name, for `default_server: refuse`. */
  servesName: ServerNameMatcher;
  /** The listener's scheme: https with gateway.tls (fixed at start). */
  readonly scheme: 'http' | 'https';
  readonly state: PercentSource;
  readonly pools: UpstreamPools;
  readonly metrics: GatewayMetrics;
  readonly shadow: ShadowCopies;
  readonly log: (line: string) => void;
  /** One line per request in nginx's log format; null: gateway.access_log is off. */
  readonly accessLog: AccessLog | null;
}

type Routed = Exclude<Decision, { kind: 'bad' }>;
type Proxied = Extract<Decision, { kind: 'proxy' }>;

/** One request on its way through the stages. One object per request, fields set as stages learn them. */
export class Forwarding {
  readonly started = performance.now();
  /** What the client's socket had taken before this request (earlier answers on a keep-alive connection): the access log's size of a chunked body. */
  readonly sentBefore: number;
  /** Set by decide. */
  decision: Routed | null = null;
  /** Who the client is (behind a trusted proxy, the address it forwarded); set by decide. */
  client: ClientAddress | null = null;
  /** nginx's $host; undefined without a Host header. */
  host: string | undefined = undefined;
  /** Content-Length; null: chunked. */
  length: number | null = 0;
  /** The body as sent upstream: held in memory (replayable, small) or streamed. */
  body: Buffer | Readable | null = null;
  /** The whole body, read before the upstream request (proxy_request_buffering on). */
  buffered: BufferedBody | null = null;
  /** The body is held and the route's fallback may send it to legacy again. */
  replayable = false;
  /** The request headers sent upstream (readRequestBody). */
  headers: string[] = NO_HEADERS;
  /** X-Request-Id as sent upstream and logged (the client's, or a new one); see requestId. */
  private id: string | null = null;
  /** Who served it, for metrics and logs: null until decide found a route. */
  route: string | null = null;
  target = 'legacy';
  /** A status for a request closed without an answer (408: client_body_timeout, as nginx logs it); else 499. */
  closedWith = 499;
  /** The last attempt's failure, for the fallback's log line and answerFailure. */
  failure: { status: number; kind: FailureKind; message: string } | null = null;
  /** Watches the answer the user gets from the decided side (a shadow copy compares it). */
  tap: ResponseTap | null = null;
  /** When the request was over, for every after step alike; 0 until one asks. */
  private ended = 0;

  constructor(readonly ctx: GatewayContext, readonly req: IncomingMessage, readonly res: ServerResponse) {
    this.sentBefore = req.socket.bytesWritten ?? 0;
  }

  /** The decision as a proxy decision: what it is once redirect has passed the request on. */
  get proxied(): Proxied {
    return this.decision as Proxied;
  }

  /** The client as decide resolved it; resolved here for a request refused before decide. */
  clientAddress(): ClientAddress {
    return this.client ??= this.ctx.clientAddress(this.req.socket.remoteAddress ?? '', this.req.rawHeaders);
  }

  /** The body for one upstream attempt: a buffered body is read afresh each time, so any attempt can replay it. */
  attemptBody(): Buffer | Readable | null {
    return this.buffered !== null ? bodySource(this.buffered) : this.body;
  }

  debugHeaders(target: string): OutgoingHttpHeaders | null {
    return debugHeaders(this.ctx.table, this.clientAddress(), this.route ?? UNROUTED.route, target);
  }

  /** The status nginx logs: 499 when the client went away before an answer started (408 for a body that stalled). */
  get status(): number {
    return this.res.headersSent ? this.res.statusCode : this.closedWith;
  }

  /** X-Request-Id as sent upstream and logged: the client's, or a new one (made when first asked for). */
  get requestId(): string {
    if (this.id === null) this.id = requestIdOf(this.req.rawHeaders);
    return this.id;
  }

  /** Seconds from the request's start to its end (fixed when first read). */
  get seconds(): number {
    if (this.ended === 0) this.ended = performance.now();
    return (this.ended - this.started) / 1000;
  }
}

/**
 * A step of the request path: true when it answered the request and the pipeline stops. A stage
 * that did not wait returns a plain boolean, and the next one runs in the same tick: no promise
 * per stage on the hot path, and a streamed body reaches undici before it starts flowing.
 */
export type Stage = (f: Forwarding) => boolean | Promise<boolean>;
/** A stage that never waits. */
type Check = (f: Forwarding) => boolean;
/** A step run once the request is over, answered or not. */
export type AfterStep = (f: Forwarding) => void;

/** Until readRequestBody computes them: shared, so an early answer allocates nothing here. */
const NO_HEADERS: string[] = [];
/** Without request buffering: the largest body kept in memory for a fallback replay; larger or chunked bodies stream and are not replayed. */
export const REPLAY_BUFFER_LIMIT = 16 * 1024 * 1024;
const IDEMPOTENT = new Set(IDEMPOTENT_METHODS);
const CLOSE = { close: true };
/** The debug headers nginx adds before a location's `set` ran (auto-redirect, 413). */
const UNROUTED = { route: 'default', target: 'legacy' };

/** What decideRoute needs to know of a request; the client's address as client-address.ts resolved it. */
export function requestFacts(req: IncomingMessage, client: ClientAddress): RequestFacts {
  return { method: req.method!, rawTarget: req.url!, cookie: req.headers.cookie, rawHeaders: req.rawHeaders, remoteAddress: client.address };
}

/**
 * With debug_headers, X-Strangler-Route and X-Strangler-Target, as nginx adds them. Without,
 * X-Strangler-Target alone and only to the nginx in front (a trusted peer), which logs who
 * answered a route it handed here and hides the header from its client; a client that reaches
 * the gateway directly is not told.
 */
export function debugHeaders(table: RouteTable, client: ClientAddress, route: string, target: string): OutgoingHttpHeaders | null {
  if (table.debug_headers) return { 'x-strangler-route': route, 'x-strangler-target': target };
  return client.viaTrustedProxy ? { 'x-strangler-target': target } : null;
}

/** nginx answers these from the location's config before its `set`s ran; a dynamic route's location has no add_header. */
function unroutedDebugHeaders(f: Forwarding, route: Route): OutgoingHttpHeaders | null {
  return handedToGateway(route) ? null : debugHeaders(f.ctx.table, f.clientAddress(), UNROUTED.route, UNROUTED.target);
}

/** `failure` says what went wrong: refused, reset, timeout, connect_timeout, unsendable (the gateway could not send it), or status (a 502/503/504 answer). */
export function failureBody(status: number, route: Route, target: string, failure: FailureKind) {
  return { ...upstreamFailureBody(status, route.id, target), failure };
}

/**
 * The request headers proxy_set_header sends: Host is nginx's $host (without a Host header, the
 * server_name) plus the client's non-default port; X-Forwarded-Proto is the listener's scheme; X-Request-Id is requestId.
 * From a trusted proxy, its X-Real-IP and X-Forwarded-* go on as received (proxy-headers.ts).
 */
export function forwardHeaders(ctx: GatewayContext, req: IncomingMessage, host: string | undefined, client: ClientAddress, requestId: string): string[] {
  const upstream = upstreamHost(host ?? ctx.table.server_name.split(' ')[0], req.headers.host, ctx.scheme);
  return upstreamRequestHeaders(req.rawHeaders, req.headers.connection, {
    host: upstream, remoteAddress: client.address, viaTrustedProxy: client.viaTrustedProxy, scheme: ctx.scheme, requestId,
  });
}

/** `default_server: refuse` and a host (nginx's $host, or a TLS client's SNI name) none of server_name names. */
export function unknownHost(ctx: GatewayContext, host: string | undefined): boolean {
  return ctx.table.default_server === 'refuse' && !ctx.servesName(host);
}

// ---------------------------------------------------------------------------------------------
// The stages

/** nginx's checks before it looks at locations. */
const refuse: Check = (f) => {
  const status = refusal(f.req);
  if (status === 0) return false;
  replyJson(f.res, status, errorBody(REFUSAL_CODES[status]), null, CLOSE);
  return true;
};

/** The client's address, the location, the side and the upstream target, as the compiled nginx decides them; and $host. */
const decide: Check = (f) => {
  const client = f.clientAddress();
  const d = decideRoute(f.ctx.matcher, f.ctx.state, requestFacts(f.req, client));
  if (d.kind === 'bad') {
    replyJson(f.res, 400, errorBody('bad_request'), null, CLOSE);
    return true;
  }
  const host = nginxHost(f.req.headers.host, d.parsed.host);
  if (host === null) {
    replyJson(f.res, 400, errorBody('bad_request', { detail: 'invalid Host header' }), null, CLOSE);
    return true;
  }
  f.decision = d;
  f.client = client;
  f.host = host;
  f.route = d.route.id;
  f.target = d.kind === 'proxy' ? d.target : 'legacy';
  return false;
};

/** nginx's refusing default server: `return 444` closes the connection without an answer. */
const refuseUnknownHost: Check = (f) => {
  if (!unknownHost(f.ctx, f.host)) return false;
  f.route = null; // nginx's default server answered it, not a route: nothing recorded
  f.req.socket.destroy();
  return true;
};

/** nginx's 413: from the location's config, before the route's `set`s ran. */
function tooLarge(f: Forwarding, route: Route): true {
  replyJson(f.res, 413, errorBody('body_too_large', { route: route.id, limit: route.body.max_size.text }), unroutedDebugHeaders(f, route), CLOSE);
  return true;
}

/** A declared body over the route's max_size is refused before anything else happens. */
const limitBody: Check = (f) => {
  const route = f.decision!.route;
  const limit = route.body.max_size.bytes;
  f.length = bodyLength(f.req);
  return limit > 0 && f.length !== null && f.length > limit ? tooLarge(f, route) : false;
};

/** nginx's auto_redirect: 301 to the location's name. */
const redirect: Check = (f) => {
  const d = f.decision!;
  if (d.kind !== 'redirect') return false;
  const req = f.req;
  const scheme = f.ctx.scheme;
  const port = (req.socket.localPort ?? 80) === (scheme === 'https' ? 443 : 80) ? '' : `:${req.socket.localPort}`;
  const location = `${scheme}://${f.host ?? localHost(req)}${port}${d.location}`;
  // With its length, as nginx sends it: writeHead fixes the head, so end() alone would send the page chunked.
  const page = Buffer.from(`<html><head><title>301 Moved Permanently</title></head><body>Moved to ${location}</body></html>\n`, 'latin1');
  f.res.writeHead(301, { location, 'content-type': 'text/html', 'content-length': page.length, ...unroutedDebugHeaders(f, d.route) });
  f.res.end(page);
  return true;
};

function bodyFailed(f: Forwarding, err: Error): true {
  const res = f.res;
  if (res.headersSent || res.destroyed) res.destroy();
  else if (err instanceof BodyTooLarge) tooLarge(f, f.proxied.route);
  else {
    // The client aborted, stalled past client_body_timeout or sent a bad body: nginx closes too.
    if (err instanceof BodyTimeout) f.closedWith = 408;
    res.destroy();
  }
  return true;
}

/**
 * proxy_request_buffering on (the default): the whole body is read, in memory up to body.buffer and
 * then in a temp file, before any upstream sees the request; the fallback can replay it from there.
 * With buffering off (`body: { buffering: false }`, or an unlimited max_size), as nginx's
 * client_body_buffer_size: a small body of known length is read into memory and sent in one
 * write; a larger one streams. A streamed body the fallback may send twice is held in memory,
 * so only a known, bounded one.
 */
const readRequestBody: Stage = (f) => {
  const d = f.proxied;
  const route = d.route;
  const fallback = d.side === 'to' ? route.fallback : null;
  const length = f.length;
  const buffering = requestBuffering(route.body);
  f.replayable = fallback !== null && (IDEMPOTENT.has(f.req.method!) || fallback.non_idempotent) && (buffering || (length !== null && length <= REPLAY_BUFFER_LIMIT));
  f.headers = forwardHeaders(f.ctx, f.req, f.host, f.clientAddress(), f.requestId);
  if (length === 0) return false;
  const limit = route.body.max_size.bytes;
  const idleMs = route.timeouts.client_body_timeout.ms;
  const small = length !== null && length <= route.body.buffer.bytes;
  if (!buffering && !f.replayable && !small) {
    // Synchronously on to attemptTarget: the stream starts flowing on the next tick, and undici
    // must be its reader (and error listener) by then.
    f.body = relayBody(f.req, limit, idleMs);
    return false;
  }
  // Held whole: with buffering, in memory up to body.buffer and then in a temp file; without, a
  // known and bounded body (small, or one the fallback may replay) in memory.
  const memory = buffering ? route.body.buffer.bytes : Number.POSITIVE_INFINITY;
  const dir = f.ctx.table.gateway.body_temp_path ?? DEFAULT_BODY_TEMP_PATH;
  return bufferBody(f.req, { memory, max: limit, idleMs, dir }).then((body) => {
    f.buffered = body;
    // A chunked body goes upstream with its length, as nginx sends a buffered one.
    if (length === null) f.headers.push('content-length', String(body.kind === 'memory' ? body.data.length : body.size));
    return false;
  }, (err: Error) => bodyFailed(f, err));
};

/** Tries the upstream's servers in turn while nothing was sent, as proxy_next_upstream does. */
function attemptUpstream(f: Forwarding, upstream: string, path: string, intercept: boolean, debug: OutgoingHttpHeaders | null, tap: ResponseTap | null = null): Promise<AttemptResult> {
  const route = f.proxied.route;
  const servers = f.ctx.pools.serversFor(upstream, route.timeouts.connect.ms);
  const attemptOn = (server: ServerPool) => {
    const body = f.attemptBody();
    const result = attempt({
      server, method: f.req.method!, path, headers: f.headers, body, readMs: route.timeouts.read.ms, sendMs: route.timeouts.send_timeout.ms, intercept, res: f.res, debug, tap,
    });
    // A temp file's reader undici never read to its end (a refused connect, a server at
    // max_conns) would keep the deleted file's descriptor open.
    return f.buffered?.kind === 'file' ? result.then((r) => (closeBodySource(body), r)) : result;
  };
  // One server, the usual upstream: nothing to try next, and one promise hop less per request.
  return servers.length === 1 ? attemptOn(servers[0]) : attemptInTurn(f, upstream, servers, attemptOn);
}

async function attemptInTurn(f: Forwarding, upstream: string, servers: readonly ServerPool[], attemptOn: (server: ServerPool) => Promise<AttemptResult>): Promise<AttemptResult> {
  let result: AttemptResult = { kind: 'failed', failure: { kind: 'refused', status: 502, nothingSent: true, message: `no servers in upstream ${upstream}` } };
  for (const server of servers) {
    result = await attemptOn(server);
    const retry = result.kind === 'failed' && result.failure.nothingSent && !(f.body instanceof Readable);
    if (!retry) break;
  }
  return result;
}

/** The decided side; a failure (or a 502/503/504 intercepted for the fallback) goes on to the next stages. */
const attemptTarget: Stage = async (f) => {
  const d = f.proxied;
  const intercept = d.side === 'to' && d.route.fallback !== null;
  const first = await attemptUpstream(f, d.upstream, d.path, intercept, f.debugHeaders(d.target), f.tap);
  if (first.kind === 'responded' || first.kind === 'client_gone') return true;
  if (f.body instanceof Readable && f.body.errored) return bodyFailed(f, f.body.errored);
  // 504 stays a timeout; an intercepted 502/503 is a 502.
  const status = first.kind === 'failed' ? first.failure.status : first.status === 504 ? 504 : 502;
  const kind: FailureKind = first.kind === 'failed' ? first.failure.kind : 'status';
  f.failure = { status, kind, message: first.kind === 'failed' ? first.failure.message : `answered ${first.status}` };
  f.ctx.metrics.upstreamError(d.route.id, d.target, kind);
  // Still receiving a streamed body: keep reading it so the answer is not lost to a reset.
  if (f.body instanceof Readable) discardRest(f.req);
  return false;
};

/**
 * The route's fallback: the same request to legacy, when its body is held. Not replayed: no
 * fallback, a non-idempotent method the route did not opt in, or a streamed body that is gone.
 */
const fallbackToLegacy: Stage = async (f) => {
  if (!f.replayable) return false;
  const d = f.proxied;
  f.ctx.metrics.fallback(d.route.id, f.failure!.kind);
  f.target = 'legacy';
  f.ctx.log(`gateway: ${d.route.id}: ${d.target} failed (${f.failure!.message}), served by legacy`);
  const second = await attemptUpstream(f, 'legacy', proxiedAsReceived(d.parsed), false, f.debugHeaders('legacy'));
  if (second.kind !== 'failed') return true;
  f.failure = second.failure;
  return false;
};

/** 502/504 with a short JSON body naming the route, the target that failed and how. */
const answerFailure: Stage = (f) => {
  const { status, kind } = f.failure!;
  replyJson(f.res, status, failureBody(status, f.proxied.route, f.target, kind), f.debugHeaders(f.target));
  return true;
};

/** The route's metrics. */
const record: AfterStep = (f) => {
  if (f.route === null) return; // refused before routing: nginx logs no route either
  f.ctx.metrics.request(f.route, f.target, f.status, f.seconds);
};

/** A rolled-out route's counts by side (rollout-window.ts): a function failure a fallback rescued still counts against the function. */
const sampleRollout: AfterStep = (f) => {
  const d = f.decision;
  if (f.route === null || d === null || d.kind !== 'proxy' || d.route.canary.rollout === null) return;
  const status = f.status;
  if (status === 499 || status === 408) return; // the client left: says nothing about either side
  f.ctx.metrics.rollout.record(d.route.id, d.side, status, (d.side === 'to' && f.failure !== null) || status >= 500, f.seconds);
};

/** The access log's line, in nginx's format, when gateway.access_log is not off. */
const logAccess: AfterStep = (f) => {
  if (f.route === null || f.ctx.accessLog === null) return;
  f.ctx.accessLog.record(f.req, f.res, f.clientAddress().address, f.route, f.target, f.status, f.seconds, f.requestId, f.sentBefore);
};

/**
 * What nginx answers before any upstream is tried: the request-line and header checks, the
 * location, the refusing default server, a declared body over max_size, auto-redirect. Each is
 * synchronous; an upgrade request runs them too (answeredByChecks) before its own path.
 */
const CHECKS: readonly Check[] = [refuse, decide, refuseUnknownHost, limitBody, redirect];

export const STAGES: readonly Stage[] = [...CHECKS, readRequestBody, shadowCopy, attemptTarget, fallbackToLegacy, answerFailure];

/** Runs CHECKS alone: true when one of them answered (or closed) the request. */
export function answeredByChecks(f: Forwarding): boolean {
  for (const check of CHECKS) if (check(f)) return true;
  return false;
}
/** The temp file of a buffered body goes once the request is over, whatever happened. */
const releaseRequestBody: AfterStep = (f) => {
  releaseBody(f.buffered);
};

// releaseRequestBody last: the temp file must outlive every step that may still read the body.
export const AFTER: readonly AfterStep[] = [record, sampleRollout, logAccess, releaseRequestBody];

/** Runs one request through the stages, then the after steps. */
export async function forward(f: Forwarding, stages: readonly Stage[] = STAGES, after: readonly AfterStep[] = AFTER): Promise<void> {
  try {
    for (let i = 0; i < stages.length; i++) {
      const answered = stages[i](f);
      if (answered === true || (answered !== false && await answered)) return;
    }
  } finally {
    for (let i = 0; i < after.length; i++) after[i](f);
  }
}

export function localHost(req: IncomingMessage): string {
  const a = req.socket.localAddress ?? '127.0.0.1';
  return a.startsWith('::ffff:') ? a.slice(7) : a.includes(':') ? `[${a}]` : a;
}
