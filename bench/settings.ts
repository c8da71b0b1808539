// Benchmark knobs, from the environment. The defaults are what `npm run bench` runs. The knob
// lists below are their one home: reading them, the report's command line and `--help` come from them.
import { BASE_ROUTE_COUNT } from './manifests';
import { CONFIGS } from './overhead';

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
  /** Only these of SUITES; default all. */
  suites: string[];
  /** Only these overhead configurations (e.g. gateway,undici-pool); default all. */
  configs: string[] | null;
  /** Full runs of the suites; the targets count as met only when they hold in every run. */
  runs: number;
}

/** The suites of `npm run bench`, in the order they run. */
export const SUITES = ['overhead', 'scale', 'changes', 'shared-state', 'agent'] as const;

interface Knob { name: string; dflt: string; what: string }

/** What `npm run bench` reads (bench:shadow reads some of them too). */
const RUN_KNOBS: readonly Knob[] = [
  { name: 'BENCH_DURATION', dflt: '3', what: 'seconds per measurement' },
  { name: 'BENCH_ROUNDS', dflt: '7', what: 'interleaved rounds per configuration (medians are reported)' },
  { name: 'BENCH_CONNECTIONS', dflt: '32', what: 'connections of load' },
  { name: 'BENCH_WARMUP', dflt: '2', what: 'seconds of unrecorded load per configuration first' },
  { name: 'BENCH_FLIPS', dflt: '100', what: 'runtime canary changes timed under load' },
  { name: 'BENCH_RELOADS', dflt: '20', what: 'strangler apply runs and nginx reloads under load' },
  { name: 'BENCH_AGENT_CHANGES', dflt: '50', what: 'changes the agent suite times from PATCH to nginx serving them' },
  { name: 'BENCH_ROUTE_COUNTS', dflt: '100,1000,10000', what: 'route counts of the scale suite' },
  { name: 'BENCH_SUITES', dflt: SUITES.join(','), what: 'only these suites' },
  { name: 'BENCH_CONFIGS', dflt: '', what: `only these overhead configurations, of ${CONFIGS.map((c) => c.id).join(', ')} (default all)` },
  { name: 'BENCH_RUNS', dflt: '3', what: 'full runs; a target counts as met only when it holds in every run' },
  { name: 'BENCH_CPU_PROF', dflt: '', what: 'a directory: the Node proxies write node --cpu-prof profiles there' },
  { name: 'BENCH_LOAD', dflt: '', what: 'wrk or autocannon (default wrk when installed)' },
];

/** What `npm run bench:idle` reads besides BENCH_LOAD. */
const IDLE_KNOBS: readonly Knob[] = [
  { name: 'BENCH_IDLE', dflt: '10000', what: 'idle keep-alive connections held open' },
  { name: 'BENCH_IDLE_SEC', dflt: '5', what: 'seconds per measurement' },
  { name: 'BENCH_IDLE_ROUNDS', dflt: '6', what: 'rounds (each layer with and without the idle connections, in a rotating order)' },
];

/** What `node dist/bench/access-log.js` reads besides BENCH_LOAD. */
const ACCESS_LOG_KNOBS: readonly Knob[] = [
  { name: 'BENCH_ACCESS_LOG_SEC', dflt: '10', what: 'seconds per run' },
  { name: 'BENCH_ACCESS_LOG_ROUNDS', dflt: '2', what: 'rounds (the access log off, then on)' },
];

/** What `node dist/bench/report-speed.js` reads. */
const REPORT_KNOBS: readonly Knob[] = [
  { name: 'BENCH_REPORT_LINES', dflt: '1000000', what: 'access log lines generated and read' },
];

const KNOBS: readonly Knob[] = [...RUN_KNOBS, ...IDLE_KNOBS, ...ACCESS_LOG_KNOBS, ...REPORT_KNOBS];

function raw(name: string): string {
  const v = process.env[name];
  return v === undefined || v === '' ? KNOBS.find((k) => k.name === name)!.dflt : v;
}

/** A bad setting ends the command before any load, and before any report is rewritten. */
function refuse(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** A knob that is a positive number (its default from KNOBS when unset). */
export function num(name: string): number {
  const v = raw(name);
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) refuse(`${name}=${v}: expected a positive number`);
  return n;
}

