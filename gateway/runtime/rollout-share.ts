// Where the instances of a fleet meet for rollouts: each publishes its counts of the current
// window, and one of them (the lease holder) decides. With a file state the one instance is
// alone: it always decides and its counts are the sum. With Redis see redis-state-store.ts
// (rolloutShare): counts in a hash per route, a lease taken with SET NX PX and renewed.
import { addCounts, emptyCounts, type RolloutCounts } from './rollout-window';

export interface RolloutShare {
  /** Whether this instance decides now: it holds (or just took, or renewed) the lease. */
  lead(ttlMs: number): Promise<boolean>;
  /** This instance's counts of the window `epoch` of `route`. */
  publish(route: string, epoch: string, counts: RolloutCounts): Promise<void>;
  /** The counts of every instance in the window `epoch`, summed, and how many instances sent some. */
  gather(route: string, epoch: string): Promise<{ counts: RolloutCounts; instances: number }>;
  /** Gives the lease up (the instance is stopping), so another instance decides without waiting for it to lapse. */
  release(): Promise<void>;
}

/** One published window of one instance, as the Redis hash stores it. */
export interface PublishedWindow { epoch: string; counts: RolloutCounts }

/** Sums the windows of `epoch`; others are older or newer windows and do not count. */
export function sumWindows(windows: readonly PublishedWindow[], epoch: string): { counts: RolloutCounts; instances: number } {
  let counts = emptyCounts();
  let instances = 0;
  for (const w of windows) {
    if (w.epoch !== epoch) continue;
    counts = addCounts(counts, w.counts);
    instances++;
  }
  return { counts, instances };
}

export function localRolloutShare(): RolloutShare {
  const windows = new Map<string, PublishedWindow>();
  return {
    lead: async () => true,
    release: async () => undefined,
    publish: async (route, epoch, counts) => { windows.set(route, { epoch, counts }); },
    gather: async (route, epoch) => {
      const w = windows.get(route);
      return sumWindows(w ? [w] : [], epoch);
    },
  };
}
