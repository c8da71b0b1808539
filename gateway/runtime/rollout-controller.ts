// Carries out the rollouts: the operators' actions (admin API), and a loop that each tick
// publishes this instance's counts of every rolled-out route's window and, on the one instance
// holding the lease, decides (rollout-record.ts) and stores the outcome through the runtime
// state, so every instance serves it and a restart resumes it. Every decision goes to the audit
// log and to Prometheus.
import { Counter, Gauge, Registry } from 'prom-client';
import type { Route, RouteTable } from '../manifest/route-table';
import type { AuditSink } from './audit-log';
import type { AdminGateway } from './gateway-metrics';
import {
  applyAction, decide, epochOf, RolloutConflict, rolloutView, type RolloutAction, type RolloutChange, type RolloutRecord,
} from './rollout-record';
import type { RolloutShare } from './rollout-share';
import { countsSince, emptyCounts, type RolloutCounts } from './rollout-window';
import type { RuntimeState } from './runtime-state';
import { matchRatio, NO_COMPARISONS } from './shadow-report';

export interface RolloutControllerOptions {
  table: () => RouteTable;
  state: RuntimeState;
  gateway: Pick<AdminGateway, 'routeStats'>;
  share: RolloutShare;
  audit: AuditSink;
  log?: (line: string) => void;
  /** How often to publish and decide (default: a fifth of the shortest interval, between 50 ms and 1 s). */
  tickMs?: number;
}

export type RolloutView = ReturnType<typeof rolloutView>;

export interface RolloutController {
  readonly registry: Registry;
  /** The route's rollout as GET /routes/:id/rollout shows it; null when the manifest gives it none. */
  view(route: Route): RolloutView | null;
  /** An operator's action: RolloutConflict when the state does not allow it; StateUnavailableError from the store. */
  act(route: Route, action: RolloutAction, by: string): Promise<RolloutView>;
  /** Runs one tick now (tests, and the loop). */
  tick(): Promise<void>;
  /** Stops the loop; resolves once a tick in progress is over. */
  close(): Promise<void>;
}

