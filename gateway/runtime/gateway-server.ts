// The gateway's traffic listener: each request goes through the stages of forward-stages.ts
// (refuse, decide, limit and read the body, attempt, fall back, answer; then record and log);
// WebSocket upgrades are decided the same way and piped. swapTable() applies a reload. With
// gateway.tls the listener speaks HTTP/1.1 over TLS; everything after the handshake is the same.
import { readFileSync } from 'node:fs';
import { createServer, ServerResponse, type IncomingMessage, type OutgoingHttpHeaders, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { errorBody } from '../http-answers';
import type { RouteTable, TlsFiles } from '../manifest/route-table';
import { closeGracefully, listen } from '../util/http-server';
import { endSocketJson, replyJson } from '../util/json-reply';
import type { AccessLog } from './access-log';
import { collectAfterStorms } from './after-storm-gc';
import type { PercentSource } from './decide-route';
import { upgradeAttempt, type UpstreamFailure } from './forward';
import {
  answeredByChecks, debugHeaders, failureBody, forward, Forwarding, forwardHeaders, REPLAY_BUFFER_LIMIT, unknownHost, type GatewayContext,
} from './forward-stages';
import { GatewayMetrics, ZERO_STATS, type AdminGateway } from './gateway-metrics';
import { asciiLower } from './nginx-uri';
import { rawResponseHead } from './proxy-headers';
import { HEADER_BUFFER } from './request-limits';
import { buildRouteMatcher } from './route-matcher';
import { clientAddressResolver } from './client-address';
import { oneAtATime } from './one-at-a-time';
import { serverNameMatcher } from './server-names';
import { ShadowCopies } from './shadow-copy';
import { UpstreamPools } from './upstream-pools';

export interface GatewayServerOptions {
  table: RouteTable;
  state: PercentSource;
  log?: (line: string) => void;
  /** One line per request in nginx's log format; none when absent. */
  accessLog?: AccessLog | null;
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

export { REPLAY_BUFFER_LIMIT };

const CLOSE = { close: true };

export function createGatewayServer(opts: GatewayServerOptions): GatewayServer {
  // gateway.tls is read at start; a reload renews the certificate (setSecureContext), but turning
  // TLS on or off needs a restart.
  const tls = opts.table.gateway.tls;
  const metrics = new GatewayMetrics();
  const log = opts.log ?? (() => undefined);
  const ctx: GatewayContext = {
    table: opts.table,
    matcher: buildRouteMatcher(opts.table),
    clientAddress: clientAddressResolver(opts.table.gateway.trusted_proxies),
    servesName: serverNameMatcher(opts.table.server_name),
    scheme: tls ? 'https' : 'http',
    state: opts.state,
    pools: new UpstreamPools(opts.table),
    metrics,
    shadow: new ShadowCopies(opts.table, metrics.registry, log),
    log,
    accessLog: opts.accessLog ?? null,
  };
  const { pools, shadow } = ctx;
  ctx.accessLog?.register(metrics.registry);
  const upgraded = new Set<Socket>();

  const server = createTrafficServer(tls, {
    maxHeaderSize: 4 * HEADER_BUFFER,
    requireHostHeader: true,
    keepAliveTimeout: 65_000,
    headersTimeout: 60_000,
    // Uploads and slow functions may take long: nginx bounds the gaps between reads, not the total.
    requestTimeout: 0,
  }, oneAtATime((req, res) => forward(new Forwarding(ctx, req, res)).catch((err: Error) => {
    log(`gateway: internal error on ${req.method} ${req.url}: ${err.stack ?? err.message}`);
    if (!res.headersSent) replyJson(res, 500, errorBody('internal_error'), null, CLOSE);
    else res.destroy();
  })));
  // nginx's refusing default server rejects handshakes for unknown names (ssl_reject_handshake):
  // a TLS connection whose SNI names none of server_name, or none at all, is closed unanswered.
  if (tls) {
    server.on('secureConnection', (socket: TLSSocket) => {
      const name = typeof socket.servername === 'string' ? asciiLower(socket.servername) : undefined;
      if (unknownHost(ctx, name)) socket.destroy();
    });
  }
  const storms = collectAfterStorms(server);
  // nginx refuses CONNECT with 400; without a listener Node would drop the connection unanswered.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    endSocketJson(socket, 400, errorBody('bad_request'), null);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    upgrade(req, socket, head).catch(() => socket.destroy());
  });

  async function upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    // The normal request path's checks, answered on this socket: TRACE is 405, a declared body
    // over max_size 413, a slash-less prefix 301, as nginx answers them with or without Upgrade.
    const f = new Forwarding(ctx, req, socketResponse(req, socket));
    if (answeredByChecks(f)) return;
    const d = f.proxied;
    const debug = () => debugHeaders(ctx.table, f.clientAddress(), d.route.id, d.target);
    const refuse = (status: number, body: object, headers: OutgoingHttpHeaders | null = null) => replyJson(f.res, status, body, headers, CLOSE);
    // Node hands an upgrade request's body over unparsed, in `head` and the socket: it cannot be
    // relayed as nginx relays it. Refused rather than sent upstream without it.
    if (f.length !== 0) return refuse(400, errorBody('bad_request', { detail: 'an upgrade request cannot carry a body here' }));
    const headers = forwardHeaders(ctx, req, f.host, f.clientAddress(), f.requestId);
    const [server] = pools.serversFor(d.upstream, d.route.timeouts.connect.ms);
    if (!server) return refuse(502, failureBody(502, d.route, d.target, 'refused'), debug());
    const up = await upgradeAttempt({
      server, path: d.path, method: req.method!, headers, protocol: String(req.headers.upgrade), readMs: d.route.timeouts.read.ms,
      sendMs: d.route.timeouts.send_timeout.ms, client: socket, debug: debug(),
    });
    if (up.kind === 'responded') return void metrics.request(d.route.id, d.target, up.status, 0);
    if (up.kind === 'failed') {
      const failure: UpstreamFailure = up.failure;
      metrics.upstreamError(d.route.id, d.target, failure.kind);
      metrics.request(d.route.id, d.target, failure.status, 0);
      return refuse(failure.status, failureBody(failure.status, d.route, d.target, failure.kind), debug());
    }
    socket.write(rawResponseHead(101, 'Switching Protocols', { ...up.headers, ...debug() }));
    metrics.request(d.route.id, d.target, 101, 0);
    if (head.length) up.socket.write(head);
    upgraded.add(socket);
    const cleanup = () => { upgraded.delete(socket); socket.destroy(); up.socket.destroy(); };
    up.socket.on('error', cleanup).on('close', cleanup);
    socket.on('close', cleanup);
    // nginx applies proxy_read_timeout to a tunnel: an upgraded connection idle that long is closed.
    up.socket.setTimeout(d.route.timeouts.read.ms, cleanup);
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
      ctx.matcher = buildRouteMatcher(next);
      ctx.clientAddress = clientAddressResolver(next.gateway.trusted_proxies);
      ctx.servesName = serverNameMatcher(next.server_name);
      renewCertificate(next.gateway.tls);
      pools.use(next);
      shadow.use(next);
      ctx.table = next;
    },
    async routeStats() {
      const stats = metrics.allStats();
      for (const [id, counts] of shadow.results.counts()) stats.set(id, { ...(stats.get(id) ?? ZERO_STATS), shadow: counts });
      return stats;
    },
    metricsText: () => metrics.registry.metrics(),
    shadowReport: async (route) => shadow.results.report(route),
    resetShadow: async (route) => shadow.results.reset(route),
    async close(graceMs: number) {
      storms.stop();
      for (const s of upgraded) s.destroy();
      await closeGracefully(server, graceMs);
      await Promise.all([pools.destroy(), shadow.destroy()]);
    },
  };
}

/**
 * A ServerResponse writing to an upgrade request's socket, so the normal path's answers can be
 * given there; the connection closes after the answer (nothing else reads from it).
 */
function socketResponse(req: IncomingMessage, socket: Socket): ServerResponse {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket);
  res.once('finish', () => socket.end());
  return res;
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
