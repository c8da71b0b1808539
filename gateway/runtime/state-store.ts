// Runtime overrides of each route's canary percent, persisted so a flip survives a restart.
// Reads are a Map lookup on the request path; writes are serialised, written atomically
// (temp file, fsync, rename, fsync dir) and only applied once they are on disk, so a crash
// at any moment leaves either the old or the new file and never a state nobody acknowledged.
import { readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Route } from '../manifest/route-table';
import { atomicTempPrefix, atomicWriteFileSync } from '../util/atomic-write';
import { effectivePercent, isValidPercent, PERCENT_RULE } from '../manifest/percent';

export { isValidPercent };

export interface Override {
  readonly percent: number;
  readonly updated_at: string;
  /** Who made the change: the admin client's address. */
  readonly by: string;
}

export interface StateFile {
  version: 1;
  routes: Record<string, Override>;
}

/** The state file exists but cannot be trusted: refuse to start rather than silently reset. */
export class StateFileError extends Error {
  readonly code = 'STR_STATE_FILE';
  constructor(readonly file: string, problem: string) {
    super(`state file ${file}: ${problem} (fix it, or delete it to fall back to the manifest's percentages)`);
  }
}

export class StateStore {
  private overrides: ReadonlyMap<string, Override>;
  /** Tail of the write queue: each mutation starts after the previous one settled. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Told of each change once it is durable, before the change resolves (workers of a cluster). */
  private applied: ((state: StateFile) => Promise<void>) | null = null;

  private constructor(readonly file: string, initial: Map<string, Override>) {
    this.overrides = initial;
  }

  /** Loads `file` (a missing file is an empty state); throws StateFileError when it is unusable. */
  static open(file: string): StateStore {
    const store = new StateStore(file, readStateFile(file));
    removeStaleTemps(file);
    return store;
  }

  /** Hot path: the percent of requests sent to the route's `to`. */
  effectivePercent(route: Route): number {
    return effectivePercent(route, this.overrides.get(route.id));
  }

  override(routeId: string): Override | undefined {
    return this.overrides.get(routeId);
  }

  /**
   * Runs `fn` after every change is durable and applied here, and resolves the change only when
   * `fn` has: a change is acknowledged once every copy of the state serves it.
   */
  onApplied(fn: (state: StateFile) => Promise<void>): void {
    this.applied = fn;
  }

  snapshot(): StateFile {
    return { version: 1, routes: Object.fromEntries(this.overrides) };
  }

  /** Persists then applies; resolves once the new state is durable and in effect. */
  set(routeId: string, percent: number, client: string): Promise<{ previous: Override | undefined; current: Override }> {
    if (!isValidPercent(percent)) return Promise.reject(new RangeError(`percent must be ${PERCENT_RULE}, got ${percent}`));
    const current: Override = Object.freeze({ percent: Math.round(percent * 100) / 100, updated_at: new Date().toISOString(), by: client });
    return this.mutate((next) => {
      const previous = next.get(routeId);
      next.set(routeId, current);
      return { previous, current };
    });
  }

  /** Drops the override: the route goes back to the manifest's percent. */
  clear(routeId: string): Promise<{ previous: Override | undefined }> {
    return this.mutate((next) => {
      const previous = next.get(routeId);
      next.delete(routeId);
      return { previous };
    });
  }

  /**
   * Several routes in one change (one write, one audit entry): a percent sets an override, null
   * drops it. Resolves to each route's override before the change.
   */
  setMany(changes: ReadonlyMap<string, number | null>, client: string): Promise<Map<string, Override | undefined>> {
    for (const [id, p] of changes) {
      if (p !== null && !isValidPercent(p)) return Promise.reject(new RangeError(`${id}: percent must be ${PERCENT_RULE}, got ${p}`));
    }
    const updated_at = new Date().toISOString();
    return this.mutate((next) => {
      const previous = new Map<string, Override | undefined>();
      for (const [id, p] of changes) {
        previous.set(id, next.get(id));
        if (p === null) next.delete(id);
        else next.set(id, Object.freeze({ percent: Math.round(p * 100) / 100, updated_at, by: client }));
      }
      return previous;
    });
  }

  /** After a manifest reload: forget overrides of routes that no longer exist; resolves to their ids. */
  retainOnly(ids: Iterable<string>): Promise<string[]> {
    const keep = new Set(ids);
    return this.mutate((next) => {
      const dropped = [...next.keys()].filter((id) => !keep.has(id));
      for (const id of dropped) next.delete(id);
      return dropped;
    });
  }

  private mutate<T>(change: (next: Map<string, Override>) => T): Promise<T> {
    const run = async (): Promise<T> => {
      const next = new Map(this.overrides);
      const result = change(next);
      if (!sameOverrides(next, this.overrides)) {
        // Synchronous on purpose: a few hundred microseconds of fsync in one event-loop turn,
        // instead of eight turns queued behind proxy traffic before the change takes effect.
        atomicWriteFileSync(this.file, JSON.stringify({ version: 1, routes: Object.fromEntries(next) }, null, 2) + '\n', 0o600);
        this.overrides = next; // applied only once durable
        if (this.applied) await this.applied(this.snapshot());
      }
      return result;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }
}

function sameOverrides(a: ReadonlyMap<string, Override>, b: ReadonlyMap<string, Override>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function readStateFile(file: string): Map<string, Override> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new StateFileError(file, `cannot be read: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(file, `is not valid JSON: ${(err as Error).message}`);
  }
  const d = data as Partial<StateFile> | null;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new StateFileError(file, 'is not a JSON object');
  if (d.version !== 1) throw new StateFileError(file, `has version ${JSON.stringify(d.version)}, expected 1`);
  if (typeof d.routes !== 'object' || d.routes === null || Array.isArray(d.routes)) throw new StateFileError(file, '"routes" must be an object');
  const out = new Map<string, Override>();
  for (const [id, o] of Object.entries(d.routes)) {
    const where = `routes[${JSON.stringify(id)}]`;
    if (typeof o !== 'object' || o === null) throw new StateFileError(file, `${where} must be an object`);
    if (!isValidPercent(o.percent)) throw new StateFileError(file, `${where}.percent must be ${PERCENT_RULE}`);
    if (typeof o.updated_at !== 'string' || Number.isNaN(Date.parse(o.updated_at))) throw new StateFileError(file, `${where}.updated_at must be an ISO time`);
    if (typeof o.by !== 'string') throw new StateFileError(file, `${where}.by must be a string`);
    out.set(id, Object.freeze({ percent: o.percent, updated_at: o.updated_at, by: o.by }));
  }
  return out;
}

/** A write killed mid-way leaves its temp file behind; the state file itself is intact. */
function removeStaleTemps(file: string): void {
  const prefix = atomicTempPrefix(file);
  let names: string[];
  try { names = readdirSync(dirname(file)); } catch { return; }
  for (const n of names) {
    if (n.startsWith(prefix) && n.endsWith('.tmp')) {
      try { unlinkSync(join(dirname(file), n)); } catch { /* someone else's cleanup won */ }
    }
  }
}
