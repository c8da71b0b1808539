// The CLI's start, process start to exit: `strangler compile` of a large manifest against its floor
// (a node process that only loads the same file with js-yaml; both started by node directly, so
// both pay the same start), and `strangler --help` and `strangler validate` of the example
// manifest, run through the package's bin as a user runs them. Runs are interleaved, so a busy
// machine slows every command alike; min and median are reported (the min is the least disturbed
// run).
//
//   npm run build && node dist/bench/cli-start.js [ROUTES] [RUNS]     (--help for the defaults)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { PROJECT_ROOT } from '../gateway/version';
import { BASE_ROUTE_COUNT, benchManifest } from './manifests';
import { benchArgs } from './settings';
import { median, msSince } from './stats';

export interface Timing {
  minMs: number;
  medianMs: number;
  runs: number[];
}

export interface CliStartResult {
  routes: number;
  /** node -e "require('js-yaml').load(readFileSync(FILE))": the floor compile is measured against. */
  floor: Timing;
  /** strangler compile FILE -o OUT. */
  compile: Timing;
  /** compile ÷ floor, of the medians and of the minimums. */
  ratio: { median: number; min: number };
  help: Timing;
  /** node -e 0: what starting node alone costs on this machine, for reading the two above. */
  nodeStart: Timing;
  /** strangler validate routes/routes.yaml (the example manifest). */
  validate: Timing;
  /**
   * When the environment sets NODE_EXTRA_CA_CERTS: node -e 0 without it. Node 20 reads and parses
   * that file, and its own roots, at every process start; the bin starts `--help` and `validate`
   * without it (they open no TLS connection), node -e 0 and the compile pair pay it.
   */
  withoutExtraCaCerts?: { nodeStart: Timing };
}

const CLI = join(PROJECT_ROOT, 'bin', 'strangler.js');
/** The package's bin (package.json), which a user's `strangler` runs. */
const BIN = join(PROJECT_ROOT, 'bin', 'strangler');

function timing(runs: number[]): Timing {
  return { minMs: Math.min(...runs), medianMs: median(runs), runs };
}

/** One process run, start to exit, in ms; throws when it fails. */
function timeRun(args: string[], what: string, env: NodeJS.ProcessEnv = process.env, file = process.execPath): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { cwd: PROJECT_ROOT, encoding: 'utf8', env });
  const ms = msSince(t0);
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stderr}`);
  return ms;
}

export function runCliStart(routes = 10_000, runs = 7): CliStartResult {
  const dir = mkdtempSync(join(tmpdir(), 'strangler-bench-cli-'));
  try {
    const file = join(dir, `routes-${routes}.yaml`);
    writeFileSync(file, benchManifest({ listen: 18080, upstream: 18081, routes }));
    const floorScript = `require(${JSON.stringify(require.resolve('js-yaml'))}).load(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8'))`;
    const nodeStartArgs = ['-e', '0'];
    const { NODE_EXTRA_CA_CERTS: extraCaCerts, ...envWithoutCa } = process.env;
    // The bin runs the `node` on PATH: this one.
    const binEnv = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
    const commands = {
      floor: () => timeRun(['-e', floorScript], 'the js-yaml floor'),
      compile: () => timeRun([CLI, 'compile', file, '-o', join(dir, 'nginx.conf')], 'strangler compile'),
      help: () => timeRun(['--help'], 'strangler --help', binEnv, BIN),
      nodeStart: () => timeRun(nodeStartArgs, 'node -e 0'),
      validate: () => timeRun(['validate', join(PROJECT_ROOT, 'routes', 'routes.yaml')], 'strangler validate', binEnv, BIN),
      ...(extraCaCerts ? { nodeStartNoCa: () => timeRun(nodeStartArgs, 'node -e 0', envWithoutCa) } : {}),
    };
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((name) => [name, []]));
    // One unrecorded round warms the file cache, then interleaved rounds.
    for (const run of Object.values(commands)) run();
    for (let i = 0; i < runs; i++) {
      for (const [name, run] of Object.entries(commands)) times[name].push(run());
    }
    const floor = timing(times.floor);
    const compile = timing(times.compile);
    return {
      routes,
      floor,
      compile,
      ratio: { median: compile.medianMs / floor.medianMs, min: compile.minMs / floor.minMs },
      help: timing(times.help),
      nodeStart: timing(times.nodeStart),
      validate: timing(times.validate),
      ...(extraCaCerts ? { withoutExtraCaCerts: { nodeStart: timing(times.nodeStartNoCa) } } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function describeCliStart(r: CliStartResult): string {
  const t = (x: Timing) => `min ${x.minMs.toFixed(0)} ms, median ${x.medianMs.toFixed(0)} ms`;
  return [
    `cli start: ${r.routes} routes: strangler compile ${t(r.compile)}; node + js-yaml floor ${t(r.floor)}`,
    `cli start: compile ÷ floor: ${r.ratio.median.toFixed(2)}× of medians, ${r.ratio.min.toFixed(2)}× of minimums`,
    `cli start: strangler --help ${t(r.help)}; strangler validate routes/routes.yaml ${t(r.validate)}; node -e 0 ${t(r.nodeStart)}`,
    ...(r.withoutExtraCaCerts ? [
      `cli start: NODE_EXTRA_CA_CERTS is set, which the bin drops for --help and validate: node -e 0 without it ${t(r.withoutExtraCaCerts.nodeStart)}`,
    ] : []),
  ].join('\n');
}

if (require.main === module) {
  const { operands: [routes, runs] } = benchArgs(
    'node dist/bench/cli-start.js [ROUTES] [RUNS]\n\n' +
      'strangler compile of a ROUTES-route manifest against node + js-yaml loading the same file, and\n' +
      'strangler --help and validate of the example manifest, process start to exit; runs interleaved.',
    {
      knobs: [],
      operands: [
        { name: 'ROUTES', dflt: 10_000, min: BASE_ROUTE_COUNT, what: 'routes in the compiled manifest' },
        { name: 'RUNS', dflt: 7, min: 1, what: 'runs of each command' },
      ],
    },
  );
  process.stdout.write(describeCliStart(runCliStart(routes, runs)) + '\n');
}
