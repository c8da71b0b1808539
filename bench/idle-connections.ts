// Many idle keep-alive clients: what they cost nginx and the gateway. For each layer, two processes
// alike: for each of its runs, one gets N idle keep-alive connections first (each served one
// request, then silent), opened gradually (batches of 100) or in one burst, closed after the run;
// the other gets none. A normal client's req/s and p99 are measured on all four in turn, in a
// rotating order, round after round, so a drift of the shared machine falls on the figures a
// ratio compares: the gateway's req/s with the idle connections against its twin without them in
// the same round, its p99 against nginx's with theirs. Also the RSS per idle connection (at the
// first opening), and the RSS once they are closed (memory returned).
//
// Measured one after the other instead (the layer alone, then with them), the host's speed moved
// more than the idle connections did: two runs gave the burst's req/s 1.26× and 0.71× alone.
//
//   npm run bench:idle (settings: npm run bench:idle -- --help)
import { join } from 'node:path';
import { startLoadGenerator, type LoadGenerator, type LoadResult } from './load';
import { benchManifest, PATHS } from './manifests';
import { freePort, rssBytes, sleep, startScript, stopDescendantsOnExit, type Child } from './proc';
import { BENCH_DIST, startGatewayProcess, startGeneratedNginx, startUpstream, type Running } from './stack';
import { benchArgs, num, whole } from './settings';
import { median, pairedRatio } from './stats';

benchArgs(
  'npm run bench:idle\n\nA normal client\'s req/s and p99 with many idle keep-alive connections held open, nginx against the gateway; prints Markdown tables.',
  { knobs: ['BENCH_IDLE', 'BENCH_IDLE_SEC', 'BENCH_IDLE_ROUNDS', 'BENCH_LOAD'] },
);
const IDLE = whole('BENCH_IDLE');
const SECONDS = num('BENCH_IDLE_SEC');
const ROUNDS = whole('BENCH_IDLE_ROUNDS');
/** After the idle clients close: how long the layer gets to return memory. */
const SETTLE_MS = 5_000;

/** Medians over the rounds. */
interface Figures { rps: number; p50Ms: number; p99Ms: number; failed: number; rounds: LoadResult[] }

interface Row {
  layer: string;
  mode: 'gradual' | 'burst';
  /** The twin process without idle connections. */
  alone: Figures;
  withIdle: Figures;
  opened: number;
  rssBeforeMiB: number;
  rssIdleMiB: number;
  rssAfterMiB: number;
  kibPerIdle: number;
}

const MiB = 1024 * 1024;
const rssOf = (r: Running) => r.pids().reduce((sum, pid) => sum + (rssBytes(pid) || 0), 0);

function figures(runs: LoadResult[]): Figures {
  return {
    rps: median(runs.map((x) => x.rps)), p50Ms: median(runs.map((x) => x.p50Ms)), p99Ms: median(runs.map((x) => x.p99Ms)),
    failed: runs.reduce((n, x) => n + x.failed, 0), rounds: runs,
  };
}

/** Opens the idle clients against `r` (in a holder process, stopped to close them) and says how many it holds. */
function holdIdle(r: Running, mode: 'gradual' | 'burst'): Promise<Child<{ opened: number }>> {
  return startScript(join(BENCH_DIST, 'idle-holder.js'), [String(r.port), String(IDLE), mode, PATHS.get]);
}

interface ModeResult { rows: Row[]; rpsRatio: number; p99Ratio: number }

