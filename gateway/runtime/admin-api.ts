// The admin API: read the routes and their counters, move a route's traffic at runtime.
// It listens on its own (loopback by default) address, apart from the traffic listener.
//
//   GET   /healthz        open (liveness for supervisors; "service" tells a client it found a strangler admin API)
//   GET   /routes         token: every route with manifest/effective percent and counters, the
//                         state version and the nginx hosts' reports
//   PATCH /routes         token: {"routes": {"<id>": percent|null, …}} or {"all": percent|null}:
//                         one change (one state version, one audit entry) over many routes
//   GET   /routes/:id     token: one route
//   PATCH /routes/:id     token: {"percent": 0..100} sets an override, {"percent": null} clears it
//   GET   /metrics        token: Prometheus text (the gateway's registry plus admin metrics)
//
// Reads need the token too: routes, upstream names and traffic counters are internals.
import Ajv from 'ajv';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { DEFAULT_ROUTE_ID, type Route, type RouteTable } from '../manifest/route-table';
import { ADMIN_SERVICE, hostChecker, originAllowed, type AdminAddress } from './admin-guard';
import { bearerToken, tokenMatches } from './admin-token';
import { AuditLog, type AuditEntry } from './audit-log';
import { BodyTooLarge, readBody } from './request-body';
import type { HostReport } from './state-source';
import type { StateChanges, StateStore } from './state-store';
import { VERSION } from '../version';
import { didYouMean } from '../util/did-you-mean';

import { closeGracefully, listen } from '../util/http-server';

export const MAX_BODY_BYTES = 16 * 1024;

export interface RouteStats { requests: number; errors: number; fallbacks: number }

/** What the admin API needs from the traffic side: one server (gateway-server.ts) or a group of workers (worker-group.ts). */
export interface AdminGateway {
  /** Requests, errors and fallbacks by route id, summed over every worker. */
  routeStats(): Promise<ReadonlyMap<string, RouteStats>>;
  /** The traffic side's Prometheus text. */
  metricsText(): Promise<string>;
}

export interface AdminApiOptions {
  /** The current table: reloads swap it, so the API asks every time. */
  table: () => RouteTable;
  state: StateStore;
  gateway: AdminGateway;
  token: string;
  auditPath: string;
  /** The nginx hosts' reports (agents), shown by GET /routes; none when absent. */
  hostReports?: () => Promise<HostReport[]>;
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
  properties: { percent: { type: ['number', 'null'], minimum: 0, maximum: 100, multipleOf: 0.01 } },
} as const;

const PERCENT_OR_NULL = { type: ['number', 'null'], minimum: 0, maximum: 100, multipleOf: 0.01 } as const;
const BATCH_SCHEMA = {
  type: 'object',
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: false,
  properties: {
    routes: { type: 'object', minProperties: 1, maxProperties: 10000, additionalProperties: PERCENT_OR_NULL },
    all: PERCENT_OR_NULL,
  },
} as const;
const BATCH_SHAPE = 'expected {"routes": {"<id>": 0..100 or null, …}} or {"all": 0..100 or null}';

// multipleOfPrecision: 0.29 / 0.01 is 28.999999999999996 in binary floating point.
const ajv = new Ajv({ allErrors: false, strict: true, multipleOfPrecision: 6, allowUnionTypes: true });
const validatePatch = ajv.compile(PATCH_SCHEMA);
const validateBatch = ajv.compile(BATCH_SCHEMA);

/** One line for the first schema error of a body. */
function schemaProblem(e: { instancePath: string; message?: string; keyword: string; params: unknown }): string {
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'body';
  const extra = e.keyword === 'additionalProperties' ? ` (${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)})` : '';
  return `${where} ${e.message}${extra}`;
}