/** A knob that is a count: a positive number, rounded. */
export function whole(name: string): number {
  return Math.round(num(name));
}

/** A knob that is a comma-separated list; with `allowed`, each item must be one of them. */
function list(name: string, allowed?: readonly string[]): string[] {
  const items = raw(name).split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = allowed ? items.filter((i) => !allowed.includes(i)) : [];
  if (unknown.length > 0) refuse(`${name}: unknown ${unknown.join(', ')}; expected some of ${allowed!.join(', ')}`);
  return items;
}

export function readSettings(): Settings {
  const configs = list('BENCH_CONFIGS', CONFIGS.map((c) => c.id));
  return {
    duration: num('BENCH_DURATION'),
    rounds: whole('BENCH_ROUNDS'),
    connections: whole('BENCH_CONNECTIONS'),
    warmup: num('BENCH_WARMUP'),
    flips: whole('BENCH_FLIPS'),
    reloads: whole('BENCH_RELOADS'),
    agentChanges: whole('BENCH_AGENT_CHANGES'),
    routeCounts: list('BENCH_ROUTE_COUNTS').map((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < BASE_ROUTE_COUNT) refuse(`BENCH_ROUTE_COUNTS: ${v} is not a whole number of at least ${BASE_ROUTE_COUNT}`);
      return n;
    }),
    suites: list('BENCH_SUITES', SUITES),
    configs: configs.length > 0 ? configs : null,
    runs: whole('BENCH_RUNS'),
  };
}

/** The environment variables that differ from the defaults, for the report's command line. */
export function nonDefaultEnv(): string {
  return RUN_KNOBS.filter((k) => process.env[k.name]).map((k) => `${k.name}=${process.env[k.name]}`).join(' ');
}

export interface BenchCommand {
  /** The knobs it reads (default: `npm run bench`'s). */
  readonly knobs?: readonly string[];
  /** Arguments it takes besides --help. */
  readonly accepted?: readonly string[];
  /** Positional whole numbers it takes, in order, each optional. */
  readonly operands?: readonly Operand[];
}

interface Operand { name: string; dflt: number; min: number; what: string }

/** `--help` of a bench command: what it does, its operands, then the knobs it reads with their defaults. */
function usage(summary: string, names: readonly string[], operands: readonly Operand[]): string {
  const table = (rows: Array<[string, string]>): string => {
    const width = Math.max(...rows.map(([name]) => name.length));
    return rows.map(([name, what]) => `  ${name.padEnd(width)}  ${what}`).join('\n');
  };
  const knobs = KNOBS.filter((k) => names.includes(k.name));
  return [
    summary,
    ...(operands.length > 0 ? [`Arguments:\n${table(operands.map((o) => [o.name, `${o.what} (default ${o.dflt})`]))}`] : []),
    ...(knobs.length > 0 ? [`Settings, from the environment:\n${table(knobs.map((k) => [k.name, `${k.what}${k.dflt ? ` (default ${k.dflt})` : ''}`]))}`] : []),
  ].join('\n\n') + '\n';
}

/**
 * A bench command's arguments: `--help` prints its usage and exits 0; anything not accepted
 * exits 2 before any load starts, so a mistyped flag never overwrites a report. Returns the
 * accepted flags given, and each operand's value (its default when not given).
 */
export function benchArgs(summary: string, { knobs = RUN_KNOBS.map((k) => k.name), accepted = [], operands = [] }: BenchCommand = {}): { flags: string[]; operands: number[] } {
  const help = usage(summary, knobs, operands);
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(help);
    process.exit(0);
  }
  const given = args.filter((a) => !a.startsWith('-'));
  const unknown = [...args.filter((a) => a.startsWith('-') && !accepted.includes(a)), ...given.slice(operands.length)];
  if (unknown.length > 0) refuse(`unknown argument ${unknown[0]}\n\n${help.trimEnd()}`);
  return {
    flags: args.filter((a) => a.startsWith('-')),
    operands: operands.map((o, i) => {
      if (given[i] === undefined) return o.dflt;
      const n = Number(given[i]);
      if (!Number.isInteger(n) || n < o.min) refuse(`${o.name} ${given[i]}: expected a whole number of at least ${o.min}\n\n${help.trimEnd()}`);
      return n;
    }),
  };
}