/** One mode: four fresh processes (a layer with idle connections and its twin without, for each layer). */
async function measureMode(load: LoadGenerator, upstreamPort: number, mode: 'gradual' | 'burst'): Promise<ModeResult> {
  const started: Running[] = [];
  /** The idle clients open now: at most one layer's at a time. */
  let holder: Child<{ opened: number }> | null = null;
  try {
    // Each is stopped at the end even when a later one fails to start.
    const kept = (r: Running) => { started.push(r); return r; };
    // Enough worker connections for every idle client on one worker, with an upstream connection
    // each while the burst is in flight (at the default 8,192, nginx closed about 1,200 of them).
    const nginxAt = async () => kept(await startGeneratedNginx('nginx', { listen: await freePort(), upstream: upstreamPort }, { workerConnections: 2 * IDLE + 1024 }));
    const gatewayAt = async () => kept(await startGatewayProcess('gateway', benchManifest({ listen: await freePort(), upstream: upstreamPort })));
    const layers = [
      { layer: 'nginx', idle: await nginxAt(), alone: await nginxAt() },
      { layer: 'gateway', idle: await gatewayAt(), alone: await gatewayAt() },
    ];
    const spec = (r: Running, durationSec: number) => ({ url: `http://127.0.0.1:${r.port}${PATHS.get}`, durationSec, connections: 8 });
    for (const r of started) await load.run(spec(r, Math.min(3, SECONDS))); // warm-up: JIT, pools

    // A layer's idle clients are open only while it is measured: a gateway holding 10,000 made
    // nginx's p99 about 1.5× worse beside it (4 of 4 alternating pairs). In the burst mode, each
    // round then measures the load right after a burst.
    const rssBefore = layers.map((l) => rssOf(l.idle));
    const opened = layers.map(() => Infinity);
    const rssIdle = layers.map(() => 0);
    const runs = new Map<Running, LoadResult[]>(started.map((r) => [r, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < started.length; i++) {
        const r = started[(round + i) % started.length];
        const li = layers.findIndex((l) => l.idle === r);
        if (li !== -1) {
          holder = await holdIdle(r, mode);
          opened[li] = Math.min(opened[li], holder.ready.opened);
          if (rssIdle[li] === 0) rssIdle[li] = rssOf(r); // the first opening, from where the layer started
        }
        runs.get(r)!.push(await load.run(spec(r, SECONDS)));
        if (holder) {
          await holder.stop();
          holder = null;
        }
      }
    }
    await sleep(SETTLE_MS);
    const rows = layers.map((l, i): Row => ({
      layer: l.layer, mode, alone: figures(runs.get(l.alone)!), withIdle: figures(runs.get(l.idle)!), opened: opened[i],
      rssBeforeMiB: rssBefore[i] / MiB, rssIdleMiB: rssIdle[i] / MiB, rssAfterMiB: rssOf(l.idle) / MiB,
      kibPerIdle: opened[i] ? (rssIdle[i] - rssBefore[i]) / 1024 / opened[i] : NaN,
    }));
    const [n, g] = layers;
    return {
      rows,
      rpsRatio: pairedRatio(runs.get(g.idle), runs.get(g.alone), 'rps'),
      p99Ratio: pairedRatio(runs.get(g.idle), runs.get(n.idle), 'p99Ms'),
    };
  } finally {
    await holder?.stop();
    await Promise.all(started.map((r) => r.stop()));
  }
}

async function main(): Promise<void> {
  stopDescendantsOnExit();
  const load = startLoadGenerator();
  const upstream = await startUpstream();
  const results = new Map<'gradual' | 'burst', ModeResult>();
  try {
    // Fresh processes per mode, so one mode's leftovers do not count against the other.
    for (const mode of ['gradual', 'burst'] as const) {
      const m = await measureMode(load, upstream.ready.port, mode);
      results.set(mode, m);
      for (const row of m.rows) {
        process.stderr.write(`${row.layer} ${mode}: ${row.opened} idle; ${row.alone.rps.toFixed(0)} req/s without, ${row.withIdle.rps.toFixed(0)} with; ` +
          `p99 ${row.alone.p99Ms.toFixed(1)} without, ${row.withIdle.p99Ms.toFixed(1)} ms with; RSS ${row.rssBeforeMiB.toFixed(1)} → ${row.rssIdleMiB.toFixed(1)} → ${row.rssAfterMiB.toFixed(1)} MiB ` +
          `(${row.kibPerIdle.toFixed(1)} KiB per idle connection)\n`);
      }
    }
  } finally {
    load.close();
    await upstream.stop();
  }
  // The bars: the gateway keeps ≥ 0.8× its req/s and a p99 within 2× nginx's in the same run.
  for (const [mode, m] of results) {
    const g = m.rows.find((x) => x.layer === 'gateway')!;
    process.stdout.write(`${mode}: gateway req/s with ${g.opened} idle = ${m.rpsRatio.toFixed(2)}× without (bar 0.8); ` +
      `p99 = ${m.p99Ratio.toFixed(2)}× nginx's (bar 2); medians of ${ROUNDS} rounds' ratios; RSS returned: ${(g.rssIdleMiB - g.rssAfterMiB).toFixed(1)} of ` +
      `${(g.rssIdleMiB - g.rssBeforeMiB).toFixed(1)} MiB\n`);
  }
  process.stdout.write(JSON.stringify([...results.values()].flatMap((m) => m.rows)) + '\n');
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
