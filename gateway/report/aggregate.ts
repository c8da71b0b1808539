// The migration report's figures, accumulated line by line in bounded memory: per route and
// side (the route's target or legacy) counts, error rates and latency histograms; per day the
// function share; and the backlog — requests no route claims (route "default") grouped into path
// templates. Route ids and templates are bounded: past the bound, new ones are counted under one
// "(other …)" entry, and a note says how many.
import { DEFAULT_ROUTE_ID, matchText, type RouteTable } from '../manifest/route-table';
import { EDGE_TARGETS, NOT_ROUTED } from '../nginx/log-format';
import { LatencyHistogram } from './latency-histogram';
import { pathTemplate } from './path-template';

const EDGE_TARGET_NAMES: ReadonlySet<string> = new Set(Object.values(EDGE_TARGETS));

export const MAX_TEMPLATES = 10_000;
export const MAX_ROUTES = 1_000;
export const OTHER_PATHS = '(other paths)';
export const OTHER_ROUTES = '(other routes)';

class Side {
  requests = 0;
  serverErrors = 0;
  clientErrors = 0;
  seconds = 0;
  readonly latency = new LatencyHistogram();

  add(status: number, seconds: number): void {
    this.requests++;
    if (status >= 500) this.serverErrors++;
    else if (status >= 400) this.clientErrors++;
    this.seconds += seconds;
    this.latency.add(seconds);
  }
}

interface RouteAgg { readonly fn: Side; readonly legacy: Side }
interface DayAgg { requests: number; fn: number }

export interface SideFigures {
  requests: number;
  /** 5xx answers / requests; 0 without requests. */
  error_rate: number;
  /** 4xx answers / requests. */
  client_error_rate: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

export interface RouteFigures {
  id: string;
  /** From the manifest; null for an id only the logs know (a route since removed). */
  match: string | null;
  to: string | null;
  requests: number;
  /** Share served by a function (any target but legacy), 0..1. */
  function_share: number;
  function: SideFigures;
  legacy: SideFigures;
}

/** A path template of the backlog: its figures as a side's, plus its weight in the window. */
export interface BacklogEntry extends SideFigures {
  path: string;
  /** Share of all requests in the window, 0..1. */
  share: number;
  /** Sum of request_time, seconds. */
  time_spent_s: number;
}

export interface MigrationReport {
  generated_at: string;
  manifest: string | null;
  files: string[];
  window: { since: string | null; first: string | null; last: string | null };
  lines: { read: number; counted: number; malformed: number; outside_window: number };
  requests: number;
  /** Share of all requests served by functions (any target other than legacy), 0..1. */
  function_share: number;
  error_rate: number;
  days: { day: string; requests: number; function_share: number }[];
  routes: RouteFigures[];
  /** Manifest routes with no request in the window: candidates to delete rather than migrate. */
  unused_routes: string[];
  /** Unclaimed traffic by path template, busiest first (then by time spent). */
  backlog: BacklogEntry[];
  notes: string[];
}

export interface AggregateOptions {
  /** Lines older than this (ms since the epoch) are skipped. */
  sinceMs?: number | null;
  sinceText?: string | null;
  maxTemplates?: number;
}

const round = (n: number, digits = 4) => Math.round(n * 10 ** digits) / 10 ** digits;
const ratio = (a: number, b: number) => (b === 0 ? 0 : round(a / b, 6));
const ms = (s: number | null) => (s === null ? null : round(s * 1000, 1));

function sideFigures(s: Side): SideFigures {
  return {
    requests: s.requests, error_rate: ratio(s.serverErrors, s.requests), client_error_rate: ratio(s.clientErrors, s.requests),
    p50_ms: ms(s.latency.quantile(0.5)), p95_ms: ms(s.latency.quantile(0.95)),
  };
}

export class ReportAggregator {
  private readonly routes = new Map<string, RouteAgg>();
  private readonly templates = new Map<string, Side>();
  private readonly days = new Map<string, DayAgg>();
  private readonly maxTemplates: number;
  private readonly sinceMs: number | null;
  private total = 0;
  private fnTotal = 0;
  private errors = 0;
  /** The window's first and last lines, as written and as instants (their UTC offsets may differ: nginx local, a gateway in UTC). */
  private first: string | null = null;
  private last: string | null = null;
  private firstMs = Number.POSITIVE_INFINITY;
  private lastMs = Number.NEGATIVE_INFINITY;
  private unrouted = 0;
  private overflowTemplates = 0;
  private overflowRoutes = 0;
  private viaGateway = 0;
  private edgeLines = 0;
  readonly lines = { read: 0, counted: 0, malformed: 0, outside_window: 0 };
  private readonly malformedAt: string[] = [];
  private readonly fileNotes: string[] = [];

