// Traffic metrics: Prometheus series (prom-client) for /metrics, and plain per-route counters
// for the admin API's route views. Label children are cached: a request costs a few map
// lookups and increments, not a label resolution each.
import { Counter, Histogram, Registry } from 'prom-client';
import type { RouteStats } from './admin-api';

export type FailureKind = 'refused' | 'reset' | 'timeout' | 'connect_timeout' | 'status';

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'strangler_requests_total', help: 'Requests answered, by route, target and status class',
    labelNames: ['route', 'target', 'status_class'] as const, registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'strangler_request_duration_seconds', help: 'Time from request to the end of the response, by route and target',
    labelNames: ['route', 'target'] as const, registers: [this.registry],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  private readonly fallbacks = new Counter({
    name: 'strangler_fallbacks_total', help: 'Requests served by legacy after the route target failed',
    labelNames: ['route', 'reason'] as const, registers: [this.registry],
  });
  private readonly upstreamErrors = new Counter({
    name: 'strangler_upstream_errors_total', help: 'Upstream failures: refused, reset, timeout, or a 502/503/504 answer',
    labelNames: ['route', 'target', 'kind'] as const, registers: [this.registry],
  });
  private readonly children = new Map<string, { inc(): void } | { observe(v: number): void }>();
  private readonly perRoute = new Map<string, { requests: number; errors: number; fallbacks: number }>();

  private routeStats(route: string) {
    let s = this.perRoute.get(route);
    if (s === undefined) this.perRoute.set(route, s = { requests: 0, errors: 0, fallbacks: 0 });
    return s;
  }

  request(route: string, target: string, status: number, seconds: number): void {
    const cls = status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
    const ck = `r\0${route}\0${target}\0${cls}`;
    let c = this.children.get(ck) as { inc(): void } | undefined;
    if (c === undefined) this.children.set(ck, c = this.requests.labels(route, target, cls));
    c.inc();
    const hk = `d\0${route}\0${target}`;
    let h = this.children.get(hk) as { observe(v: number): void } | undefined;
    if (h === undefined) this.children.set(hk, h = this.duration.labels(route, target));
    h.observe(seconds);
    const s = this.routeStats(route);
    s.requests++;
    if (status >= 500) s.errors++;
  }

  fallback(route: string, reason: FailureKind): void {
    this.fallbacks.labels(route, reason).inc();
    this.routeStats(route).fallbacks++;
  }

  upstreamError(route: string, target: string, kind: FailureKind): void {
    this.upstreamErrors.labels(route, target, kind).inc();
  }

  stats(route: string): RouteStats {
    const s = this.perRoute.get(route);
    return s === undefined ? { requests: 0, errors: 0, fallbacks: 0 } : { ...s };
  }
}
