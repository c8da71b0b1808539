// Preloaded (--require) into every Node process the bench measures, the gateway's cluster workers
// included: its GC pauses and event-loop delay, per measurement. SIGUSR2 ends a period: the figures
// since the previous signal go to $BENCH_RUNTIME_STATS_DIR/<pid>.json and a new period starts.
// (nginx is never sent SIGUSR2: to nginx it means "upgrade the binary".)
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/** What one process reports for one period. */
export interface RuntimeStats {
  /** Counts the periods, so a reader can tell a fresh report from the previous one. */
  seq: number;
  gcCount: number;
  /** Sum of the GC pauses' durations, and the longest (ms). */
  gcMs: number;
  gcMaxMs: number;
  /** Event-loop delay (monitorEventLoopDelay, 5 ms resolution), ms. */
  eldP99Ms: number;
  eldMaxMs: number;
}

const dir = process.env.BENCH_RUNTIME_STATS_DIR;
if (dir) {
  const eld = monitorEventLoopDelay({ resolution: 5 });
  eld.enable();
  let seq = 0;
  let gcCount = 0;
  let gcMs = 0;
  let gcMaxMs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcCount++;
      gcMs += e.duration;
      if (e.duration > gcMaxMs) gcMaxMs = e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('SIGUSR2', () => {
    const stats: RuntimeStats = { seq: ++seq, gcCount, gcMs, gcMaxMs, eldP99Ms: eld.percentile(99) / 1e6, eldMaxMs: eld.max / 1e6 };
    gcCount = 0;
    gcMs = 0;
    gcMaxMs = 0;
    eld.reset();
    const file = join(dir, `${process.pid}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(stats));
    renameSync(`${file}.tmp`, file);
  });
}