  constructor(private readonly table: RouteTable | null, private readonly opts: AggregateOptions = {}) {
    this.maxTemplates = opts.maxTemplates ?? MAX_TEMPLATES;
    this.sinceMs = opts.sinceMs ?? null;
    for (const r of table?.routes ?? []) this.routes.set(r.id, { fn: new Side(), legacy: new Side() });
  }

  /** One log line; `where` (file:line) names it in the note about malformed lines. */
  addLine(line: string, where: () => string): void {
    this.lines.read++;
    if (line.length === 0) return void this.lines.read--; // a trailing newline, not a request
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      return this.malformed(where);
    }
    if (typeof v !== 'object' || v === null) return this.malformed(where);
    const r = v as Record<string, unknown>;
    const { time, route, target, uri, status, request_time: seconds } = r;
    if (typeof time !== 'string' || typeof route !== 'string' || typeof target !== 'string' || typeof uri !== 'string' ||
      typeof status !== 'number' || typeof seconds !== 'number') return this.malformed(where);
    if (this.sinceMs !== null) {
      const t = Date.parse(time);
      if (!(t >= this.sinceMs)) return void this.lines.outside_window++;
    }
    this.add(time, route, target, uri, status, seconds);
  }

  /** A line too long to keep (read-logs.ts): malformed. */
  addOverlong(where: () => string): void {
    this.lines.read++;
    this.malformed(where);
  }

  noteFile(note: string): void {
    this.fileNotes.push(note);
  }

  private malformed(where: () => string): void {
    this.lines.malformed++;
    if (this.malformedAt.length < 3) this.malformedAt.push(where());
  }

  private add(time: string, routeId: string, target: string, uri: string, status: number, seconds: number): void {
    // The edge's own answers (HTTPS redirect, refused Host, ACME files) are no route's traffic.
    if (EDGE_TARGET_NAMES.has(target)) {
      this.edgeLines++;
      return;
    }
    // Refused before any route was chosen (nginx's 400 to a malformed request): neither side's.
    if (routeId === NOT_ROUTED || target === NOT_ROUTED) {
      this.unrouted++;
      return;
    }
    this.lines.counted++;
    this.total++;
    // nginx logs before it recorded who answered a dynamic route say "gateway": not legacy.
    const fn = target !== 'legacy';
    if (target === 'gateway') this.viaGateway++;
    if (fn) this.fnTotal++;
    if (status >= 500) this.errors++;
    // ISO 8601 as both layers write it: the first ten characters are the (server's local) day.
    const day = time.slice(0, 10);
    let d = this.days.get(day);
    if (d === undefined) this.days.set(day, d = { requests: 0, fn: 0 });
    d.requests++;
    if (fn) d.fn++;
    const at = Date.parse(time);
    if (at < this.firstMs) [this.first, this.firstMs] = [time, at];
    if (at > this.lastMs) [this.last, this.lastMs] = [time, at];

    if (routeId === DEFAULT_ROUTE_ID) {
      const path = pathTemplate(uri);
      let t = this.templates.get(path);
      if (t === undefined) {
        if (this.templates.size >= this.maxTemplates) {
          this.overflowTemplates++;
          t = this.templates.get(OTHER_PATHS);
          if (t === undefined) this.templates.set(OTHER_PATHS, t = new Side());
        } else {
          this.templates.set(path, t = new Side());
        }
      }
      t.add(status, seconds);
      return;
    }
    let r = this.routes.get(routeId);
    if (r === undefined) {
      if (this.routes.size >= MAX_ROUTES + (this.table?.routes.length ?? 0)) {
        this.overflowRoutes++;
        routeId = OTHER_ROUTES;
        r = this.routes.get(routeId);
      }
      if (r === undefined) this.routes.set(routeId, r = { fn: new Side(), legacy: new Side() });
    }
    (fn ? r.fn : r.legacy).add(status, seconds);
  }

