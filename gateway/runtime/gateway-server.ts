// The gateway's traffic listener: decide (decide-route.ts), check what nginx checks before
// proxying (Host, request-line and header sizes, body size), forward (forward.ts), and on a
// failed function fall back to legacy as the compiled nginx does. WebSocket upgrades are piped.
import { readFileSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type OutgoingHttpHeaders, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { IDEMPOTENT_METHODS, type Route, type RouteTable, type TlsFiles } from '../manifest/route-table';
import type { AdminGateway } from './admin-api';
import { decideRoute, type Decision, type PercentSource, type RequestFacts } from './decide-route';
import { attempt, upgradeAttempt, type AttemptResult, type UpstreamFailure } from './forward';
import { GatewayMetrics, type FailureKind } from './gateway-metrics';
import { nginxHost, rawResponseHead, upstreamHost, upstreamRequestHeaders } from './proxy-headers';
import { serverNameMatcher, type ServerNameMatcher } from './server-names';
import { BodyTooLarge, bodyLength, discardRest, readBody, relayBody } from './request-body';
import { buildRouteMatcher, type RouteMatcher } from './route-matcher';
import { UpstreamPools } from './upstream-pools';
import { closeGracefully, listen } from '../util/http-server';

export interface GatewayServerOptions {
  table: RouteTable;
  state: PercentSource;
  log?: (line: string) => void;
}

export interface GatewayServer extends AdminGateway {
  readonly server: Server;
  readonly metricsRegistry: GatewayMetrics['registry'];
  listen(host: string, port: number): Promise<void>;
  /** Takes effect on the next request; requests in flight finish on the table they started with. */
  swapTable(table: RouteTable): void;
  /** Stops accepting; requests in flight get `graceMs`, then every connection is cut. */
  close(graceMs: number): Promise<void>;
}

/** nginx's large_client_header_buffers 4 8k: a longer request line is 414, a longer header line 400. */
const HEADER_BUFFER = 8192;
const LARGE_HEADER_BUFFERS = 4;
/** client_header_buffer_size 1k: the head is read here first, and moves to the 8k buffers when full. */
const SMALL_HEADER_BUFFER = 1024;
/** nginx 1.22 answers 400 past 1,000 header lines (measured); Node keeps only about that many. */
const MAX_HEADERS = 1000;
/** Headers nginx 1.22 refuses to see twice (ngx_http_process_unique_header_line, Host). */
const UNIQUE_HEADERS = new Map(['host', 'content-length', 'transfer-encoding', 'authorization', 'expect', 'content-range',
  'if-modified-since', 'if-unmodified-since', 'if-match', 'if-none-match', 'if-range'].map((name, i) => [name, 1 << i] as const));
const REFUSED: Record<number, string> = { 400: 'bad_request', 405: 'method_not_allowed', 414: 'uri_too_long', 501: 'not_implemented', 505: 'http_version_not_supported' };
const IDEMPOTENT = new Set(IDEMPOTENT_METHODS);
/** Largest body kept for a fallback replay; larger or chunked bodies stream and are not replayed. */
export const REPLAY_BUFFER_LIMIT = 16 * 1024 * 1024;

/** The debug headers nginx adds before a location's `set` ran (auto-redirect, 413). */
const UNROUTED = { route: 'default', target: 'legacy' };

export function createGatewayServer(opts: GatewayServerOptions): GatewayServer {
  let table = opts.table;
  let matcher: RouteMatcher = buildRouteMatcher(table);
  const state = opts.state;
  const log = opts.log ?? (() => undefined);
  const pools = new UpstreamPools(table);
  const metrics = new GatewayMetrics();
  const upgraded = new Set<Socket>();

  let servesName: ServerNameMatcher = serverNameMatcher(table.server_name);
  // gateway.tls is read at start; a reload renews the certificate (setSecureContext), but turning
  // TLS on or off needs a restart.
  const tls = table.gateway.tls;
  const scheme = tls ? 'https' : 'http';
  const server = createTrafficServer(tls, {
    maxHeaderSize: 4 * HEADER_BUFFER,
    requireHostHeader: true,
    keepAliveTimeout: 65_000,
    headersTimeout: 60_000,
    // Uploads and slow functions may take long: nginx bounds the gaps between reads, not the total.
    requestTimeout: 0,
  }, (req, res) => {
    handle(req, res).catch((err: Error) => {
      log(`gateway: internal error on ${req.method} ${req.url}: ${err.stack ?? err.message}`);
      if (!res.headersSent) replyJson(res, 500, { error: 'internal_error' }, null, true);
      else res.destroy();
    });
  });
  // nginx's refusing default server rejects handshakes for unknown names (ssl_reject_handshake):
  // a TLS connection whose SNI names none of server_name, or none at all, is closed unanswered.
  if (tls) {
    server.on('secureConnection', (socket: TLSSocket) => {
      const name = typeof socket.servername === 'string' ? socket.servername.toLowerCase() : undefined;
      if (table.default_server === 'refuse' && !servesName(name)) socket.destroy();
    });
  }
  // nginx refuses CONNECT with 400; without a listener Node would drop the connection unanswered.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    endSocketJson(socket, 400, { error: 'bad_request' }, null);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    upgrade(req, socket, head).catch(() => socket.destroy());
  });

  const debugHeaders = (route: string, target: string): OutgoingHttpHeaders | null =>
    table.debug_headers ? { 'x-strangler-route': route, 'x-strangler-target': target } : null;

  /** nginx answers these from the location's config before its `set`s ran; a dynamic route's location has no add_header. */
  const unroutedDebugHeaders = (route: Route): OutgoingHttpHeaders | null => route.dynamic ? null : debugHeaders(UNROUTED.route, UNROUTED.target);

  /** The checks nginx makes before it looks at locations; a status to refuse with, or 0. */
  function refusal(req: IncomingMessage): 400 | 405 | 414 | 501 | 505 | 0 {
    const line = req.method!.length + req.url!.length + 11;
    if (line > HEADER_BUFFER) return 414;
    if (req.httpVersionMajor !== 1) return 505; // Node parses "HTTP/2.0" request lines; nginx does not
    const raw = req.rawHeaders;
    let seen = 0; // one bit per unique header: no allocation on the request path
    // nginx refuses more than about 1,000 header lines; Node would silently keep only the first ~1,000.
    if (raw.length > 2 * MAX_HEADERS) return 400;
    // The head must fit nginx's buffers: 1k first, then at most 4 × 8k, a line never split.
    let used = line;
    let large = line > SMALL_HEADER_BUFFER ? 1 : 0;
    for (let i = 0; i < raw.length; i += 2) {
      const len = raw[i].length + raw[i + 1].length + 4;
      if (len > HEADER_BUFFER) return 400;
      if (large === 0 && used + len <= SMALL_HEADER_BUFFER) used += len;
      else if (large > 0 && used + len <= HEADER_BUFFER) used += len;
      else if (++large > LARGE_HEADER_BUFFERS) return 400;
      else used = len;
      const bit = UNIQUE_HEADERS.get(raw[i].toLowerCase());
      if (bit !== undefined) {
        if (seen & bit) return 400; // "client sent duplicate header line"
        seen |= bit;
      }
    }
    const te = req.headers['transfer-encoding'];
    if (te !== undefined) {
      if (req.httpVersionMinor === 0) return 400;
      if (te.trim().toLowerCase() !== 'chunked') return 501;
    }
    if (req.method === 'TRACE') return 405;
    return 0;
  }

  /** The request headers proxy_set_header sends; without a Host, nginx's $host is the server_name. */
  function forwardHeaders(req: IncomingMessage, host: string | undefined): string[] {
    const named = upstreamHost(host ?? table.server_name.split(' ')[0], req.headers.host, scheme);
    return upstreamRequestHeaders(req.rawHeaders, req.headers.connection, { host: named, remoteAddress: req.socket.remoteAddress ?? '', scheme });
  }

  /** nginx's 413: from the location's config, before the route's `set`s ran. */
  function tooLarge(res: ServerResponse, route: Route): void {
    replyJson(res, 413, { error: 'body_too_large', route: route.id, limit: route.body.max_size.text }, unroutedDebugHeaders(route), true);
  }

  function facts(req: IncomingMessage): RequestFacts {
    return { method: req.method!, rawTarget: req.url!, cookie: req.headers.cookie, rawHeaders: req.rawHeaders, remoteAddress: req.socket.remoteAddress ?? '' };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const refused = refusal(req);
    if (refused) return replyJson(res, refused, { error: REFUSED[refused] }, null, true);
    const d = decideRoute(matcher, state, facts(req));
    if (d.kind === 'bad') return replyJson(res, 400, { error: 'bad_request' }, null, true);
    const host = nginxHost(req.headers.host, d.parsed.host);
    if (host === null) return replyJson(res, 400, { error: 'bad_request', detail: 'invalid Host header' }, null, true);
    // nginx's refusing default server: `return 444` closes the connection without an answer.
    if (table.default_server === 'refuse' && !servesName(host)) return void req.socket.destroy();
    const route = d.route;
    const seen = { route: route.id, target: d.kind === 'proxy' ? d.target : 'legacy' };
    try {
      await serveDecision(req, res, d, host, seen);
    } finally {
      // 499, as nginx logs it: the client went away before an answer started.
      metrics.request(seen.route, seen.target, res.headersSent ? res.statusCode : 499, (performance.now() - started) / 1000);
    }
  }

  async function serveDecision(req: IncomingMessage, res: ServerResponse, d: Exclude<Decision, { kind: 'bad' }>, host: string | undefined,
    seen: { route: string; target: string }): Promise<void> {
    const route = d.route;

    const limit = route.body.max_size.bytes;
    const length = bodyLength(req); // null: chunked
    if (limit > 0 && length !== null && length > limit) return tooLarge(res, route);
    if (d.kind === 'redirect') {
      const port = (req.socket.localPort ?? 80) === (tls ? 443 : 80) ? '' : `:${req.socket.localPort}`;
      const location = `${scheme}://${host ?? localHost(req)}${port}${d.location}`;
      res.writeHead(301, { location, 'content-type': 'text/html', ...unroutedDebugHeaders(route) });
      res.end(`<html><head><title>301 Moved Permanently</title></head><body>Moved to ${location}</body></html>\n`);
      return;
    }

    const fallback = d.side === 'to' ? route.fallback : null;
    // A body the fallback may send twice is held in memory, so only a known, bounded one.
    const replayable = fallback !== null && (IDEMPOTENT.has(req.method!) || fallback.non_idempotent) && length !== null && length <= REPLAY_BUFFER_LIMIT;
    let body: Buffer | Readable | null = null;
    if (length !== 0) {
      // Like nginx's client_body_buffer_size: a small body of known length is read into memory
      // and sent in one write; a larger one streams.
      const small = length !== null && length <= route.body.buffer.bytes;
      try {
        body = replayable || small ? await readBody(req, limit) : relayBody(req, limit);
      } catch (err) {
        return bodyFailed(res, err as Error, route);
      }
    }
    const headers = forwardHeaders(req, host);

    const first = await send(d.upstream, route, req.method!, d.path, headers, body, fallback !== null, res, debugHeaders(route.id, d.target));
    if (first.kind === 'responded' || first.kind === 'client_gone') return;
    if (body instanceof Readable && body.errored) return bodyFailed(res, body.errored, route);

    // A failure, or a 502/503/504 answer intercepted for the fallback (504 stays a timeout).
    const status = first.kind === 'failed' ? first.failure.status : first.status === 504 ? 504 : 502;
    const kind: FailureKind = first.kind === 'failed' ? first.failure.kind : 'status';
    metrics.upstreamError(route.id, d.target, kind);
    // Still receiving a streamed body: keep reading it so the answer is not lost to a reset.
    if (body instanceof Readable) discardRest(req);
    if (!replayable) {
      // No fallback; or nginx's fallback location refuses to replay a non-idempotent request;
      // or the body was streamed and is gone.
      return replyJson(res, status, failureBody(status, route, d.target, kind), debugHeaders(route.id, d.target), false);
    }
    metrics.fallback(route.id, kind);
    seen.target = 'legacy';
    log(`gateway: ${route.id}: ${d.target} failed (${first.kind === 'failed' ? first.failure.message : `answered ${first.status}`}), served by legacy`);
    const second = await send('legacy', route, req.method!, d.parsed.requestUri, headers, body, false, res, debugHeaders(route.id, 'legacy'));
    if (second.kind === 'failed') {
      replyJson(res, second.failure.status, failureBody(second.failure.status, route, 'legacy', second.failure.kind), debugHeaders(route.id, 'legacy'), false);
    }
  }

  /** Tries the upstream's servers in turn while nothing was sent, as proxy_next_upstream does. */
  async function send(upstream: string, route: Route, method: string, path: string, headers: string[], body: Buffer | Readable | null,
    intercept: boolean, res: ServerResponse, debug: OutgoingHttpHeaders | null): Promise<AttemptResult> {
    const servers = pools.serversFor(upstream, route.timeouts.connect.ms);
    let result: AttemptResult = { kind: 'failed', failure: { kind: 'refused', status: 502, nothingSent: true, message: `no servers in upstream ${upstream}` } };
    for (const server of servers) {
      result = await attempt({ server, method, path, headers, body, readMs: route.timeouts.read.ms, intercept, res, debug });
      const retry = result.kind === 'failed' && result.failure.nothingSent && !(body instanceof Readable);
      if (!retry) break;
    }
    return result;
  }

  function bodyFailed(res: ServerResponse, err: Error, route: Route): void {
    if (res.headersSent || res.destroyed) return void res.destroy();
    if (err instanceof BodyTooLarge) return tooLarge(res, route);
    res.destroy(); // the client aborted its own request
  }

  async function upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const refuse = (status: number, body: object, debug: OutgoingHttpHeaders | null = null) => endSocketJson(socket, status, body, debug);
    socket.on('error', () => socket.destroy());
    const d = decideRoute(matcher, state, facts(req));
    const host = d.kind === 'bad' ? null : nginxHost(req.headers.host, d.parsed.host);
    if (d.kind !== 'proxy' || host === null || refusal(req)) return refuse(400, { error: 'bad_request' });
    if (table.default_server === 'refuse' && !servesName(host)) return void socket.destroy();
    const headers = forwardHeaders(req, host);
    // Upgrade requests carry no body: the WebSocket handshake is headers only.
    const [server] = pools.serversFor(d.upstream, d.route.timeouts.connect.ms);
    if (!server) return refuse(502, failureBody(502, d.route, d.target, 'refused'), debugHeaders(d.route.id, d.target));
    const up = await upgradeAttempt({
      server, path: d.path, method: req.method!, headers, protocol: String(req.headers.upgrade), readMs: d.route.timeouts.read.ms,
      client: socket, debug: debugHeaders(d.route.id, d.target),
    });
    if (up.kind === 'responded') return void metrics.request(d.route.id, d.target, up.status, 0);
    if (up.kind === 'failed') {
      const f: UpstreamFailure = up.failure;
      metrics.upstreamError(d.route.id, d.target, f.kind);
      metrics.request(d.route.id, d.target, f.status, 0);
      return refuse(f.status, failureBody(f.status, d.route, d.target, f.kind), debugHeaders(d.route.id, d.target));
    }
    socket.write(rawResponseHead(101, 'Switching Protocols', { ...up.headers, ...debugHeaders(d.route.id, d.target) }));
    metrics.request(d.route.id, d.target, 101, 0);
    if (head.length) up.socket.write(head);
    upgraded.add(socket);
    const cleanup = () => { upgraded.delete(socket); socket.destroy(); up.socket.destroy(); };
    up.socket.on('error', cleanup).on('close', cleanup);
    socket.on('close', cleanup);
    socket.pipe(up.socket);
    up.socket.pipe(socket);
  }

  /** A reload reads the certificate again (renewed by certbot); a bad pair keeps the one in use. */
  function renewCertificate(next: TlsFiles | null): void {
    if ((next === null) !== (tls === null)) return log('gateway: gateway.tls was turned on or off: restart the gateway for it to take effect');
    if (next === null) return;
    try {
      (server as unknown as TlsServer).setSecureContext(readTlsFiles(next));
    } catch (err) {
      log(`gateway: keeping the certificate in use: ${(err as Error).message}`);
    }
  }

  return {
    server,
    metricsRegistry: metrics.registry,
    async listen(host: string, port: number) {
      await listen(server, host, port);
    },
    swapTable(next: RouteTable) {
      matcher = buildRouteMatcher(next);
      servesName = serverNameMatcher(next.server_name);
      renewCertificate(next.gateway.tls);
      pools.use(next);
      table = next;
    },
    routeStats: async () => metrics.allStats(),
    metricsText: () => metrics.registry.metrics(),
    async close(graceMs: number) {
      for (const s of upgraded) s.destroy();
      await closeGracefully(server, graceMs);
      await pools.destroy();
    },
  };
}

