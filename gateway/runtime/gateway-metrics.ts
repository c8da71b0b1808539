// Traffic metrics: Prometheus series for /metrics, and per-route counters for the admin API.
// The per-request series (requests by status class, the latency histogram) are plain counters
// in arrays, turned into prom-client's metric format only when /metrics is scraped: a
// prom-client label child hashes its labels on every call, which cost more than the rest of
// the gateway's routing work together. The rare series (fallbacks, upstream errors) use
// prom-client as is.
import { Counter, Registry, type Metric } from 'prom-client';
import { addCounts, RolloutCounter, type RolloutCounts } from './rollout-window';
import { addShadowCounts, NO_COMPARISONS, type ShadowCounts, type ShadowReport } from './shadow-report';

/** Requests and 5xx answers of one side of a route. */
export interface SideStats { requests: number; errors: number }

/** Requests, errors and fallbacks of one route. */
export interface RouteStats {
  requests: number;
  errors: number;
  fallbacks: number;
  /** By who served the request: "legacy" or the route's `to` (a fallback counts for legacy). */
  by_target: Record<string, SideStats>;
  /** A shadowed route's comparisons (shadow-results.ts); absent until it has any. */
  shadow?: ShadowCounts;
  /** A rolled-out route's counts by side since start (rollout-window.ts); absent until it has any. */
  rollout?: RolloutCounts;
}

/** A route without traffic yet. */
export const ZERO_STATS: RouteStats = Object.freeze({ requests: 0, errors: 0, fallbacks: 0, by_target: {} });

/** Sums stats from several sources (the workers of a group). */
export function addRouteStats(a: RouteStats, b: RouteStats): RouteStats {
  const by_target: Record<string, SideStats> = { ...a.by_target };
  for (const [t, s] of Object.entries(b.by_target)) {
    const x = by_target[t] ?? { requests: 0, errors: 0 };
    by_target[t] = { requests: x.requests + s.requests, errors: x.errors + s.errors };
  }
  const sum: RouteStats = { requests: a.requests + b.requests, errors: a.errors + b.errors, fallbacks: a.fallbacks + b.fallbacks, by_target };
  if (a.shadow || b.shadow) sum.shadow = addShadowCounts(a.shadow ?? NO_COMPARISONS, b.shadow ?? NO_COMPARISONS);
  if (a.rollout && b.rollout) sum.rollout = addCounts(a.rollout, b.rollout);
  else if (a.rollout || b.rollout) sum.rollout = a.rollout ?? b.rollout;
  return sum;
}

/** What the admin API needs from the traffic side: one server (gateway-server.ts) or a group of workers (worker-group.ts). */
export interface AdminGateway {
  /** Requests, errors, fallbacks (and shadow comparisons) by route id, summed over every worker. */
  routeStats(): Promise<ReadonlyMap<string, RouteStats>>;
  /** The traffic side's Prometheus text. */
  metricsText(): Promise<string>;
  /** A shadowed route's comparison results, summed over every worker. */
  shadowReport(route: string): Promise<ShadowReport>;
  /** Forgets a route's comparison results (every worker). */
  resetShadow(route: string): Promise<void>;
}


/** unsendable: the gateway could not put the request on the wire as received (nothing reached the upstream). */
export type FailureKind = 'refused' | 'reset' | 'timeout' | 'connect_timeout' | 'unsendable' | 'status';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Status classes 1xx..5xx at 1..5; anything else at 0 ("other"). */
const CLASS_NAMES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'];

