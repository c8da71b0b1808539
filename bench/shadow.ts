// `npm run bench:shadow`: what a shadow costs the user. The gateway serves two routes alike but for
// `shadow:`; both send users to legacy (percent 0), the shadowed one also copies every GET to the
// function side and compares the answers. Measured, interleaved over rounds:
//   1. req/s of the shadowed route against the plain one, both upstreams fast (target ≥ 0.6×);
//   2. the user's p99 on the shadowed route when the function side answers after 200 ms,
//      against the plain route (target ≤ 1.1×): copies beyond max_in_flight are skipped.
// With each: the gateway's CPU per request on either route (its process is the one the load
// saturates, so the req/s ratio follows it), the share of the shadowed route's requests that were
// copied (from the route's results on the admin API), and the CPU the function side's echo took
// while they were: on two cores it competes with the gateway, as a real function host would not.
// Settings: `npm run bench:shadow -- --help`. Prints a Markdown table.
import { startLoadGenerator, type LoadGenerator, type LoadResult } from './load';
import { median, pairedRatio } from './stats';
import { cpuMicrosOf, machineCpu, stolenShareSince, stopDescendantsOnExit } from './proc';
import { benchArgs, readSettings } from './settings';
import { admin, startGatewayProcess, startUpstream, type RunningGateway } from './stack';

const SLOW_MS = 200;

const manifest = (legacy: number, functions: number) => `
version: 1
listen: 8080
upstreams:
  legacy: { servers: ["127.0.0.1:${legacy}"] }
  functions: { servers: ["127.0.0.1:${functions}"] }
routes:
  - id: plain
    match: { prefix: /plain }
    to: function:quote
    canary: { percent: 0 }
  - id: shadowed
    match: { prefix: /shadowed }
    to: function:quote
    canary: { percent: 0 }
    shadow: { timeout: 5s }
`;

/** One run of the load, with the gateway's CPU per request, the function side's CPU (in cores) and, on the shadowed route, the share of requests copied. */
interface Run extends LoadResult { cpuUsPerRequest: number; copiedShare: number; functionSideCores: number }
interface Pair { plain: Run[]; shadowed: Run[] }

/** The shadowed route's copies made so far (compared or failed), or with `reset` forgotten after reading. */
async function copiesMade(gw: RunningGateway, reset = false): Promise<number> {
  const { json } = await admin(gw.admin, 'GET', '/routes/shadowed/shadow');
  if (reset) await admin(gw.admin, 'DELETE', '/routes/shadowed/shadow');
  return Number(json.compared) + Number(json.errors);
}

async function measure(load: LoadGenerator, gw: RunningGateway, functionSide: number, rounds: number, durationSec: number, connections: number): Promise<Pair> {
  const out: Pair = { plain: [], shadowed: [] };
  const run = async (path: string): Promise<Run> => {
    await copiesMade(gw, true);
    const cpu0 = cpuMicrosOf(gw.pids());
    const fn0 = cpuMicrosOf([functionSide]);
    const r = await load.run({ url: `http://127.0.0.1:${gw.port}${path}/1`, durationSec, connections });
    const cpuUsPerRequest = (cpuMicrosOf(gw.pids()) - cpu0) / r.completed;
    const functionSideCores = (cpuMicrosOf([functionSide]) - fn0) / (r.elapsedMs * 1000);
    // Copies still running when the load ended are counted as not made: at most max_in_flight.
    return { ...r, cpuUsPerRequest, functionSideCores, copiedShare: path === '/shadowed' ? (await copiesMade(gw)) / r.completed : 0 };
  };
  await run('/plain'); // warm-up, not recorded
  await run('/shadowed');
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first, so a drift of the shared machine hits both alike.
    const order = i % 2 === 0 ? ['plain', 'shadowed'] as const : ['shadowed', 'plain'] as const;
    for (const which of order) out[which].push(await run(`/${which}`));
  }
  return out;
}

async function main(): Promise<void> {
  benchArgs(
    'npm run bench:shadow\n\nWhat a 100%-shadowed route costs its users, against the same route unshadowed; prints a Markdown table.',
    { knobs: ['BENCH_DURATION', 'BENCH_ROUNDS', 'BENCH_CONNECTIONS', 'BENCH_LOAD'] },
  );
  const s = readSettings();
  stopDescendantsOnExit();
  const log = (line: string) => process.stderr.write(line + '\n');
  const load = startLoadGenerator();
  const legacy = await startUpstream();
  const fast = await startUpstream();
  const slow = await startUpstream(SLOW_MS);
  try {
    const rows: string[] = [];
    for (const [name, fn] of [['fast function side', fast], [`function side answering after ${SLOW_MS} ms`, slow]] as const) {
      const gw = await startGatewayProcess(`gateway-${fn.ready.port}`, manifest(legacy.ready.port, fn.ready.port));
      try {
        log(`bench: shadow, ${name}: ${s.rounds} rounds of ${s.duration} s, ${s.connections} connections (${load.name})`);
        const cpu0 = machineCpu();
        const r = await measure(load, gw, fn.pid, s.rounds, s.duration, s.connections);
        const stolen = stolenShareSince(cpu0);
        const rps = (xs: Run[]) => median(xs.map((x) => x.rps));
        const p99 = (xs: Run[]) => median(xs.map((x) => x.p99Ms));
        const cpu = (xs: Run[]) => median(xs.map((x) => x.cpuUsPerRequest)).toFixed(0);
        // Each round's two runs are adjacent in time: the ratio of each round, then their median.
        const ratio = (key: 'rps' | 'p99Ms') => pairedRatio(r.shadowed, r.plain, key);
        const failed = (xs: Run[]) => xs.reduce((n, x) => n + x.failed, 0);
        const copied = median(r.shadowed.map((x) => x.copiedShare));
        const functionSide = median(r.shadowed.map((x) => x.functionSideCores));
        rows.push(`| ${name} | ${rps(r.plain).toFixed(0)} | ${rps(r.shadowed).toFixed(0)} | ${ratio('rps').toFixed(2)}× | ${p99(r.plain).toFixed(1)} | ${p99(r.shadowed).toFixed(1)} | ${ratio('p99Ms').toFixed(2)}× | ` +
          `${cpu(r.plain)} / ${cpu(r.shadowed)} | ${(copied * 100).toFixed(copied < 0.1 ? 1 : 0)}% | ${(functionSide * 100).toFixed(0)}% | ${failed(r.plain)} / ${failed(r.shadowed)} | ${Math.round(stolen * 100)}% |`);
      } finally {
        await gw.stop();
      }
    }
    process.stdout.write([
      `Shadow cost (${load.name}, ${s.connections} connections, median of ${s.rounds} rounds of ${s.duration} s, ratios the median of the rounds' ratios; targets: req/s ≥ 0.6×, p99 ≤ 1.1× with the slow side)`,
      '',
      "| shadow copies go to | plain req/s | shadowed req/s | ratio | plain p99 ms | shadowed p99 ms | ratio | gateway CPU µs/request (plain / shadowed) | shadowed requests copied | CPU the function side took while shadowed (share of one core) | failed (plain / shadowed) | CPU time the host took (steal) |",
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows,
      '',
    ].join('\n'));
  } finally {
    load.close();
    await Promise.all([legacy.stop(), fast.stop(), slow.stop()]);
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
