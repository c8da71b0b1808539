// Opens the runtime state a target names, with its audit sink: the file store and the audit file
// beside it, or the Redis store (local snapshot in `localFile`) and the audit stream. What serve
// and anything else holding the runtime state (an nginx agent) share.
import { AuditLog, type AuditSink } from './audit-log';
import { KEYS as REDIS_KEYS, RedisStateStore } from './redis-state-store';
import type { RuntimeState } from './runtime-state';
import { FileStateStore } from './state-store';
import { describeRedisUrl, type StateTarget } from './state-target';

export interface OpenedState {
  readonly state: RuntimeState;
  /** Set for a shared state: registry, instances. */
  readonly redis: RedisStateStore | null;
  readonly audit: AuditSink;
  /** For people: the state file, or the Redis URL without password. */
  readonly stateLocation: string;
  /** The audit file, or the Redis stream. */
  readonly auditLocation: string;
}

export interface OpenStateOptions {
  target: StateTarget;
  /** With Redis: the local snapshot (a file target is its own file). */
  snapshotFile: string;
  /** With a file: where the audit log goes. */
  auditFile: string;
  reconcileMs?: number;
  log?: { info(line: string): void; error(line: string): void };
}

/** Throws StateFileError for a state file or snapshot that cannot be trusted; never for Redis being down. */
export async function openRuntimeState(o: OpenStateOptions): Promise<OpenedState> {
  if (o.target.kind === 'file') {
    return {
      state: FileStateStore.open(o.target.path), redis: null, audit: new AuditLog(o.auditFile),
      stateLocation: o.target.path, auditLocation: o.auditFile,
    };
  }
  const redis = await RedisStateStore.open({ target: o.target, snapshotFile: o.snapshotFile, reconcileMs: o.reconcileMs, log: o.log });
  return {
    state: redis, redis, audit: redis.auditStream(),
    stateLocation: describeRedisUrl(o.target.url), auditLocation: `Redis stream ${REDIS_KEYS.audit}`,
  };
}
