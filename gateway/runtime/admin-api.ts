// The admin API: read the routes and their counters, move a route's traffic at runtime.
// It listens on its own (loopback by default) address, apart from the traffic listener.
//
//   GET   /healthz           open (liveness for supervisors; "service" tells a client it found a strangler
//                            admin API; says whether the state store is reachable)
//   GET   /ui/               open: the dashboard's static files (they hold no data; admin-ui.ts)
//   GET   /whoami            token: {"access": "admin" | "read"}, which token was sent
//   GET   /routes            token: every route with manifest/effective percent and counters, the
//                            state version and the nginx hosts' reports
//   PATCH /routes            admin token: several routes in one change, one audit entry:
//                            {"all": 0..100|null} or {"routes": {"<id>": 0..100|null, ...}}
//   GET   /routes/:id        token: one route
//   PATCH /routes/:id        admin token: {"percent": 0..100} sets an override, {"percent": null} clears it
//                            (changes: 503 state_unavailable while the shared state, Redis, is unreachable)
//   GET   /routes/:id/rollout token: the route's progressive rollout: state, percent, step, reason, history
//   POST  /routes/:id/rollout admin token: {"action": "start" | "pause" | "resume" | "abort"}
//   GET   /routes/:id/shadow token: what the route's shadow copies found (DELETE, admin token: forget it)
//   GET   /audit?limit=N     token: the audit log's last N entries (default 50, at most 500), oldest first
//   GET   /instances         token: {"gateways": [...], "nginx": [...]}, who serves which state version: every
//                            gateway sharing a Redis state (this one alone with a file) and every nginx host
//   GET   /metrics           token: Prometheus text (the gateway's registry plus admin metrics)
//
// Reads need a token too: routes, upstream names and traffic counters are internals. The
// read-only token (STRANGLER_READ_TOKEN) is accepted for every GET and refused for changes.
// Every refusal is {"error": CODE, "message": "…"}, its code from the one catalogue of answers
// (gateway/http-answers.ts).
import Ajv from 'ajv';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { DEFAULT_ROUTE_ID, type Route, type RouteTable } from '../manifest/route-table';
import { ADMIN_SERVICE, hostChecker, originAllowed, type AdminAddress } from './admin-guard';
import { bearerToken, tokenMatches } from './admin-token';
import { loadAdminUi } from './admin-ui';
import type { InstanceInfo } from './redis-state-store';
import type { AuditEntry, AuditSink } from './audit-log';
import { BodyTooLarge, readBody } from './request-body';
import { StateUnavailableError, type Override, type RuntimeState } from './runtime-state';
import type { HostReport } from './state-source';
import { ZERO_STATS, type AdminGateway, type RouteStats } from './gateway-metrics';
import { NO_COMPARISONS, shadowSummary } from './shadow-report';
import { effectivePercent, isValidPercent, PERCENT_RULE } from '../manifest/percent';
import type { RolloutController } from './rollout-controller';
import { ROLLOUT_ACTIONS, RolloutConflict, type RolloutAction } from './rollout-record';
import { VERSION } from '../version';
import { didYouMean } from '../util/did-you-mean';
import { closeGracefully, listen } from '../util/http-server';
import { replyJson } from '../util/json-reply';
import { errorBody, HTTP_ANSWERS, type AnswerCode } from '../http-answers';

export const MAX_BODY_BYTES = 16 * 1024;

// The traffic side owns its counters' types; re-exported for the admin API's users.
export type { AdminGateway, RouteStats };

export interface AdminApiOptions {
  /** The current table: reloads swap it, so the API asks every time. */
  table: () => RouteTable;
  state: RuntimeState;
  gateway: AdminGateway;
  token: string;
  audit: AuditSink;
  /** Where the audit goes, for error messages. */
  auditName: string;
  /** STRANGLER_READ_TOKEN: every GET, no change. Null or absent: no read-only token. */
  readToken?: string | null;
  /** Every gateway instance sharing the state (this one alone with a file), for GET /instances. */
  instances: () => Promise<readonly InstanceInfo[]>;
  /** This instance's registry id, to mark it "self". */
  instanceId: () => string;
  /** Progressive rollouts (GET|POST /routes/:id/rollout, `rollout` in the route JSON); none when absent. */
  rollout?: RolloutController;
  /** The nginx hosts' reports (agents), shown by GET /routes and GET /instances; none when absent. */
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
  properties: { percent: { type: ['number', 'null'], minimum: 0, maximum: 100 } },
} as const;

