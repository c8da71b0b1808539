// What the shadow copies of each route found, bounded in memory: counters, and per difference
// path a count and one example pair. Examples are cut to a few hundred characters; header values
// that carry credentials are never kept (only Set-Cookie's cookie names are compared at all).
// Served by the admin API (GET/DELETE /routes/:id/shadow) and as Prometheus series.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Difference } from './shadow-compare';
import { MAX_PATHS, matchRatio, worstFirst, type ShadowCounts, type ShadowReport } from './shadow-report';

/** Why a copy was not made or not compared. */
export type SkipReason =
  | 'method' | 'body_streamed' | 'body_too_large' | 'response_too_large' | 'in_flight' | 'pool_full' | 'user_incomplete';

export type ShadowOutcome = 'equal' | 'different' | 'error' | 'skipped';

/** An example value is cut to this many characters of its JSON. */
export const MAX_EXAMPLE_CHARS = 200;
const REDACTED_HEADERS = new Set(['header:authorization', 'header:cookie', 'header:set-cookie', 'header:proxy-authorization']);

interface PathEntry { count: number; example: { legacy: unknown; function: unknown } }

class RouteResults {
  compared = 0;
  equal = 0;
  different = 0;
  errors = 0;
  readonly skipped = new Map<SkipReason, number>();
  readonly differences = new Map<string, PathEntry>();
  readonly noise = new Map<string, number>();
  readonly errorKinds = new Map<string, number>();
  pathsDropped = 0;
}

/** A value as an example: its JSON cut to MAX_EXAMPLE_CHARS (absent stays absent). */
export function exampleValue(path: string, v: unknown): unknown {
  if (v === undefined) return null;
  if (REDACTED_HEADERS.has(path) && path !== 'header:set-cookie') return '[redacted]';
  const text = JSON.stringify(v);
  if (text.length <= MAX_EXAMPLE_CHARS) return v;
  return `${text.slice(0, MAX_EXAMPLE_CHARS)}… (${text.length} characters)`;
}

export class ShadowResults {
  private readonly routes = new Map<string, RouteResults>();
  private readonly outcomes: Counter<'route' | 'outcome'>;
  /** prom-client hashes the labels on every inc(): each (route, outcome) child is looked up once. */
  private readonly children = new Map<string, Map<ShadowOutcome, { inc(): void }>>();

  constructor(registry: Registry) {
    this.outcomes = new Counter({
      name: 'strangler_shadow_total', help: 'Shadow copies by route and outcome (equal, different, error, skipped)',
      labelNames: ['route', 'outcome'] as const, registers: [registry],
    });
    const routes = this.routes;
    new Gauge({
      name: 'strangler_shadow_match_ratio', help: 'Share of compared shadow copies whose answers were equal, by route',
      labelNames: ['route'] as const, registers: [registry],
      // Across --workers the ratio is the workers' average; the counters sum exactly.
      aggregator: 'average',
      collect() {
        this.reset();
        for (const [id, r] of routes) if (r.compared > 0) this.set({ route: id }, r.equal / r.compared);
      },
    });
  }

  private count(id: string, outcome: ShadowOutcome): void {
    let byOutcome = this.children.get(id);
    if (byOutcome === undefined) this.children.set(id, byOutcome = new Map());
    let child = byOutcome.get(outcome);
    if (child === undefined) byOutcome.set(outcome, child = this.outcomes.labels(id, outcome));
    child.inc();
  }

  private route(id: string): RouteResults {
    let r = this.routes.get(id);
    if (r === undefined) this.routes.set(id, r = new RouteResults());
    return r;
  }

  skipped(id: string, reason: SkipReason): void {
    const r = this.route(id);
    r.skipped.set(reason, (r.skipped.get(reason) ?? 0) + 1);
    this.count(id, 'skipped');
  }

  error(id: string, kind: string): void {
    const r = this.route(id);
    r.errors++;
    r.errorKinds.set(kind, (r.errorKinds.get(kind) ?? 0) + 1);
    this.count(id, 'error');
  }

  /** Paths where legacy answered differently to the same request twice. */
  learnNoise(id: string, paths: readonly string[]): void {
    const r = this.route(id);
    for (const p of paths) {
      if (r.noise.has(p) || r.noise.size < MAX_PATHS) r.noise.set(p, (r.noise.get(p) ?? 0) + 1);
    }
  }

  isNoise(id: string, path: string): boolean {
    return this.routes.get(id)?.noise.has(path) ?? false;
  }

  /** One comparison's verdict: the differences left after ignore rules and learned noise. */
  compared(id: string, differences: readonly Difference[]): void {
    const r = this.route(id);
    r.compared++;
    if (differences.length === 0) {
      r.equal++;
      this.count(id, 'equal');
      return;
    }
    r.different++;
    this.count(id, 'different');
    for (const d of differences) {
      const entry = r.differences.get(d.path);
      if (entry) entry.count++;
      else if (r.differences.size < MAX_PATHS) r.differences.set(d.path, { count: 1, example: { legacy: exampleValue(d.path, d.legacy), function: exampleValue(d.path, d.function) } });
      else r.pathsDropped++;
    }
  }

  report(id: string): ShadowReport {
    const r = this.routes.get(id) ?? new RouteResults();
    return {
      compared: r.compared,
      equal: r.equal,
      different: r.different,
      errors: r.errors,
      skipped: Object.fromEntries(r.skipped),
      match_ratio: matchRatio(r),
      differences: [...r.differences].map(([path, e]) => ({ path, count: e.count, example: e.example })).sort(worstFirst),
      noise: [...r.noise].map(([path, count]) => ({ path, count })).sort(worstFirst),
      error_kinds: Object.fromEntries(r.errorKinds),
      paths_dropped: r.pathsDropped,
    };
  }

  /** Every route's counts, for GET /routes. */
  counts(): Map<string, ShadowCounts> {
    return new Map([...this.routes].map(([id, r]) => [id, { compared: r.compared, equal: r.equal, different: r.different }]));
  }

  reset(id: string): void {
    this.routes.delete(id);
    this.children.delete(id);
    for (const outcome of ['equal', 'different', 'error', 'skipped']) this.outcomes.remove({ route: id, outcome });
  }
}
