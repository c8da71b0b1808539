// `--state FILE|redis://…`: the one place a state spec becomes a backend.
import { openFileBackend, type FileStateSourceOptions } from './file-state-source';
import { openRedisBackend } from './redis-state-source';
import type { StateBackend } from './state-source';
import { isRedisUrl } from '../util/redis-url';
import { parseRedisUrl, StateTargetError, type StateTarget } from './state-target';

export interface StateBackendOptions extends FileStateSourceOptions {
  /** With Redis: the local snapshot of the last state followed (required for a redis:// spec). */
  snapshotFile?: string;
  log?: { info(line: string): void; error(line: string): void };
  env?: NodeJS.ProcessEnv;
}

export class StateSpecError extends Error {}

/** StateSpecError for a spec that cannot be used; StateFileError for an untrustworthy file or snapshot. */
export async function openStateBackend(spec: string, opts: StateBackendOptions = {}): Promise<StateBackend> {
  if (!isRedisUrl(spec)) return openStateTarget({ kind: 'file', path: spec }, opts);
  try {
    return await openStateTarget(parseRedisUrl(spec, opts.env), opts);
  } catch (err) {
    if (err instanceof StateTargetError) throw new StateSpecError(`--state ${err.message}`);
    throw err;
  }
}

/** A target resolved as serve resolves it (flag, STRANGLER_REDIS_URL, gateway.state, the default file). */
export async function openStateTarget(target: StateTarget, opts: StateBackendOptions = {}): Promise<StateBackend> {
  if (target.kind === 'file') return openFileBackend(target.path, opts);
  if (!opts.snapshotFile) throw new StateSpecError('--state redis://…: a local snapshot file is required');
  return openRedisBackend({ target, snapshotFile: opts.snapshotFile, reconcileMs: opts.pollMs, log: opts.log });
}