// The schema checks the shape; the two-decimal rule is the percent module's exact one (isValidPercent).
const validatePatch = new Ajv({ allErrors: false, strict: true }).compile(PATCH_SCHEMA);
const PATCH_EXPECTED = `expected {"percent": ${PERCENT_RULE}} or {"percent": null} to clear the override`;
const DEFAULT_ROUTE_FIXED = 'the default route serves unmatched requests from legacy and has no percent to change';

/** How far behind the state an nginx host is, for GET /routes, GET /instances and `strangler status`. */
export function hostView(r: HostReport, stateVersion: number, now = Date.now()) {
  const silentMs = now - Date.parse(r.seen_at);
  return { ...r, lagging: r.state_version < stateVersion, silent_s: Number.isFinite(silentMs) ? Math.max(0, Math.round(silentMs / 1000)) : null };
}

export const AUDIT_DEFAULT_LIMIT = 50;
export const AUDIT_MAX_LIMIT = 500;

/** One gateway as GET /instances shows it: its registry entry, how far behind the newest state it is, whether it answered. */
export interface InstanceView extends InstanceInfo {
  /** Versions behind the newest state any instance serves (0: current). */
  lag: number;
  /** The instance that answered this request. */
  self: boolean;
}

/** An answer from the catalogue (gateway/http-answers.ts): its status, and this case's message. */
class HttpError extends Error {
  readonly status: number;
  constructor(readonly code: AnswerCode, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.status = HTTP_ANSWERS[code].status;
  }
}

/** GET endpoints and the methods each path takes; /routes/:id and /routes/:id/shadow are matched separately. */
const ENDPOINTS: Record<string, readonly string[]> = {
  '/healthz': ['GET', 'HEAD'],
  '/whoami': ['GET', 'HEAD'],
  '/routes': ['GET', 'HEAD', 'PATCH'],
  '/metrics': ['GET', 'HEAD'],
  '/audit': ['GET', 'HEAD'],
  '/instances': ['GET', 'HEAD'],
};
const ENDPOINT_LIST = 'GET /healthz, GET /ui/, GET /whoami, GET|PATCH /routes, GET|PATCH /routes/:id, GET|POST /routes/:id/rollout, GET|DELETE /routes/:id/shadow, GET /audit?limit=N, GET /instances, GET /metrics';

type Access = 'admin' | 'read';

/** An override as the route JSON shows it: the rollout that set it is shown apart, as `rollout`. */
function overrideView(o: Override | undefined) {
  return o && { percent: o.percent, updated_at: o.updated_at, by: o.by };
}

export function routeView(route: Route, state: RuntimeState, allStats: ReadonlyMap<string, RouteStats>, rollout?: RolloutController) {
  const stats = allStats.get(route.id) ?? ZERO_STATS;
  const ro = rollout?.view(route) ?? null;
  const editable = route.id !== DEFAULT_ROUTE_ID;
  return {
    id: route.id,
    match: route.match,
    methods: route.methods,
    to: route.to.text,
    manifest_percent: route.canary.percent,
    effective_percent: state.effectivePercent(route),
    override: (editable && overrideView(state.override(route.id))) || null,
    dynamic: route.dynamic,
    // Only shadowed routes carry it: the dashboard shows a match column when any route does.
    ...(route.shadow !== null && { shadow: shadowSummary(stats.shadow ?? NO_COMPARISONS) }),
    // Only rolled-out routes carry it, as GET /routes/:id/rollout shows it: the dashboard's rollout column and buttons.
    ...(ro !== null && { rollout: ro }),
    fallback: route.fallback !== null,
    editable,
    stats: { requests: stats.requests, errors: stats.errors, fallbacks: stats.fallbacks, by_target: { ...stats.by_target } },
    state_version: state.snapshot().version,
  };
}