function readTlsFiles(files: TlsFiles): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(files.certificate), key: readFileSync(files.certificate_key) };
}

/** Plain HTTP, or HTTP/1.1 over TLS (gateway.tls): the same request handling either way. */
function createTrafficServer(tls: TlsFiles | null, options: ServerOptions, handler: RequestListener): Server {
  if (!tls) return createServer(options, handler);
  // https.Server is an http.Server over TLS sockets: every event and method used here exists on it.
  return createHttpsServer({ ...options, ...readTlsFiles(tls), minVersion: 'TLSv1.2' }, handler) as unknown as Server;
}

function localHost(req: IncomingMessage): string {
  const a = req.socket.localAddress ?? '127.0.0.1';
  return a.startsWith('::ffff:') ? a.slice(7) : a.includes(':') ? `[${a}]` : a;
}

/** `failure` says what went wrong: refused, reset, timeout, connect_timeout, or status (a 502/503/504 answer). */
function failureBody(status: number, route: Route, target: string, failure: FailureKind) {
  return { error: status === 504 ? 'upstream_timeout' : 'upstream_failed', route: route.id, target, failure };
}

/** A JSON answer written straight to a socket Node's HTTP server handed over (CONNECT, upgrades). */
function endSocketJson(socket: Socket, status: number, body: object, debug: OutgoingHttpHeaders | null): void {
  const text = JSON.stringify(body) + '\n';
  socket.end(rawResponseHead(status, STATUS_CODES[status] ?? '', {
    'content-type': 'application/json', connection: 'close', 'content-length': Buffer.byteLength(text), ...debug,
  }) + text);
}

function replyJson(res: ServerResponse, status: number, body: object, extra: OutgoingHttpHeaders | null, close: boolean): void {
  if (res.headersSent || res.destroyed) return void res.destroy();
  const text = JSON.stringify(body) + '\n';
  const headers: OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...extra };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(text);
}
