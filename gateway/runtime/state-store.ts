// The file store: runtime overrides persisted in a local JSON file, so a flip survives a restart.
// Reads are a Map lookup on the request path; writes are serialised and written atomically
// (temp file, fsync, rename, fsync dir), so a crash at any moment leaves either the old or the
// new file, and a change is acknowledged only once its file is on disk.
// The same file format is the Redis store's local snapshot (redis-state-store.ts).
import { readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Route } from '../manifest/route-table';
import { atomicTempPrefix, atomicWriteFile, atomicWriteFileSync } from '../util/atomic-write';
import { preciseNowMs } from '../util/host-clock';
import { effectivePercent } from '../manifest/percent';
import {
  checkChanges, overridesOf, parseSnapshot, planChanges,
  type ApplyResult, type Override, type RuntimeState, type StateChanges, type StateHealth, type StateSnapshot,
} from './runtime-state';

export { isValidPercent } from '../manifest/percent';
export type { Override, StateSnapshot } from './runtime-state';

/** The file's own format number (not the change counter). */
const FILE_FORMAT = 2;

/** The state file exists but cannot be trusted: refuse to start rather than silently reset. */
export class StateFileError extends Error {
  readonly code = 'STR_STATE_FILE';
  constructor(readonly file: string, problem: string) {
    super(`state file ${file}: ${problem} (fix it, or delete it to fall back to the manifest's percentages)`);
  }
}

export class FileStateStore implements RuntimeState {
  private state: StateSnapshot;
  private overrides: ReadonlyMap<string, Override>;
  private adoptedAtMs = preciseNowMs();
  /** Tail of the write queue: each mutation starts after the previous one settled. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Told of each change once it is durable, before the change resolves (workers of a cluster). */
  private applied: ((state: StateSnapshot) => Promise<void>) | null = null;

  private constructor(readonly file: string, initial: StateSnapshot) {
    this.state = initial;
    this.overrides = overridesOf(initial);
  }

  /** Loads `file` (a missing file is an empty state); throws StateFileError when it is unusable. */
  static open(file: string): FileStateStore {
    const store = new FileStateStore(file, readStateFile(file) ?? { version: 0, routes: {} });
    removeStaleTemps(file);
    return store;
  }

  effectivePercent(route: Route): number {
    return effectivePercent(route, this.overrides.get(route.id));
  }

  override(routeId: string): Override | undefined {
    return this.overrides.get(routeId);
  }

  onApplied(fn: (state: StateSnapshot) => Promise<void>): void {
    this.applied = fn;
  }

  snapshot(): StateSnapshot {
    return this.state;
  }

  health(): StateHealth {
    return { store: 'file', location: this.file, available: true, version: this.state.version, stale_seconds: 0, adopted_at_ms: this.adoptedAtMs };
  }

  /**
   * Resolves once the new state is durable and in effect. It is served from the moment it is
   * decided while the file is written off the event loop (a busy disk's fsync stalls no request
   * and delays no change); a change is answered only once durable, and one whose write fails is
   * taken back, so no one is told of a change a restart would lose.
   */
  apply(changes: StateChanges, by: string): Promise<ApplyResult> {
    try { checkChanges(changes); } catch (err) { return Promise.reject(err); }
    const run = async (): Promise<ApplyResult> => {
      const before = this.state;
      const { previous, next } = planChanges(before, changes, by);
      if (next === null) return { version: before.version, previous, routes: before.routes };
      const inEffect = this.serve(next);
      inEffect.catch(() => undefined); // awaited below, after the write
      try {
        await writeStateFile(this.file, next);
      } catch (err) {
        await inEffect.catch(() => undefined);
        await this.serve(before).catch(() => undefined);
        throw err;
      }
      await inEffect;
      return { version: next.version, previous, routes: next.routes };
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private serve(s: StateSnapshot): Promise<void> {
    this.state = s;
    this.overrides = overridesOf(s);
    this.adoptedAtMs = preciseNowMs();
    return this.applied ? this.applied(s) : Promise.resolve();
  }

  async close(): Promise<void> {
    await this.queue;
  }
}

/** The state file's text: one format for the store's own file and for a copy of Redis's state. */
function stateFileText(s: StateSnapshot): string {
  return JSON.stringify({ format: FILE_FORMAT, version: s.version, ...(s.lineage && { lineage: s.lineage }), routes: s.routes }, null, 2) + '\n';
}

/** Atomic and durable (see the top of this file). */
export function writeStateFile(file: string, s: StateSnapshot): Promise<void> {
  return atomicWriteFile(file, stateFileText(s), 0o600);
}

/** The state file as a copy of a state held elsewhere (Redis): whole after a kill, not fsynced. */
export function writeStateCopySync(file: string, s: StateSnapshot): void {
  atomicWriteFileSync(file, stateFileText(s), 0o600, { durable: false });
}

/** The file's state; null when there is no file; StateFileError when it cannot be trusted. */
export function readStateFile(file: string): StateSnapshot | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StateFileError(file, `cannot be read: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(file, `is not valid JSON: ${(err as Error).message}`);
  }
  const d = data as { format?: unknown; version?: unknown } | null;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new StateFileError(file, 'is not a JSON object');
  // Files without "format" hold {version, routes} with version the change counter (format 1's
  // "version": 1 reads as one change): the same rule accepts both.
  if (d.format !== undefined && d.format !== FILE_FORMAT) throw new StateFileError(file, `has format ${JSON.stringify(d.format)}, expected ${FILE_FORMAT}`);
  const parsed = parseSnapshot(data);
  if ('problem' in parsed) throw new StateFileError(file, parsed.problem);
  return parsed.snapshot;
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