export function createRolloutController(o: RolloutControllerOptions): RolloutController {
  const log = o.log ?? (() => undefined);
  const registry = new Registry();
  const decisions = new Counter({ name: 'strangler_rollout_decisions_total', help: 'Rollout decisions and actions by route and result (advance, promote, hold, rollback, start, pause, resume, abort)', labelNames: ['route', 'result'] as const, registers: [registry] });
  new Gauge({
    name: 'strangler_rollout_step', help: 'The step each rolled-out route is at (1 = the first; 0: not started or waiting for the shadow gate)', labelNames: ['route', 'state'], registers: [registry],
    collect() {
      this.reset();
      for (const r of o.table().routes) {
        const v = view(r);
        if (v) this.set({ route: r.id, state: v.state }, v.step);
      }
    },
  });
  /** Per route: the window this instance counts in, and its traffic side's counts when the window began here. */
  const baselines = new Map<string, { epoch: string; base: RolloutCounts }>();
  /** The traffic side counts from about when this controller starts (the same process, or workers it started). */
  const countingSince = Date.now();
  let ticking: Promise<void> = Promise.resolve();

  const recordOf = (id: string): RolloutRecord | undefined => o.state.override(id)?.rollout;

  function view(route: Route): RolloutView | null {
    const plan = route.canary.rollout;
    if (plan === null) return null;
    return rolloutView(plan, recordOf(route.id), o.state.effectivePercent(route));
  }

  async function audit(route: Route, change: RolloutChange, by: string, version: number): Promise<void> {
    const d = change.record.history[change.record.history.length - 1];
    decisions.inc({ route: route.id, result: d.result });
    log(`rollout: ${route.id}: ${d.result}: ${d.reason} (${change.percent}%, state version ${version})`);
    await o.audit.append({
      time: d.time, action: 'rollout', route: route.id, result: d.result, state: change.record.state, step: change.record.step + 1,
      percent: change.percent, reason: d.reason, ...(d.figures && { figures: d.figures }), client: by, state_version: version,
    }).catch((err: Error) => log(`rollout: audit log: ${err.message}`));
  }

  /**
   * Stores a change computed from the record as the store holds it when the change lands: an
   * action or decision made on a record another instance changed meanwhile is computed again.
   */
  async function store(route: Route, by: string, compute: (current: RolloutRecord | undefined, percent: number) => RolloutChange | undefined): Promise<RolloutChange | undefined> {
    let made: RolloutChange | undefined;
    let error: unknown;
    const applied = await o.state.apply(new Map([[route.id, (current) => {
      made = undefined;
      try {
        made = compute(current?.rollout, current?.percent ?? route.canary.percent);
      } catch (err) {
        error = err;
        return undefined;
      }
      return made && { percent: made.percent, rollout: made.record };
    }]]), by);
    if (error !== undefined) throw error;
    if (made) await audit(route, made, by, applied.version);
    return made;
  }

  async function act(route: Route, action: RolloutAction, by: string): Promise<RolloutView> {
    const plan = route.canary.rollout;
    if (plan === null) throw new RolloutConflict(`route ${route.id} has no canary.rollout in the manifest`);
    await store(route, by, (current, percent) => applyAction(plan, current, percent, action, by, new Date()));
    return view(route)!;
  }

  /** This instance's counts in the record's window: the traffic side's counts since the window began here. */
  function windowCounts(id: string, r: RolloutRecord, now: RolloutCounts): RolloutCounts {
    const epoch = epochOf(r);
    const b = baselines.get(id);
    if (b === undefined || b.epoch !== epoch) {
      // A window that began before this process started counting (a restart mid-step): all it
      // counted is the window's. Otherwise the window's counts start now.
      const before = Date.parse(r.window_started_at) <= countingSince;
      baselines.set(id, { epoch, base: before ? emptyCounts() : now });
      return before ? now : emptyCounts();
    }
    return countsSince(now, b.base);
  }

  async function tickOnce(): Promise<void> {
    // Only running rollouts count and decide: idle ones cost nothing (no stats asked of the workers).
    const routes = o.table().routes.filter((r) => r.canary.rollout !== null && recordOf(r.id)?.state === 'running');
    if (!routes.length) return;
    const stats = await o.gateway.routeStats();
    const active: Route[] = [];
    for (const route of routes) {
      const r = recordOf(route.id);
      if (r === undefined || r.state !== 'running') continue;
      const epoch = epochOf(r);
      const counts = windowCounts(route.id, r, stats.get(route.id)?.rollout ?? emptyCounts());
      await o.share.publish(route.id, epoch, counts).catch((err: Error) => log(`rollout: ${route.id}: publishing counts: ${err.message}`));
      active.push(route);
    }
    if (!active.length || !await o.share.lead(Math.max(3000, 3 * tickMs))) return;
    for (const route of active) {
      const plan = route.canary.rollout!;
      const r = recordOf(route.id);
      if (r === undefined || r.state !== 'running') continue;
      const epoch = epochOf(r);
      const { counts } = await o.share.gather(route.id, epoch);
      const sc = stats.get(route.id)?.shadow ?? NO_COMPARISONS;
      const ratio = matchRatio(sc);
      const shadowMatch = { match: ratio === null ? null : 100 * ratio, compared: sc.compared };
      const now = new Date();
      // Decided on this window only: a record another instance (or an operator) changed since is left alone.
      if (decide(plan, r, counts, shadowMatch, now) === undefined) continue;
      await store(route, 'rollout', (current) => (current !== undefined && epochOf(current) === epoch && current.state === 'running' ? decide(plan, current, counts, shadowMatch, now) : undefined))
        .catch((err: Error) => log(`rollout: ${route.id}: cannot store the decision (${err.message}); deciding again next tick`));
    }
  }

  const shortest = () => Math.min(...o.table().routes.filter((r) => r.canary.rollout !== null).map((r) => r.canary.rollout!.interval.ms), 5000);
  const tickMs = o.tickMs ?? Math.max(50, Math.min(1000, Math.floor(shortest() / 5)));
  const tick = (): Promise<void> => {
    ticking = ticking.then(tickOnce, tickOnce).catch((err: Error) => log(`rollout: ${err.message}`));
    return ticking;
  };
  const timer = setInterval(() => void tick(), tickMs);
  timer.unref();

  return {
    registry, view, act, tick,
    close: async () => {
      clearInterval(timer);
      await ticking;
      await o.share.release().catch(() => undefined);
    },
  };
}
