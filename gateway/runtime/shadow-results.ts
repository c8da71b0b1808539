// What the shadow copies of each route found, bounded in memory: counters, and per difference
// path a count and one example pair (exampleValue: cut to a few hundred characters, header values
// that carry credentials never kept).
// Served by the admin API (GET/DELETE /routes/:id/shadow) and as Prometheus series.
import { Counter, Gauge, type Registry } from 'prom-client';
import { exampleValue, type Difference } from './shadow-compare';
import { MAX_PATHS, matchRatio, worstFirst, type ShadowCounts, type ShadowReport } from './shadow-report';

/** Why a copy was not made or not compared. */
export type SkipReason =
  | 'method' | 'body_streamed' | 'body_too_large' | 'response_too_large' | 'in_flight' | 'pool_full' | 'user_incomplete';

export type ShadowOutcome = 'equal' | 'different' | 'error' | 'skipped';

/** A path is cut to this many characters: a key can be as long as a body. */
export const MAX_PATH_CHARS = 300;
/**
 * Diffy's rule for learned noise: the function's difference at a path is left out only while it
 * differs there at most 20% more often than legacy differs from itself. A path where legacy
 * differed once (a 503 in a noise sample) does not hide a function that differs every time.
 */
const NOISE_MARGIN = 1.2;

interface PathEntry { count: number; example: { legacy: unknown; function: unknown } }
/** A path where legacy differed from itself `count` times; `leftOut`: the function's differences there left out of the verdict as noise. */
interface NoiseEntry { count: number; leftOut: number }

class RouteResults {
  compared = 0;
  equal = 0;
  different = 0;
  errors = 0;
  readonly skipped = new Map<SkipReason, number>();
  readonly differences = new Map<string, PathEntry>();
  /** Second copies to legacy compared with the first (whatever they found). */
  noiseSamples = 0;
  readonly noise = new Map<string, NoiseEntry>();
  readonly errorKinds = new Map<string, number>();
  pathsDropped = 0;
}

function boundedPath(path: string): string {
  return path.length <= MAX_PATH_CHARS ? path : `${path.slice(0, MAX_PATH_CHARS)}…`;
}

export class ShadowResults {
  private readonly routes = new Map<string, RouteResults>();
  private readonly outcomes: Counter<'route' | 'outcome'>;
  /** prom-client hashes the labels on every inc(): each (route, outcome) child is looked up once. */
  private readonly children = new Map<string, Map<ShadowOutcome, { inc(): void }>>();
  /** Bumped by reset(): a comparison begun before it is not counted after it. */
  private readonly generations = new Map<string, number>();

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

  generation(id: string): number {
    return this.generations.get(id) ?? 0;
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

  /** A noise sample: the paths where legacy answered the same request differently twice (none: it agreed with itself). */
  learnNoise(id: string, paths: readonly string[]): void {
    const r = this.route(id);
    r.noiseSamples++;
    for (const path of paths) {
      const p = boundedPath(path);
      const entry = r.noise.get(p);
      if (entry) entry.count++;
      else if (r.noise.size < MAX_PATHS) r.noise.set(p, { count: 1, leftOut: 0 });
    }
  }

  /** Whether the function's difference at `p` (in the comparison being counted) is legacy's own noise, by NOISE_MARGIN. */
  private isNoise(r: RouteResults, p: string): boolean {
    const noise = r.noise.get(p);
    if (noise === undefined) return false;
    const functionDiffers = (noise.leftOut + (r.differences.get(p)?.count ?? 0) + 1) / r.compared;
    return functionDiffers <= NOISE_MARGIN * (noise.count / r.noiseSamples);
  }

  /**
   * One comparison's verdict: the differences left after the ignore rules, less learned noise.
   * `examples`: their values are examples already (exampleDifferences); else a new path's are made here.
   */
  compared(id: string, all: readonly Difference[], examples = false): void {
    const r = this.route(id);
    r.compared++;
    const differences: Difference[] = [];
    for (const d of all) {
      const p = boundedPath(d.path);
      if (this.isNoise(r, p)) r.noise.get(p)!.leftOut++;
      else differences.push(p === d.path ? d : { ...d, path: p });
    }
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
      else if (r.differences.size < MAX_PATHS || this.evictOnce(r)) {
        r.differences.set(d.path, { count: 1, example: examples ? { legacy: d.legacy, function: d.function } : { legacy: exampleValue(d.path, d.legacy), function: exampleValue(d.path, d.function) } });
      }
      else r.pathsDropped++;
    }
  }

  /**
   * Room for a new path in a full table: the oldest path seen only once goes (counted as dropped),
   * so paths that differ once each (generated ids as keys) cannot keep out one that differs often.
   */
  private evictOnce(r: RouteResults): boolean {
    for (const [path, e] of r.differences) {
      if (e.count === 1) {
        r.differences.delete(path);
        r.pathsDropped++;
        return true;
      }
    }
    return false;
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
      noise_samples: r.noiseSamples,
      noise: [...r.noise].map(([path, e]) => ({ path, count: e.count, left_out: e.leftOut })).sort(worstFirst),
      error_kinds: Object.fromEntries(r.errorKinds),
      paths_dropped: r.pathsDropped,
    };
  }

  /** Every route's counts, for GET /routes. */
  counts(): Map<string, ShadowCounts> {
    return new Map([...this.routes].map(([id, r]) => [id, { compared: r.compared, equal: r.equal, different: r.different }]));
  }

  reset(id: string): void {
    this.generations.set(id, this.generation(id) + 1);
    this.routes.delete(id);
    this.children.delete(id);
    for (const outcome of ['equal', 'different', 'error', 'skipped']) this.outcomes.remove({ route: id, outcome });
  }
}
