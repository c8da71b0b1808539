// A route's shadow report as the admin API answers it, and the sum of several (workers, or the
// gateway instances sharing a state): plain data, apart from the live results (shadow-results.ts)
// and their Prometheus series, so `strangler diff` loads no metrics code.

/** Difference paths kept per route; more are counted as `paths_dropped`. */
export const MAX_PATHS = 200;

/** The counts behind a route's match ratio. */
export interface ShadowCounts { compared: number; equal: number; different: number }

export const NO_COMPARISONS: ShadowCounts = Object.freeze({ compared: 0, equal: 0, different: 0 });

export function addShadowCounts(a: ShadowCounts, b: ShadowCounts): ShadowCounts {
  return { compared: a.compared + b.compared, equal: a.equal + b.equal, different: a.different + b.different };
}

/** What GET /routes shows of a shadowed route (the dashboard's match rate). */
export interface ShadowSummary extends ShadowCounts { match_ratio: number | null }

/** Share of compared copies whose answers were equal; null before the first comparison. */
export function matchRatio(c: ShadowCounts): number | null {
  return c.compared ? c.equal / c.compared : null;
}

export function shadowSummary(c: ShadowCounts): ShadowSummary {
  return { compared: c.compared, equal: c.equal, different: c.different, match_ratio: matchRatio(c) };
}

export interface ShadowReport extends ShadowCounts {
  errors: number;
  skipped: Record<string, number>;
  match_ratio: number | null;
  differences: { path: string; count: number; example: { legacy: unknown; function: unknown } }[];
  /** Second copies to legacy compared with the first. */
  noise_samples: number;
  /**
   * Paths where legacy differed from itself (`count` of the samples); the function's differences
   * there are left out of the verdict (`left_out`) while it differs no more often than legacy does.
   */
  noise: { path: string; count: number; left_out: number }[];
  error_kinds: Record<string, number>;
  paths_dropped: number;
}

/** The reports of several workers or gateway instances as one: counts summed, the first example of each path kept, the most frequent paths kept. */
export function sumShadowReports(reports: readonly ShadowReport[]): ShadowReport {
  const differences = new Map<string, ShadowReport['differences'][number]>();
  const noise = new Map<string, ShadowReport['noise'][number]>();
  const sum: ShadowReport = { compared: 0, equal: 0, different: 0, errors: 0, skipped: {}, match_ratio: null, differences: [], noise_samples: 0, noise: [], error_kinds: {}, paths_dropped: 0 };
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  for (const r of reports) {
    sum.compared += r.compared;
    sum.equal += r.equal;
    sum.different += r.different;
    sum.errors += r.errors;
    sum.paths_dropped += r.paths_dropped;
    sum.noise_samples += r.noise_samples ?? 0; // older versions did not report it
    add(sum.skipped, r.skipped);
    add(sum.error_kinds, r.error_kinds);
    for (const d of r.differences) {
      const seen = differences.get(d.path);
      if (seen) seen.count += d.count;
      else differences.set(d.path, { ...d });
    }
    for (const n of r.noise) {
      const seen = noise.get(n.path);
      if (seen) {
        seen.count += n.count;
        seen.left_out += n.left_out ?? 0;
      } else noise.set(n.path, { path: n.path, count: n.count, left_out: n.left_out ?? 0 });
    }
  }
  sum.match_ratio = matchRatio(sum);
  const all = [...differences.values()].sort(worstFirst);
  sum.differences = all.slice(0, MAX_PATHS);
  for (const d of all.slice(MAX_PATHS)) sum.paths_dropped += d.count;
  sum.noise = [...noise.values()].sort(worstFirst).slice(0, MAX_PATHS);
  return sum;
}

/** Most frequent first, then by path: the order a person reads them in. */
export function worstFirst(a: { path: string; count: number }, b: { path: string; count: number }): number {
  return b.count - a.count || a.path.localeCompare(b.path);
}
