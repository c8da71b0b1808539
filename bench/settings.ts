// Benchmark knobs, from the environment. The defaults are what `npm run bench` runs.
export interface Settings {
  /** Seconds per measurement. */
  duration: number;
  /** Interleaved rounds per configuration; medians over rounds are reported. */
  rounds: number;
  connections: number;
  /** Seconds of unrecorded load per configuration before the first round. */
  warmup: number;
  /** Runtime canary changes and nginx reloads during load. */
  flips: number;
  reloads: number;
  /** Runtime changes the agent suite times from PATCH to nginx serving them. */
  agentChanges: number;
  /** Route counts for the scale suite. */
  routeCounts: number[];
  /** Only these suites (overhead, scale, changes, shared-state, agent); default all. */
  suites: string[];
  /** Only these overhead configurations (e.g. gateway,undici-pool); default all. */
  configs: string[] | null;
  /** Full runs of the suites; the targets count as met only when they hold in every run. */
  runs: number;
}

function num(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${v}: expected a positive number`);
  return n;
}

export function readSettings(): Settings {
  return {
    duration: num('BENCH_DURATION', 3),
    rounds: Math.round(num('BENCH_ROUNDS', 7)),
    connections: Math.round(num('BENCH_CONNECTIONS', 32)),
    warmup: num('BENCH_WARMUP', 2),
    flips: Math.round(num('BENCH_FLIPS', 100)),
    reloads: Math.round(num('BENCH_RELOADS', 20)),
    agentChanges: Math.round(num('BENCH_AGENT_CHANGES', 50)),
    routeCounts: (process.env.BENCH_ROUTE_COUNTS ?? '100,1000,10000').split(',').map(Number),
    suites: (process.env.BENCH_SUITES ?? 'overhead,scale,changes,shared-state,agent').split(',').map((s) => s.trim()),
    configs: process.env.BENCH_CONFIGS ? process.env.BENCH_CONFIGS.split(',').map((s) => s.trim()) : null,
    runs: Math.round(num('BENCH_RUNS', 3)),
  };
}

/** The environment variables that differ from the defaults, for the report's command line. */
export function nonDefaultEnv(): string {
  const names = ['BENCH_DURATION', 'BENCH_ROUNDS', 'BENCH_CONNECTIONS', 'BENCH_WARMUP', 'BENCH_FLIPS', 'BENCH_RELOADS', 'BENCH_AGENT_CHANGES', 'BENCH_ROUTE_COUNTS', 'BENCH_SUITES', 'BENCH_CONFIGS', 'BENCH_RUNS', 'BENCH_CPU_PROF', 'BENCH_LOAD'];
  return names.filter((n) => process.env[n]).map((n) => `${n}=${process.env[n]}`).join(' ');
}
