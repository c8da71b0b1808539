// The runtime state every gateway instance serves: per-route overrides of the canary percent and
// a change counter. One interface, two stores: a local file (state-store.ts, the embedded
// default) and Redis (redis-state-store.ts, shared by many instances). Readers on the request
// path only ever touch memory; `apply` is the one way to change anything.
import type { Route } from '../manifest/route-table';
import { isValidPercent, PERCENT_RULE } from '../manifest/percent';
import { isRolloutRecord, type RolloutRecord } from './rollout-record';

export interface Override {
  readonly percent: number;
  readonly updated_at: string;
  /** Who made the change: the admin client's address. */
  readonly by: string;
  /** The route's progressive rollout (rollout-record.ts), when one was started; it set `percent`. */
  readonly rollout?: RolloutRecord;
}

export interface StateSnapshot {
  /** Change counter: increases by one on every change; 0 = never changed. */
  readonly version: number;
  readonly routes: Readonly<Record<string, Override>>;
  /**
   * Which history the counter counts in (Redis store): chosen when a state is seeded into an
   * empty Redis and kept by every change after. Two states at one version are the same state
   * only in the same lineage. Absent: a file store's state, or one written before lineages.
   */
  readonly lineage?: string;
}

/** A snapshot's lineage, '' for none. */
export const lineageOf = (s: Pick<StateSnapshot, 'lineage'>): string => s.lineage ?? '';

/**
 * A rollout's change of a route, computed from the route's override as the store holds it when
 * the change lands (a compare-and-set retry computes it again): the new percent and record, or
 * undefined to leave the route as it is.
 */
export type RolloutUpdate = (current: Override | undefined) => { readonly percent: number; readonly rollout: RolloutRecord } | undefined;

/** A batch of changes by route id: a percent (a manual change, which ends a rollout), null to clear the override, or a rollout's update. */
export type StateChanges = ReadonlyMap<string, number | null | RolloutUpdate>;

export interface ApplyResult {
  readonly version: number;
  /** Each changed route's override before the change (undefined: none). */
  readonly previous: ReadonlyMap<string, Override | undefined>;
  /**
   * The overrides this change left (the state at `version`). A caller reads its result here, not
   * from the live state: a change queued behind this one may already be in effect.
   */
  readonly routes: Readonly<Record<string, Override>>;
}

export interface StateHealth {
  readonly store: 'file' | 'redis';
  /** Where the state lives, without credentials. */
  readonly location: string;
  /** false while the store cannot be reached: the last state keeps serving, changes are refused. */
  readonly available: boolean;
  readonly version: number;
  /** Seconds since the state was last confirmed current against the store (0 for a file). */
  readonly stale_seconds: number;
  /**
   * When this instance began serving `version` (epoch ms, sub-millisecond): against the time a
   * change was made, how long it took to reach this instance.
   */
  readonly adopted_at_ms: number;
}

export interface RuntimeState {
  /** Hot path: the percent of requests sent to the route's `to`, from memory. */
  effectivePercent(route: Route): number;
  override(routeId: string): Override | undefined;
  snapshot(): StateSnapshot;
  /** Applies the batch atomically as one new version; resolves once it is stored and in effect here. */
  apply(changes: StateChanges, by: string): Promise<ApplyResult>;
  /** Called with every state this instance starts serving (its own changes and others'), awaited before a change resolves. */
  onApplied(fn: (state: StateSnapshot) => Promise<void>): void;
  health(): StateHealth;
  close(): Promise<void>;
}

/** The store cannot take a change now (Redis unreachable): the caller answers 503 and nothing changed. */
export class StateUnavailableError extends Error {
  readonly code = 'state_unavailable';
}

/** Rejects a batch with a percent out of range before anything is stored. */
export function checkChanges(changes: StateChanges): void {
  for (const [id, p] of changes) {
    if (typeof p === 'number' && !isValidPercent(p)) throw new RangeError(`route ${id}: percent must be ${PERCENT_RULE}, got ${p}`);
  }
}

