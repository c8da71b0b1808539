// What a rollout decides on: per route, per side (the function, `to`, and legacy), the requests,
// failures (5xx, timeouts, connection failures: a function failure the fallback rescued still
// counts), 4xx answers and a latency histogram. Counts only grow; a window is the difference
// between two readings (rollout-controller.ts), so the workers of a group and the instances of a
// fleet can be summed without resetting anyone.
import { LatencyHistogram } from '../report/latency-histogram';
import type { Side } from './decide-route';

/** One side's counts, in a form that crosses processes (JSON) and adds up. */
export interface SideCounts {
  requests: number;
  failures: number;
  status_4xx: number;
  /** LatencyHistogram buckets by index (toSparse). */
  latency: Record<number, number>;
}

export interface RolloutCounts { to: SideCounts; legacy: SideCounts }

export const emptySide = (): SideCounts => ({ requests: 0, failures: 0, status_4xx: 0, latency: {} });
export const emptyCounts = (): RolloutCounts => ({ to: emptySide(), legacy: emptySide() });

function combineSide(a: SideCounts, b: SideCounts, sign: 1 | -1): SideCounts {
  const latency: Record<number, number> = { ...a.latency };
  for (const [i, n] of Object.entries(b.latency)) {
    const v = (latency[Number(i)] ?? 0) + sign * n;
    if (v > 0) latency[Number(i)] = v; else delete latency[Number(i)];
  }
  const clamp = (n: number) => Math.max(0, n);
  return { requests: clamp(a.requests + sign * b.requests), failures: clamp(a.failures + sign * b.failures), status_4xx: clamp(a.status_4xx + sign * b.status_4xx), latency };
}

export function addCounts(a: RolloutCounts, b: RolloutCounts): RolloutCounts {
  return { to: combineSide(a.to, b.to, 1), legacy: combineSide(a.legacy, b.legacy, 1) };
}

/** What was counted since `base` was read (never negative). */
export function countsSince(now: RolloutCounts, base: RolloutCounts): RolloutCounts {
  return { to: combineSide(now.to, base.to, -1), legacy: combineSide(now.legacy, base.legacy, -1) };
}

/** p99 in seconds of one side's counts; null without requests. */
export function p99(side: SideCounts): number | null {
  const h = new LatencyHistogram();
  h.addSparse(side.latency);
  return h.quantile(0.99);
}

/** The counters of one process's traffic side, fed by the rollout AFTER step. */
export class RolloutCounter {
  private readonly routes = new Map<string, { to: SideCounts; legacy: SideCounts; hist: { to: LatencyHistogram; legacy: LatencyHistogram } }>();

  record(route: string, side: Side, status: number, failed: boolean, seconds: number): void {
    let r = this.routes.get(route);
    if (r === undefined) this.routes.set(route, r = { to: emptySide(), legacy: emptySide(), hist: { to: new LatencyHistogram(), legacy: new LatencyHistogram() } });
    const s = r[side];
    s.requests++;
    if (failed) s.failures++;
    else if (status >= 400 && status < 500) s.status_4xx++;
    r.hist[side].add(seconds);
  }

  /** Every route's counts so far. */
  all(): Map<string, RolloutCounts> {
    return new Map([...this.routes].map(([id, r]) => [id, {
      to: { ...r.to, latency: r.hist.to.toSparse() },
      legacy: { ...r.legacy, latency: r.hist.legacy.toSparse() },
    }]));
  }
}