export function createAdminApi(opts: AdminApiOptions): AdminApi {
  const { state, gateway } = opts;
  const audit = opts.audit;
  const log = opts.log ?? (() => undefined);
  let hostOk: (host: string | undefined) => boolean = () => false;
  const ui = loadAdminUi(undefined, log);

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
    name: 'strangler_state_available', help: 'Whether the state store (file or Redis) takes changes: 1 yes, 0 no (serving the last state)', registers: [registry],
    collect() { this.set(state.health().available ? 1 : 0); },
  });
  new Gauge({
    name: 'strangler_state_version', help: 'The runtime state version this instance serves (one more with each applied change)', registers: [registry],
    collect() { this.set(state.health().version); },
  });
  new Gauge({
    name: 'strangler_state_stale_seconds', help: 'Seconds since this instance last confirmed its state against the store (0 while in sync)', registers: [registry],
    collect() { this.set(state.health().stale_seconds); },
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
    if (!route) throw new HttpError('unknown_route', `no route ${JSON.stringify(id)} in the manifest${didYouMean(id, table.routes.map((r) => r.id))}; routes: ${table.routes.map((r) => r.id).join(', ') || '(none)'}`);
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
    if (route.id === DEFAULT_ROUTE_ID) throw new HttpError('default_route_fixed', DEFAULT_ROUTE_FIXED);
    const percent = (body as { percent: number | null }).percent;
    const client = req.socket.remoteAddress ?? 'unknown';
    const applied = await unlessUnavailable(state.apply(new Map([[route.id, percent]]), client));
    const version = applied.version;
    const previous = applied.previous.get(route.id);
    const old = previous ? previous.percent : route.canary.percent;
    const now = effectivePercent(route, applied.routes[route.id]);
    changesTotal.inc({ route: route.id });
    log(`admin: ${client} ${percent === null ? 'cleared the override of' : 'set'} route ${route.id}: ${old}% -> ${now}% to ${route.to.text} (state version ${version})`);
    await record({ time: new Date().toISOString(), route: route.id, action: percent === null ? 'clear' : 'set', old, new: now, client, state_version: version });
    return { ...routeView(route, state, await gateway.routeStats(), opts.rollout), previous_percent: old, state_version: version };
  }

  async function record(entry: AuditEntry): Promise<void> {
    try {
      await audit.append(entry);
    } catch (err) {
      log(`admin: audit log ${opts.auditName}: ${(err as Error).message}`);
      throw new HttpError('audit_failed', `the change is in effect but the audit log could not be written: ${(err as Error).message}`);
    }
  }

  /** PATCH /routes: {"all": p} or {"routes": {"<id>": p}} (p a percent or null), applied as one change. */
  async function patchRoutes(req: IncomingMessage) {
    const body = await readJsonBody(req);
    const shape = `expected {"all": ${PERCENT_RULE}, or null} or {"routes": {"<route id>": ${PERCENT_RULE}, or null, ...}}`;
    // The shape first (invalid_body), then the percent module's exact rule (invalid_percent), as PATCH /routes/:id.
    const checkPercent = (p: unknown, where: string): number | null => {
      if (p !== null && (typeof p !== 'number' || !(p >= 0 && p <= 100))) throw new HttpError('invalid_body', `${where} must be ${PERCENT_RULE}, or null; ${shape}`);
      if (p !== null && !isValidPercent(p)) throw new HttpError('invalid_percent', `${where} must be multiple of 0.01, got ${p}; ${shape}`);
      return p;
    };
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError('invalid_body', `body must be an object; ${shape}`);
    const keys = Object.keys(body);
    const table = opts.table();
    const wanted = new Map<string, number | null>();
    if (keys.length === 1 && keys[0] === 'all') {
      const p = checkPercent((body as { all: unknown }).all, 'all');
      for (const r of table.routes) wanted.set(r.id, p);
    } else if (keys.length === 1 && keys[0] === 'routes') {
      const routes = (body as { routes: unknown }).routes;
      if (typeof routes !== 'object' || routes === null || Array.isArray(routes) || !Object.keys(routes).length) {
        throw new HttpError('invalid_body', `routes must be an object naming at least one route; ${shape}`);
      }
      for (const [id, p] of Object.entries(routes)) wanted.set(id, checkPercent(p, `routes.${id}`));
      if (wanted.has(DEFAULT_ROUTE_ID)) throw new HttpError('default_route_fixed', DEFAULT_ROUTE_FIXED);
      const unknown = [...wanted.keys()].filter((id) => !table.routes.some((r) => r.id === id));
      if (unknown.length) {
        const hints = unknown.map((id) => didYouMean(id, table.routes.map((r) => r.id), (c) => `${JSON.stringify(c)} for ${JSON.stringify(id)}`)).join('');
        throw new HttpError('unknown_route', `no route ${unknown.map((id) => JSON.stringify(id)).join(', ')} in the manifest${hints}; nothing changed; routes: ${table.routes.map((r) => r.id).join(', ') || '(none)'}`);
      }
    } else {
      throw new HttpError('invalid_body', `unexpected keys ${JSON.stringify(keys)}; ${shape}`);
    }
    const routes = table.routes.filter((r) => wanted.has(r.id));
    const client = req.socket.remoteAddress ?? 'unknown';
    // One version, on either store: through Redis the whole fleet takes it at once (the kill switch).
    const { previous, version, routes: after } = await unlessUnavailable(state.apply(wanted, client));
    const changes: Record<string, { old: number; new: number }> = {};
    for (const r of routes) {
      changes[r.id] = { old: previous.get(r.id)?.percent ?? r.canary.percent, new: effectivePercent(r, after[r.id]) };
      changesTotal.inc({ route: r.id });
    }
    log(`admin: ${client} changed ${routes.length} routes as one (state version ${version}): ${routes.map((r) => `${r.id} ${changes[r.id].old}% -> ${changes[r.id].new}%`).join(', ')}`);
    await record({ time: new Date().toISOString(), action: 'bulk', routes: changes, client, state_version: version });
    const stats = await gateway.routeStats();
    return { manifest_sha256: table.sha256, state_version: version, changes, routes: [...table.routes, table.defaultRoute].map((r) => routeView(r, state, stats, opts.rollout)) };
  }

  /** GET /routes/:id/rollout, and POST with {"action": ...}. */
  async function rolloutEndpoint(req: IncomingMessage, route: Route, method: string) {
    const view = opts.rollout?.view(route) ?? null;
    if (view === null) throw new HttpError('no_rollout', `route ${JSON.stringify(route.id)} has no canary.rollout in the manifest; add one (steps, interval, checks) to roll it out step by step`);
    const answer = (v: typeof view) => ({ route: route.id, to: route.to.text, ...v });
    if (method !== 'POST') return answer(view);
    const body = await readJsonBody(req);
    const expected = `expected {"action": ${ROLLOUT_ACTIONS.map((a) => JSON.stringify(a)).join(' | ')}}`;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError('invalid_body', `body must be an object; ${expected}`);
    // Each problem named for what it is: an extra key is not an unknown action.
    const extra = Object.keys(body).filter((k) => k !== 'action');
    if (extra.length) throw new HttpError('invalid_body', `unexpected key${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k)).join(', ')}; ${expected}`);
    const action = (body as { action?: unknown }).action;
    if (!ROLLOUT_ACTIONS.includes(action as RolloutAction)) {
      throw new HttpError('invalid_body', `${typeof action === 'string' ? `unknown action ${JSON.stringify(action)}${didYouMean(action, [...ROLLOUT_ACTIONS])}; ` : ''}${expected}`);
    }
    const client = req.socket.remoteAddress ?? 'unknown';
    try {
      return answer(await unlessUnavailable(opts.rollout!.act(route, action as RolloutAction, client)));
    } catch (err) {
      if (err instanceof RolloutConflict) throw new HttpError('rollout_conflict', `route ${route.id}: ${err.message}`);
      throw err;
    }
  }

  function auditLimit(query: string): number {
    const raw = new URLSearchParams(query).get('limit');
    if (raw === null) return AUDIT_DEFAULT_LIMIT;
    if (!/^[0-9]{1,6}$/.test(raw) || Number(raw) < 1) throw new HttpError('invalid_query', `limit must be a whole number from 1 to ${AUDIT_MAX_LIMIT}, got ${JSON.stringify(raw)}`);
    return Math.min(Number(raw), AUDIT_MAX_LIMIT);
  }

  async function nginxHosts(stateVersion = state.snapshot().version) {
    const reports = opts.hostReports ? await opts.hostReports().catch((err: Error) => { log(`admin: nginx host reports: ${err.message}`); return []; }) : [];
    return reports.map((h) => hostView(h, stateVersion));
  }

  async function instances(): Promise<{ gateways: InstanceView[]; nginx: ReturnType<typeof hostView>[] }> {
    const all = await unlessUnavailable(opts.instances());
    const newest = Math.max(state.snapshot().version, ...all.map((i) => i.state_version));
    const me = opts.instanceId();
    return {
      gateways: all.map((i) => ({ ...i, lag: newest - i.state_version, self: i.id === me })),
      nginx: await nginxHosts(newest),
    };
  }

  /** The store unreachable (Redis): 503 state_unavailable from the catalogue, retry soon. */
  async function unlessUnavailable<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      if (err instanceof StateUnavailableError) throw new HttpError(err.code, err.message, { 'retry-after': '1' });
      throw err;
    }
  }

  /** Which token was sent: null when neither matches. Both are compared, in constant time. */
  function access(req: IncomingMessage): Access | null {
    const presented = bearerToken(req.headers.authorization);
    const admin = tokenMatches(opts.token, presented);
    const read = opts.readToken ? tokenMatches(opts.readToken, presented) : false;
    return admin ? 'admin' : read ? 'read' : null;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostOk(req.headers.host)) throw new HttpError('forbidden_host', 'Host header is not this admin API\'s address (DNS-rebinding protection)');
    if (!originAllowed(req.headers.origin, hostOk)) throw new HttpError('forbidden_origin', 'cross-origin requests are refused (Origin is not this admin API)');

    const [path, query = ''] = (req.url ?? '/').split(/\?(.*)/s, 2);
    const method = req.method ?? 'GET';
    if (ui.owns(path)) {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError('method_not_allowed', `${method} is not allowed on ${path}`, { allow: 'GET, HEAD' });
      if (ui.serve(req, res, path)) return;
      throw new HttpError('not_found', `no dashboard file ${JSON.stringify(path)}; the dashboard is at /ui/`);
    }
    const routeMatch = /^\/routes\/([^/]+)(\/shadow|\/rollout)?$/.exec(path);
    const shadow = routeMatch?.[2] === '/shadow';
    const rollout = routeMatch?.[2] === '/rollout';
    const allow = ENDPOINTS[path] ?? (shadow ? ['GET', 'HEAD', 'DELETE'] : rollout ? ['GET', 'HEAD', 'POST'] : routeMatch ? ['GET', 'HEAD', 'PATCH'] : null);
    if (!allow) throw new HttpError('not_found', `no such endpoint ${JSON.stringify(path)}; endpoints: ${ENDPOINT_LIST}`);
    if (!allow.includes(method)) throw new HttpError('method_not_allowed', `${method} is not allowed on ${path}`, { allow: allow.join(', ') });

    // Still 200 while the store is unreachable: the instance serves its last state (fail-static);
    // the body says so for monitoring, and supervisors do not restart a working gateway.
    if (path === '/healthz') {
      const h = state.health();
      return sendJson(res, 200, {
        status: h.available ? 'ok' : 'degraded', service: ADMIN_SERVICE, version: VERSION,
        state: { store: h.store, available: h.available, state_version: h.version, stale_seconds: h.stale_seconds, state_adopted_at_ms: h.adopted_at_ms },
      });
    }
    // Nothing below says anything about routes until the token checks out.
    const who = access(req);
    if (!who) {
      throw new HttpError('unauthorized', 'missing or wrong admin token: send Authorization: Bearer <token>', { 'www-authenticate': 'Bearer realm="strangler-admin"' });
    }
    if (who === 'read' && method !== 'GET' && method !== 'HEAD') {
      throw new HttpError('read_only', `the read-only token (STRANGLER_READ_TOKEN) cannot change anything: ${method} ${path} needs the admin token`);
    }
    if (path === '/whoami') return sendJson(res, 200, { access: who });
    if (path === '/metrics') {
      const parts = [await gateway.metricsText(), await registry.metrics(), opts.rollout ? await opts.rollout.registry.metrics() : ''];
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
      return void res.end(parts.filter(Boolean).join('\n'));
    }
    if (path === '/audit') return sendJson(res, 200, { entries: await unlessUnavailable(audit.last(auditLimit(query))) });
    if (path === '/instances') return sendJson(res, 200, await instances());
    if (path === '/routes') {
      if (method === 'PATCH') return sendJson(res, 200, await patchRoutes(req));
      const table = opts.table();
      const stats = await gateway.routeStats();
      return sendJson(res, 200, {
        manifest_sha256: table.sha256,
        state_version: state.snapshot().version,
        routes: [...table.routes, table.defaultRoute].map((r) => routeView(r, state, stats, opts.rollout)),
        nginx_hosts: await nginxHosts(),
      });
    }
    let id: string;
    try { id = decodeURIComponent(routeMatch![1]); } catch { throw new HttpError('unknown_route', 'malformed route id'); }
    if (method === 'PATCH') return sendJson(res, 200, await patchRoute(req, id));
    const route = findRoute(id);
    if (rollout) return sendJson(res, 200, await rolloutEndpoint(req, route, method));
    if (shadow) {
      if (route.shadow === null) throw new HttpError('not_shadowed', `route ${JSON.stringify(id)} has no shadow in the manifest; add shadow: {} to it to compare its two sides`);
      if (method === 'DELETE') {
        await gateway.resetShadow(route.id);
        log(`admin: ${req.socket.remoteAddress ?? 'unknown'} reset the shadow results of route ${route.id}`);
      }
      return sendJson(res, 200, { route: route.id, to: route.to.text, shadow: { percent: route.shadow.percent, methods: route.shadow.methods, ignore: route.shadow.ignore }, ...await gateway.shadowReport(route.id) });
    }
    return sendJson(res, 200, routeView(route, state, await gateway.routeStats(), opts.rollout));
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
      const addr = { host, port: (await listen(server, host, port)).port };
      // Reloads may change gateway.admin_hosts: ask the current table every time.
      hostOk = (h) => hostChecker(addr, opts.table().gateway.admin_hosts)(h);
      return addr;
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
