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

/**
 * The runtime state every layer follows: the overrides, and `version`, a change counter that
 * grows by one with each applied change (APIs call it `state_version`). The state file holds
 * exactly this; another store (Redis) holds the same shape.
 */
export interface StateFile {
  version: number;
  routes: Record<string, Override>;
}

/** One batch of changes: route id -> new percent, or null to drop the override. */
export type StateChanges = ReadonlyMap<string, number | null>;

export interface AppliedChanges {
  /** The state version the batch produced (unchanged when the batch changed nothing). */
  version: number;
  /** Each changed route's override before the batch (undefined: it had none). */
  previous: ReadonlyMap<string, Override | undefined>;
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
  private changeCounter: number;
  /** Tail of the write queue: each mutation starts after the previous one settled. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Told of each change once it is durable, before the change resolves (workers of a cluster). */
  private applied: ((state: StateFile) => Promise<void>) | null = null;

  private constructor(readonly file: string, initial: { version: number; routes: Map<string, Override> }) {
    this.overrides = initial.routes;
    this.changeCounter = initial.version;
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

  /** The change counter: the number of changes applied since the state began. */
  get version(): number {
    return this.changeCounter;
  }

  snapshot(): StateFile {
    return { version: this.changeCounter, routes: Object.fromEntries(this.overrides) };
  }

  /**
   * The one mutation: every change of the batch becomes durable and takes effect together, as
   * one new version (a kill switch over many routes is one change, never half applied).
   * Resolves once the new state is durable and in effect.
   */
  apply(changes: StateChanges, by: string): Promise<AppliedChanges> {
    for (const [id, percent] of changes) {
      if (percent !== null && !isValidPercent(percent)) {
        return Promise.reject(new RangeError(`${id}: percent must be ${PERCENT_RULE}, got ${percent}`));
      }
    }
    const updated_at = new Date().toISOString();
    return this.mutate((next) => {
      const previous = new Map<string, Override | undefined>();
      for (const [id, percent] of changes) {
        previous.set(id, next.get(id));
        if (percent === null) next.delete(id);
        else next.set(id, Object.freeze({ percent: Math.round(percent * 100) / 100, updated_at, by }));
      }
      return previous;
    });
  }

  /** One route's override; see apply. */
  async set(routeId: string, percent: number, client: string): Promise<{ previous: Override | undefined; current: Override }> {
    const { previous } = await this.apply(new Map([[routeId, percent]]), client);
    return { previous: previous.get(routeId), current: this.overrides.get(routeId)! };
  }

  /** Drops the override: the route goes back to the manifest's percent. */
  async clear(routeId: string, client = 'unknown'): Promise<{ previous: Override | undefined }> {
    const { previous } = await this.apply(new Map([[routeId, null]]), client);
    return { previous: previous.get(routeId) };
  }

  /** After a manifest reload: forget overrides of routes that no longer exist; resolves to their ids. */
  retainOnly(ids: Iterable<string>): Promise<string[]> {
    const keep = new Set(ids);
    const dropped = [...this.overrides.keys()].filter((id) => !keep.has(id));
    return this.apply(new Map(dropped.map((id) => [id, null])), 'manifest reload').then(() => dropped);
  }

  private mutate(change: (next: Map<string, Override>) => ReadonlyMap<string, Override | undefined>): Promise<AppliedChanges> {
    const run = async (): Promise<AppliedChanges> => {
      const next = new Map(this.overrides);
      const previous = change(next);
      if (!sameOverrides(next, this.overrides)) {
        const version = this.changeCounter + 1;
        // Synchronous on purpose: a few hundred microseconds of fsync in one event-loop turn,
        // instead of eight turns queued behind proxy traffic before the change takes effect.
        atomicWriteFileSync(this.file, JSON.stringify({ version, routes: Object.fromEntries(next) }, null, 2) + '\n', 0o600);
        this.overrides = next; // applied only once durable
        this.changeCounter = version;
        if (this.applied) await this.applied(this.snapshot());
      }
      return { version: this.changeCounter, previous };
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

/** The state file as data; a missing file is version 0 with no overrides. Throws StateFileError. */
export function readStateFile(file: string): { version: number; routes: Map<string, Override> } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 0, routes: new Map() };
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
  // version counts changes (files written before it did say 1: the same rule accepts them).
  if (!Number.isSafeInteger(d.version) || (d.version as number) < 0) throw new StateFileError(file, `"version" must be a whole number of changes, got ${JSON.stringify(d.version)}`);
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
  return { version: d.version as number, routes: out };
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
