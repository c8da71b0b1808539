// The admin API: read the routes and their counters, move a route's traffic at runtime.
// It listens on its own (loopback by default) address, apart from the traffic listener.
//
//   GET   /healthz        open (liveness for supervisors)
//   GET   /routes         token: every route with manifest/effective percent and counters
//   GET   /routes/:id     token: one route
//   PATCH /routes/:id     token: {"percent": 0..100} sets an override, {"percent": null} clears it
//   GET   /routes/:id/shadow  token: what the route's shadow copies found (DELETE: forget it)
//   GET   /metrics        token: Prometheus text (the gateway's registry plus admin metrics)
//
// Reads need the token too: routes, upstream names and traffic counters are internals.
import Ajv from 'ajv';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { DEFAULT_ROUTE_ID, type Route, type RouteTable } from '../manifest/route-table';
import { hostChecker, originAllowed, type AdminAddress } from './admin-guard';
import { bearerToken, tokenMatches } from './admin-token';
import { AuditLog } from './audit-log';
import { BodyTooLarge, readBody } from './request-body';
import type { StateStore } from './state-store';
import type { AdminGateway, RouteStats } from './gateway-metrics';
import { isValidPercent, PERCENT_RULE } from '../manifest/percent';
import { closeGracefully, listen } from '../util/http-server';
import { replyJson } from '../util/json-reply';
import { errorBody, HTTP_ANSWERS, type AnswerCode } from '../http-answers';

export const MAX_BODY_BYTES = 16 * 1024;

// The traffic side owns its counters' types; re-exported for the admin API's users.
export type { AdminGateway, RouteStats };

export interface AdminApiOptions {
  /** The current table: reloads swap it, so the API asks every time. */
  table: () => RouteTable;
  state: StateStore;
  gateway: AdminGateway;
  token: string;
  auditPath: string;
  log?: (line: string) => void;
}

export interface AdminApi {
  readonly server: Server;
  listen(host: string, port: number): Promise<AdminAddress>;
  /** Stops accepting; requests in flight get `graceMs` to finish. */
  close(graceMs?: number): Promise<void>;
}

const PATCH_SCHEMA = {
  type: 'object',
  required: ['percent'],
  additionalProperties: false,
  properties: { percent: { type: ['number', 'null'], minimum: 0, maximum: 100 } },
} as const;

// The schema checks the shape; the two-decimal rule is the percent module's exact one (isValidPercent).
const validatePatch = new Ajv({ allErrors: false, strict: true }).compile(PATCH_SCHEMA);
const PATCH_EXPECTED = `expected {"percent": ${PERCENT_RULE}} or {"percent": null} to clear the override`;

/** An answer from the catalogue (gateway/http-answers.ts): its status, and this case's message. */
class HttpError extends Error {
  readonly status: number;
  constructor(readonly code: AnswerCode, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.status = HTTP_ANSWERS[code].status;
  }
}

const ZERO_STATS: RouteStats = Object.freeze({ requests: 0, errors: 0, fallbacks: 0 });

export function routeView(route: Route, state: StateStore, allStats: ReadonlyMap<string, RouteStats>) {
  const stats = allStats.get(route.id) ?? ZERO_STATS;
  const editable = route.id !== DEFAULT_ROUTE_ID;
  return {
    id: route.id,
    match: route.match,
    methods: route.methods,
    to: route.to.text,
    manifest_percent: route.canary.percent,
    effective_percent: state.effectivePercent(route),
    override: (editable && state.override(route.id)) || null,
    dynamic: route.dynamic,
    shadow: route.shadow !== null,
    fallback: route.fallback !== null,
    editable,
    stats: { requests: stats.requests, errors: stats.errors, fallbacks: stats.fallbacks },
  };
}