  finish(meta: { manifest: string | null; files: string[]; now?: Date }): MigrationReport {
    const byId = new Map((this.table?.routes ?? []).map((r) => [r.id, r]));
    const routes: RouteFigures[] = [...this.routes].map(([id, r]) => {
      const requests = r.fn.requests + r.legacy.requests;
      const route = byId.get(id);
      return {
        id, match: route ? matchText(route.match) : null, to: route ? route.to.text : null,
        requests, function_share: ratio(r.fn.requests, requests), function: sideFigures(r.fn), legacy: sideFigures(r.legacy),
      };
    });
    const backlog: BacklogEntry[] = [...this.templates].map(([path, s]) => ({
      path, requests: s.requests, share: ratio(s.requests, this.total), time_spent_s: round(s.seconds, 3),
      error_rate: ratio(s.serverErrors, s.requests), client_error_rate: ratio(s.clientErrors, s.requests),
      p50_ms: ms(s.latency.quantile(0.5)), p95_ms: ms(s.latency.quantile(0.95)),
    })).sort((a, b) => b.requests - a.requests || b.time_spent_s - a.time_spent_s || (a.path < b.path ? -1 : 1));

    const notes = [...this.fileNotes];
    if (this.lines.malformed) {
      notes.push(`${this.lines.malformed} malformed line${this.lines.malformed === 1 ? '' : 's'} skipped (not a JSON object with time, route, target, uri, status, request_time, or longer than 64 KiB), first at ${this.malformedAt.join(', ')}`);
    }
    if (this.overflowTemplates) notes.push(`more than ${this.maxTemplates} path templates: ${this.overflowTemplates} requests of further templates are counted under "${OTHER_PATHS}"`);
    if (this.overflowRoutes) notes.push(`more than ${MAX_ROUTES} route ids not in the manifest: ${this.overflowRoutes} requests counted under "${OTHER_ROUTES}"`);
    if (this.unrouted) notes.push(`${this.unrouted} line${this.unrouted === 1 ? '' : 's'} answered before routing (route "${NOT_ROUTED}": a malformed request nginx refused) not counted`);
    if (this.edgeLines) notes.push(`${this.edgeLines} line${this.edgeLines === 1 ? '' : 's'} answered by nginx's edge servers (HTTPS redirect, refused Host, ACME challenge) not counted`);
    if (this.viaGateway) notes.push(`${this.viaGateway} lines have target "gateway" (nginx logs from before it recorded who answered a dynamic route): counted as function`);
    if (!this.table) notes.push('no manifest: routes without traffic cannot be listed');

    return {
      generated_at: (meta.now ?? new Date()).toISOString(),
      manifest: meta.manifest,
      files: meta.files,
      window: { since: this.opts.sinceText ?? null, first: this.first, last: this.last },
      lines: { ...this.lines },
      requests: this.total,
      function_share: ratio(this.fnTotal, this.total),
      error_rate: ratio(this.errors, this.total),
      days: [...this.days].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, d]) => ({ day, requests: d.requests, function_share: ratio(d.fn, d.requests) })),
      routes,
      unused_routes: routes.filter((r) => r.requests === 0 && byId.has(r.id)).map((r) => r.id),
      backlog,
      notes,
    };
  }
}