/** Same overrides: a no-op batch (clearing what is not set) makes no new version. */
export function sameRoutes(a: Readonly<Record<string, Override>>, b: Readonly<Record<string, Override>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] === a[k] || (b[k] !== undefined && a[k].percent === b[k].percent && a[k].updated_at === b[k].updated_at && a[k].by === b[k].by && a[k].rollout === b[k].rollout));
}

/** A batch against a state: each changed route's override before it, and the state it makes (null: it changes nothing). */
export function planChanges(base: StateSnapshot, changes: StateChanges, by: string): { previous: Map<string, Override | undefined>; next: StateSnapshot | null } {
  const previous = new Map([...changes.keys()].map((id) => [id, base.routes[id]] as const));
  const routes = applyChanges(base.routes, changes, by, new Date().toISOString());
  return { previous, next: sameRoutes(routes, base.routes) ? null : { ...base, version: base.version + 1, routes } };
}

/** The routes after `changes`, new overrides stamped with `by` and `now`. */
export function applyChanges(routes: Readonly<Record<string, Override>>, changes: StateChanges, by: string, now: string): Record<string, Override> {
  const next: Record<string, Override> = { ...routes };
  for (const [id, p] of changes) {
    if (p === null) delete next[id];
    else if (typeof p === 'number') next[id] = Object.freeze({ percent: Math.round(p * 100) / 100, updated_at: now, by });
    else {
      const u = p(routes[id]);
      if (u === undefined) continue;
      if (!isValidPercent(u.percent)) throw new RangeError(`route ${id}: percent must be ${PERCENT_RULE}, got ${u.percent}`);
      next[id] = Object.freeze({ percent: u.percent, updated_at: now, by, rollout: u.rollout });
    }
  }
  return next;
}

/** The overrides of a snapshot, as the request path reads them. */
export function overridesOf(s: StateSnapshot): ReadonlyMap<string, Override> {
  return new Map(Object.entries(s.routes));
}

/** A snapshot's shape, checked: for state files, Redis values and pub/sub messages. null when it is not one. */
export function parseSnapshot(data: unknown): { snapshot: StateSnapshot } | { problem: string } {
  const d = data as { version?: unknown; routes?: unknown; lineage?: unknown } | null;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return { problem: 'is not a JSON object' };
  if (typeof d.version !== 'number' || !Number.isSafeInteger(d.version) || d.version < 0) return { problem: `has version ${JSON.stringify(d.version)}, expected a change counter (integer >= 0)` };
  if (typeof d.routes !== 'object' || d.routes === null || Array.isArray(d.routes)) return { problem: '"routes" must be an object' };
  if (d.lineage !== undefined && typeof d.lineage !== 'string') return { problem: '"lineage" must be a string' };
  const routes: Record<string, Override> = {};
  for (const [id, o] of Object.entries(d.routes as Record<string, Partial<Override> | null>)) {
    const where = `routes[${JSON.stringify(id)}]`;
    if (typeof o !== 'object' || o === null) return { problem: `${where} must be an object` };
    if (!isValidPercent(o.percent)) return { problem: `${where}.percent must be ${PERCENT_RULE}` };
    if (typeof o.updated_at !== 'string' || Number.isNaN(Date.parse(o.updated_at))) return { problem: `${where}.updated_at must be an ISO time` };
    if (typeof o.by !== 'string') return { problem: `${where}.by must be a string` };
    if (o.rollout !== undefined && !isRolloutRecord(o.rollout)) return { problem: `${where}.rollout is not a rollout record` };
    routes[id] = Object.freeze({ percent: o.percent, updated_at: o.updated_at, by: o.by, ...(o.rollout !== undefined && { rollout: o.rollout }) });
  }
  return { snapshot: { version: d.version, routes, ...(d.lineage && { lineage: d.lineage }) } };
}