export function createAdminApi(opts: AdminApiOptions): AdminApi {
  const { state, gateway } = opts;
  const audit = new AuditLog(opts.auditPath);
  const log = opts.log ?? (() => undefined);
  let hostOk: (host: string | undefined) => boolean = () => false;

  const registry = new Registry();
  const requestsTotal = new Counter({ name: 'strangler_admin_requests_total', help: 'Admin API requests by method and status', labelNames: ['method', 'code'], registers: [registry] });
  const changesTotal = new Counter({ name: 'strangler_admin_changes_total', help: 'Runtime percent changes applied through the admin API', labelNames: ['route'], registers: [registry] });
  new Gauge({
    name: 'strangler_admin_route_percent', help: 'Share of each route sent to its target (manifest and effective)', labelNames: ['route', 'source'], registers: [registry],
    collect() {
      this.reset();
      for (const r of opts.table().routes) {
        this.set({ route: r.id, source: 'manifest' }, r.canary.percent);
        this.set({ route: r.id, source: 'effective' }, state.effectivePercent(r));
      }
    },
  });

  const findRoute = (id: string): Route => {
    const table = opts.table();
    const route = id === DEFAULT_ROUTE_ID ? table.defaultRoute : table.routes.find((r) => r.id === id);
    if (!route) throw new HttpError('unknown_route', `no route ${JSON.stringify(id)} in the manifest; routes: ${table.routes.map((r) => r.id).join(', ') || '(none)'}`);
    return route;
  };

  async function patchRoute(req: IncomingMessage, id: string) {
    const route = findRoute(id);
    const body = await readJsonBody(req);
    if (!validatePatch(body)) {
      const e = validatePatch.errors![0];
      const where = e.instancePath ? e.instancePath.slice(1) : 'body';
      const extra = e.keyword === 'additionalProperties' ? ` (${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)})` : '';
      throw new HttpError('invalid_body', `${where} ${e.message}${extra}; ${PATCH_EXPECTED}`);
    }
    const asked = (body as { percent: number | null }).percent;
    if (asked !== null && !isValidPercent(asked)) {
      // 1e-9 would be stored as 0 and turn the route off: refuse what is not exactly a percent.
      throw new HttpError('invalid_percent', `percent must be multiple of 0.01, got ${asked}; ${PATCH_EXPECTED}`);
    }
    if (route.id === DEFAULT_ROUTE_ID) throw new HttpError('default_route_fixed', 'the default route serves unmatched requests from legacy and has no percent to change');
    const percent = (body as { percent: number | null }).percent;
    const client = req.socket.remoteAddress ?? 'unknown';
    let previous;
    if (percent === null) previous = (await state.clear(route.id)).previous;
    else previous = (await state.set(route.id, percent, client)).previous;
    const old = previous ? previous.percent : route.canary.percent;
    const now = state.effectivePercent(route);
    changesTotal.inc({ route: route.id });
    log(`admin: ${client} ${percent === null ? 'cleared the override of' : 'set'} route ${route.id}: ${old}% -> ${now}% to ${route.to.text}`);
    try {
      await audit.append({ time: new Date().toISOString(), route: route.id, action: percent === null ? 'clear' : 'set', old, new: now, client });
    } catch (err) {
      log(`admin: audit log ${opts.auditPath}: ${(err as Error).message}`);
      throw new HttpError('audit_failed', `the change is in effect but the audit log could not be written: ${(err as Error).message}`);
    }
    return { ...routeView(route, state, await gateway.routeStats()), previous_percent: old };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostOk(req.headers.host)) throw new HttpError('forbidden_host', 'Host header is not this admin API\'s address (DNS-rebinding protection)');
    if (!originAllowed(req.headers.origin, hostOk)) throw new HttpError('forbidden_origin', 'cross-origin requests are refused (Origin is not this admin API)');

    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    const routeMatch = /^\/routes\/([^/]+)(\/shadow)?$/.exec(path);
    const shadow = routeMatch?.[2] !== undefined;
    const allow = path === '/healthz' || path === '/routes' || path === '/metrics' ? ['GET', 'HEAD'] : shadow ? ['GET', 'HEAD', 'DELETE'] : routeMatch ? ['GET', 'HEAD', 'PATCH'] : null;
    if (!allow) throw new HttpError('not_found', `no such endpoint ${JSON.stringify(path)}; endpoints: GET /healthz, GET /routes, GET|PATCH /routes/:id, GET|DELETE /routes/:id/shadow, GET /metrics`);
    if (!allow.includes(method)) throw new HttpError('method_not_allowed', `${method} is not allowed on ${path}`, { allow: allow.join(', ') });

    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    // Nothing below says anything about routes until the token checks out.
    if (!tokenMatches(opts.token, bearerToken(req.headers.authorization))) {
      throw new HttpError('unauthorized', 'missing or wrong admin token: send Authorization: Bearer <token>', { 'www-authenticate': 'Bearer realm="strangler-admin"' });
    }
    if (path === '/metrics') {
      const parts = [await gateway.metricsText(), await registry.metrics()];
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
      return void res.end(parts.filter(Boolean).join('\n'));
    }
    if (path === '/routes') {
      const table = opts.table();
      const stats = await gateway.routeStats();
      return sendJson(res, 200, {
        manifest_sha256: table.sha256,
        routes: [...table.routes, table.defaultRoute].map((r) => routeView(r, state, stats)),
      });
    }
    let id: string;
    try { id = decodeURIComponent(routeMatch![1]); } catch { throw new HttpError('unknown_route', 'malformed route id'); }
    if (method === 'PATCH') return sendJson(res, 200, await patchRoute(req, id));
    const route = findRoute(id);
    if (shadow) {
      if (route.shadow === null) throw new HttpError('not_shadowed', `route ${JSON.stringify(id)} has no shadow in the manifest; add shadow: {} to it to compare its two sides`);
      if (method === 'DELETE') {
        await gateway.resetShadow(route.id);
        log(`admin: ${req.socket.remoteAddress ?? 'unknown'} reset the shadow results of route ${route.id}`);
      }
      return sendJson(res, 200, { route: route.id, to: route.to.text, shadow: { percent: route.shadow.percent, methods: route.shadow.methods, ignore: route.shadow.ignore }, ...await gateway.shadowReport(route.id) });
    }
    return sendJson(res, 200, routeView(route, state, await gateway.routeStats()));
  }

  const server = createServer((req, res) => {
    res.on('finish', () => requestsTotal.inc({ method: req.method ?? '', code: String(res.statusCode) }));
    handle(req, res).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError('internal_error', (err as Error).message ?? String(err));
      if (e.status === 500) log(`admin: ${req.method} ${req.url}: ${e.message}`);
      // A refused request may still be sending its body: do not read it, close afterwards.
      const unread = !req.complete;
      sendJson(res, e.status, errorBody(e.code, { message: e.message }), e.headers, unread);
    });
  });
  // Admin requests are small: do not let a slow client hold a socket for minutes.
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;

  return {
    server,
    async listen(host, port) {
      const bound = { host, port: (await listen(server, host, port)).port };
      hostOk = hostChecker(bound);
      return bound;
    },
    close: (graceMs = 5000) => closeGracefully(server, graceMs),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, close = false): void {
  replyJson(res, status, body, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  }, { pretty: true, close });
}

/** Checks length and type before reading, and stops reading at the limit. */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) throw new HttpError('body_too_large', `body larger than ${MAX_BODY_BYTES} bytes`);
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json' && type !== 'application/merge-patch+json') {
    throw new HttpError('unsupported_media_type', `content type must be application/json, got ${type ? JSON.stringify(type) : 'none'}`, { 'accept-patch': 'application/json, application/merge-patch+json' });
  }
  let text: string;
  try {
    text = (await readBody(req, MAX_BODY_BYTES)).toString('utf8');
  } catch (err) {
    throw err instanceof BodyTooLarge ? new HttpError('body_too_large', `body larger than ${MAX_BODY_BYTES} bytes`) : err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError('invalid_json', `body is not valid JSON: ${(err as Error).message}`);
  }
}