/** One (route, target) pair's requests by status class and latency histogram. */
interface Series {
  readonly route: string;
  readonly target: string;
  readonly byClass: Float64Array;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

interface RouteEntry {
  readonly stats: { requests: number; errors: number; fallbacks: number };
  readonly targets: Map<string, Series>;
}

type MetricValue = { value: number; labels: Record<string, string | number>; metricName?: string };

/** A metric prom-client's registry can print: name, help, type and get() in its format. */
function scrapedMetric(name: string, help: string, type: 'counter' | 'histogram', values: () => MetricValue[]): Metric {
  return {
    name, help, type, aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset: () => undefined,
  } as unknown as Metric;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly routes = new Map<string, RouteEntry>();
  /** Rolled-out routes' counts by side, for the rollout's decisions. */
  readonly rollout = new RolloutCounter();
  private readonly fallbacks = new Counter({
    name: 'strangler_fallbacks_total', help: 'Requests served by legacy after the route target failed',
    labelNames: ['route', 'reason'] as const, registers: [this.registry],
  });
  private readonly upstreamErrors = new Counter({
    name: 'strangler_upstream_errors_total', help: 'Upstream failures: refused, reset, timeout, or a 502/503/504 answer',
    labelNames: ['route', 'target', 'kind'] as const, registers: [this.registry],
  });

  constructor() {
    this.registry.registerMetric(scrapedMetric('strangler_requests_total', 'Requests answered, by route, target and status class', 'counter',
      () => this.series().flatMap((s) => CLASS_NAMES.flatMap((cls, i) =>
        s.byClass[i] > 0 ? [{ value: s.byClass[i], labels: { route: s.route, target: s.target, status_class: cls } }] : []))));
    const h = 'strangler_request_duration_seconds';
    this.registry.registerMetric(scrapedMetric(h, 'Time from request to the end of the response, by route and target', 'histogram',
      () => this.series().flatMap((s) => {
        const out: MetricValue[] = [];
        let cumulative = 0;
        BUCKETS.forEach((le, i) => {
          cumulative += s.buckets[i];
          out.push({ metricName: `${h}_bucket`, value: cumulative, labels: { le, route: s.route, target: s.target } });
        });
        out.push({ metricName: `${h}_bucket`, value: s.count, labels: { le: '+Inf', route: s.route, target: s.target } });
        out.push({ metricName: `${h}_sum`, value: s.sum, labels: { route: s.route, target: s.target } });
        out.push({ metricName: `${h}_count`, value: s.count, labels: { route: s.route, target: s.target } });
        return out;
      })));
  }

  private series(): Series[] {
    return [...this.routes.values()].flatMap((r) => [...r.targets.values()]);
  }

  private route(route: string): RouteEntry {
    let r = this.routes.get(route);
    if (r === undefined) this.routes.set(route, r = { stats: { requests: 0, errors: 0, fallbacks: 0 }, targets: new Map() });
    return r;
  }

  request(route: string, target: string, status: number, seconds: number): void {
    const r = this.route(route);
    let s = r.targets.get(target);
    if (s === undefined) {
      r.targets.set(target, s = { route, target, byClass: new Float64Array(CLASS_NAMES.length), buckets: new Float64Array(BUCKETS.length + 1), sum: 0, count: 0 });
    }
    const cls = status >= 100 && status < 600 ? (status / 100) | 0 : 0;
    s.byClass[cls]++;
    let b = 0;
    while (b < BUCKETS.length && seconds > BUCKETS[b]) b++;
    s.buckets[b]++;
    s.sum += seconds;
    s.count++;
    r.stats.requests++;
    if (status >= 500) r.stats.errors++;
  }

  fallback(route: string, reason: FailureKind): void {
    this.fallbacks.labels(route, reason).inc();
    this.route(route).stats.fallbacks++;
  }

  upstreamError(route: string, target: string, kind: FailureKind): void {
    this.upstreamErrors.labels(route, target, kind).inc();
  }

  allStats(): Map<string, RouteStats> {
    const rollout = this.rollout.all();
    return new Map([...this.routes].map(([id, r]) => {
      const stats: RouteStats = { ...r.stats, by_target: Object.fromEntries([...r.targets].map(([t, s]) => [t, sideStats(s)])) };
      const counts = rollout.get(id);
      if (counts) stats.rollout = counts;
      return [id, stats];
    }));
  }
}

/** A target's requests and 5xx answers, from its status classes. */
function sideStats(s: Series): SideStats {
  return { requests: s.byClass.reduce((a, b) => a + b, 0), errors: s.byClass[5] };
}