/** How far behind the state an nginx host is, for GET /routes and `strangler status`. */
export function hostView(r: HostReport, stateVersion: number, now = Date.now()) {
  const silentMs = now - Date.parse(r.seen_at);
  return { ...r, lagging: r.state_version < stateVersion, silent_s: Number.isFinite(silentMs) ? Math.max(0, Math.round(silentMs / 1000)) : null };
}

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
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

  new Gauge({
    name: 'strangler_state_version', help: 'The runtime state version (one more with each applied change)', registers: [registry],
    collect() { this.set(state.version); },
  });
  new Gauge({
    name: 'strangler_nginx_host_state_version', help: 'The state version each nginx host (strangler agent) serves; below strangler_state_version: lagging', labelNames: ['host'], registers: [registry],
    async collect() {
      this.reset();
      for (const h of opts.hostReports ? await opts.hostReports().catch(() => []) : []) this.set({ host: h.host }, h.state_version);
    },
  });

  const findRoute = (id: string): Route => {
    const table = opts.table();
    const route = id === DEFAULT_ROUTE_ID ? table.defaultRoute : table.routes.find((r) => r.id === id);
    if (!route) throw new HttpError(404, `no route ${JSON.stringify(id)} in the manifest${didYouMean(id, table.routes.map((r) => r.id))}; routes: ${table.routes.map((r) => r.id).join(', ') || '(none)'}`);
    return route;
  };

  async function patchRoute(req: IncomingMessage, id: string) {
    const route = findRoute(id);
    const body = await readJsonBody(req);
    if (!validatePatch(body)) {
        throw new HttpError(400, `${schemaProblem(validatePatch.errors![0])}; expected {"percent": 0..100 with at most two decimals} or {"percent": null} to clear the override`);
    }
    if (route.id === DEFAULT_ROUTE_ID) throw new HttpError(409, 'the default route serves unmatched requests from legacy and has no percent to change');
    const percent = (body as { percent: number | null }).percent;
    const client = req.socket.remoteAddress ?? 'unknown';
    const { previous } = await state.apply(new Map([[route.id, percent]]), client);
    const p = previous.get(route.id);
    const old = p ? p.percent : route.canary.percent;
    const now = state.effectivePercent(route);
    changesTotal.inc({ route: route.id });
    log(`admin: ${client} ${percent === null ? 'cleared the override of' : 'set'} route ${route.id}: ${old}% -> ${now}% to ${route.to.text} (state version ${state.version})`);
    await auditOrFail({ time: new Date().toISOString(), route: route.id, action: percent === null ? 'clear' : 'set', old, new: now, client, state_version: state.version });
    return { ...routeView(route, state, await gateway.routeStats()), previous_percent: old, state_version: state.version };
  }

  /** PATCH /routes: many routes (or all) in one change. */
  async function patchRoutes(req: IncomingMessage) {
    const body = await readJsonBody(req);
    if (!validateBatch(body)) throw new HttpError(400, `${schemaProblem(validateBatch.errors![0])}; ${BATCH_SHAPE}`);
    const table = opts.table();
    const b = body as { routes?: Record<string, number | null>; all?: number | null };
    const changes: StateChanges = b.routes !== undefined
      ? new Map(Object.entries(b.routes))
      : new Map(table.routes.map((r) => [r.id, b.all as number | null]));
    if (changes.has(DEFAULT_ROUTE_ID)) throw new HttpError(409, 'the default route serves unmatched requests from legacy and has no percent to change');
    const unknown = [...changes.keys()].filter((id) => !table.routes.some((r) => r.id === id));
    if (unknown.length) {
      const hints = unknown.map((id) => didYouMean(id, table.routes.map((r) => r.id), (c) => `${JSON.stringify(c)} for ${JSON.stringify(id)}`)).join('');
      throw new HttpError(404, `no route ${unknown.map((id) => JSON.stringify(id)).join(', ')} in the manifest${hints}; nothing changed; routes: ${table.routes.map((r) => r.id).join(', ') || '(none)'}`);
    }
    const client = req.socket.remoteAddress ?? 'unknown';
    const { previous } = await state.apply(changes, client);
    const stats = await gateway.routeStats();
    const moved: Record<string, { old: number; new: number }> = {};
    const routes = table.routes.filter((r) => changes.has(r.id)).map((r) => {
      const p = previous.get(r.id);
      const old = p ? p.percent : r.canary.percent;
      moved[r.id] = { old, new: state.effectivePercent(r) };
      changesTotal.inc({ route: r.id });
      return { ...routeView(r, state, stats), previous_percent: old };
    });
    log(`admin: ${client} changed ${routes.length} routes in one change (state version ${state.version}): ` +
      Object.entries(moved).map(([id, m]) => `${id} ${m.old}% -> ${m.new}%`).join(', '));
    await auditOrFail({ time: new Date().toISOString(), action: 'batch', routes: moved, client, state_version: state.version });
    return { state_version: state.version, routes };
  }

  async function auditOrFail(entry: AuditEntry): Promise<void> {
    try {
      await audit.append(entry);
    } catch (err) {
      log(`admin: audit log ${opts.auditPath}: ${(err as Error).message}`);
      throw new HttpError(500, `the change is in effect but the audit log could not be written: ${(err as Error).message}`);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostOk(req.headers.host)) throw new HttpError(403, 'Host header is not this admin API\'s address (DNS-rebinding protection)');
    if (!originAllowed(req.headers.origin, hostOk)) throw new HttpError(403, 'cross-origin requests are refused (Origin is not this admin API)');

    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    const routeMatch = /^\/routes\/([^/]+)$/.exec(path);
    const allow = path === '/healthz' || path === '/metrics' ? ['GET', 'HEAD'] : path === '/routes' || routeMatch ? ['GET', 'HEAD', 'PATCH'] : null;
    if (!allow) throw new HttpError(404, `no such endpoint ${JSON.stringify(path)}; endpoints: GET /healthz, GET|PATCH /routes, GET|PATCH /routes/:id, GET /metrics`);
    if (!allow.includes(method)) throw new HttpError(405, `${method} is not allowed on ${path}`, { allow: allow.join(', ') });

    if (path === '/healthz') return sendJson(res, 200, { status: 'ok', service: ADMIN_SERVICE, version: VERSION });
    // Nothing below says anything about routes until the token checks out.
    if (!tokenMatches(opts.token, bearerToken(req.headers.authorization))) {
      throw new HttpError(401, 'missing or wrong admin token: send Authorization: Bearer <token>', { 'www-authenticate': 'Bearer realm="strangler-admin"' });
    }
    if (path === '/metrics') {
      const parts = [await gateway.metricsText(), await registry.metrics()];
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
      return void res.end(parts.filter(Boolean).join('\n'));
    }
    if (path === '/routes' && method === 'PATCH') return sendJson(res, 200, await patchRoutes(req));
    if (path === '/routes') {
      const table = opts.table();
      const stats = await gateway.routeStats();
      const hosts = opts.hostReports ? await opts.hostReports().catch((err: Error) => { log(`admin: nginx host reports: ${err.message}`); return []; }) : [];
      return sendJson(res, 200, {
        manifest_sha256: table.sha256,
        state_version: state.version,
        routes: [...table.routes, table.defaultRoute].map((r) => routeView(r, state, stats)),
        nginx_hosts: hosts.map((h) => hostView(h, state.version)),
      });
    }
    let id: string;
    try { id = decodeURIComponent(routeMatch![1]); } catch { throw new HttpError(404, 'malformed route id'); }
    if (method === 'PATCH') return sendJson(res, 200, await patchRoute(req, id));
    const route = findRoute(id);
    return sendJson(res, 200, routeView(route, state, await gateway.routeStats()));
  }

  const server = createServer((req, res) => {
    res.on('finish', () => requestsTotal.inc({ method: req.method ?? '', code: String(res.statusCode) }));
    handle(req, res).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, (err as Error).message ?? String(err));
      if (e.status === 500) log(`admin: ${req.method} ${req.url}: ${e.message}`);
      if (res.headersSent) return void res.destroy();
      // A refused request may still be sending its body: do not read it, close afterwards.
      const unread = !req.complete;
      sendJson(res, e.status, { error: e.message }, { ...e.headers, ...(unread ? { connection: 'close' } : {}) });
    });
  });
  // Admin requests are small: do not let a slow client hold a socket for minutes.
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;

  return {
    server,
    async listen(host, port) {
      const bound = { host, port: (await listen(server, host, port)).port };
      // Reloads may change gateway.admin_hosts: ask the current table every time.
      hostOk = (h) => hostChecker(bound, opts.table().gateway.admin_hosts)(h);
      return bound;
    },
    close: (graceMs = 5000) => closeGracefully(server, graceMs),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

/** Checks length and type before reading, and stops reading at the limit. */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json' && type !== 'application/merge-patch+json') {
    throw new HttpError(415, `content type must be application/json, got ${type ? JSON.stringify(type) : 'none'}`, { 'accept-patch': 'application/json, application/merge-patch+json' });
  }
  let text: string;
  try {
    text = (await readBody(req, MAX_BODY_BYTES)).toString('utf8');
  } catch (err) {
    throw err instanceof BodyTooLarge ? new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`) : err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message}`);
  }
}
