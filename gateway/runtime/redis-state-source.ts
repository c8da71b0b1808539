// The Redis backend for the nginx agent: the Redis store as a follower (the same push and
// periodic reconcile as every gateway, boot from a local snapshot while Redis is down, never a
// write to the state) and host reports in the `strangler:nginx-hosts` hash every gateway reads.
import { RedisStateStore } from './redis-state-store';
import type { StateBackend } from './state-source';
import { describeRedisUrl, type RedisTarget } from './state-target';

export interface RedisBackendOptions {
  target: RedisTarget;
  /** The last state followed, so an agent started while Redis is down keeps nginx on it. */
  snapshotFile: string;
  reconcileMs?: number;
  log?: { info(line: string): void; error(line: string): void };
}

/** Never throws for Redis being down (the snapshot serves); StateFileError for an untrustworthy snapshot. */
export async function openRedisBackend(o: RedisBackendOptions): Promise<StateBackend> {
  const store = await RedisStateStore.open({ ...o, follower: true });
  return {
    source: {
      description: describeRedisUrl(o.target.url),
      current: () => store.snapshot(),
      subscribe: (listener) => store.follow(listener),
      close: () => store.close(),
    },
    reports: store.hostReports(),
  };
}
