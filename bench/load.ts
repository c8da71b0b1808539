// The load generator the suites drive: wrk where it is installed (a C program that spends a
// fraction of autocannon's CPU per request, which matters when the load, the proxy and the
// upstream share two cores), autocannon otherwise. BENCH_LOAD=wrk|autocannon chooses.
import { execFileSync } from 'node:child_process';
import { AutocannonLoad } from './load-autocannon';
import { WrkLoad } from './load-wrk';

export interface LoadSpec {
  url: string;
  method?: 'GET' | 'POST';
  /** A request body of this many bytes (application/octet-stream). */
  bodyBytes?: number;
  headers?: Record<string, string>;
  /** Whole seconds; a run can be ended earlier with stopRun(). */
  durationSec: number;
  connections: number;
}

export interface LoadResult {
  completed: number;
  /** Connection errors, timeouts and non-2xx answers (wrk: answers ≥ 400). */
  failed: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  elapsedMs: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

export interface LoadGenerator {
  /** What the report names: `wrk 4.1.0` or `autocannon`. */
  readonly name: string;
  run(spec: LoadSpec): Promise<LoadResult>;
  /** Ends the current run early (its result still arrives through run()). */
  stopRun(): void;
  close(): void;
}

function wrkVersion(): string | null {
  try {
    // wrk prints its version and usage and exits 1 on -v.
    return execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? '');
    const m = /^wrk (\S+)/m.exec(out);
    return m ? m[1] : null;
  }
}

export function startLoadGenerator(choice = process.env.BENCH_LOAD ?? ''): LoadGenerator {
  if (choice !== '' && choice !== 'wrk' && choice !== 'autocannon') throw new Error(`BENCH_LOAD=${choice}: expected wrk or autocannon`);
  if (choice !== 'autocannon') {
    const version = wrkVersion();
    if (version) return new WrkLoad(`wrk ${version}`);
    if (choice === 'wrk') throw new Error('BENCH_LOAD=wrk but wrk is not installed (apt-get install wrk)');
  }
  return AutocannonLoad.start();
}
