// The bench's side of peers/runtime-stats.ts: start a period in every Node process of a
// configuration, end it, and sum what they report (GC pauses add up; the event-loop delay is the
// worst process's).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RuntimeStats } from './peers/runtime-stats';
import { sleep } from './proc';

/** Where every measured Node process writes its reports (set before any is started). */
export const RUNTIME_STATS_DIR = mkdtempSync(join(tmpdir(), 'strangler-bench-runtime-'));
process.env.BENCH_RUNTIME_STATS_DIR = RUNTIME_STATS_DIR;
/** Node flags that load the reporter. */
export const RUNTIME_STATS_FLAGS: readonly string[] = ['--require', join(__dirname, 'peers', 'runtime-stats.js')];

export interface RuntimeFigures { gcCount: number; gcMs: number; gcMaxMs: number; eldP99Ms: number }

function read(pid: number): RuntimeStats | null {
  try {
    return JSON.parse(readFileSync(join(RUNTIME_STATS_DIR, `${pid}.json`), 'utf8')) as RuntimeStats;
  } catch {
    return null;
  }
}

/** Ends the current period of each process and returns what they report (null when none answered). */
export async function endPeriod(pids: number[]): Promise<RuntimeFigures | null> {
  const before = new Map(pids.map((p) => [p, read(p)?.seq ?? 0]));
  const asked: number[] = [];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGUSR2');
      asked.push(pid);
    } catch { /* exited */ }
  }
  const got: RuntimeStats[] = [];
  for (const pid of asked) {
    // A process answers within milliseconds; one that never does (not a Node process) is left out.
    for (let i = 0; i < 100; i++) {
      const s = read(pid);
      if (s && s.seq > before.get(pid)!) {
        got.push(s);
        break;
      }
      await sleep(10);
    }
  }
  if (!got.length) return null;
  return {
    gcCount: got.reduce((n, s) => n + s.gcCount, 0),
    gcMs: got.reduce((n, s) => n + s.gcMs, 0),
    gcMaxMs: Math.max(...got.map((s) => s.gcMaxMs)),
    eldP99Ms: Math.max(...got.map((s) => s.eldP99Ms)),
  };
}
