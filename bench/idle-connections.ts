// Many idle keep-alive clients: what they cost nginx and the gateway. For each layer: a normal
// client's req/s and p99 alone, then with N idle keep-alive connections held open (each served
// one request first, then silent), opened gradually (batches of 100) and in one burst; the RSS
// per idle connection; and the RSS once they are closed (memory returned).
//
// Each figure is the median of BENCH_IDLE_ROUNDS load runs (a single run's p99 swung 1.7–3.5×
// nginx's between two runs on the same machine).
//
//   npm run build && node dist/bench/idle-connections.js
//   BENCH_IDLE=10000 BENCH_IDLE_SEC=10 BENCH_IDLE_ROUNDS=3 (defaults)
import { connect, type Socket } from 'node:net';
import { startLoadGenerator, type LoadGenerator, type LoadResult } from './load';
import { benchManifest, PATHS } from './manifests';
import { freePort, rssBytes, sleep } from './proc';
import { startGatewayProcess, startGeneratedNginx, startUpstream, type Running } from './stack';
import { median } from './stats';

const IDLE = Number(process.env.BENCH_IDLE ?? 10_000);
const SECONDS = Number(process.env.BENCH_IDLE_SEC ?? 10);
const ROUNDS = Number(process.env.BENCH_IDLE_ROUNDS ?? 3);
const BATCH = 100;
/** After the idle clients close: how long the layer gets to return memory. */
const SETTLE_MS = 5_000;

/** Medians over the rounds. */
interface Figures { rps: number; p50Ms: number; p99Ms: number; failed: number; rounds: LoadResult[] }

interface Row {
  layer: string;
  mode: 'gradual' | 'burst';
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

/** One keep-alive connection that sends a GET, reads the answer, then stays open and silent. */
function idleClient(port: number): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      if (!ok) s.destroy();
      resolve(ok ? s : null);
    };
    s.on('error', () => done(false));
    s.once('connect', () => s.write(`GET ${PATHS.get} HTTP/1.1\r\nHost: bench\r\n\r\n`));
    s.on('data', (d: Buffer) => { if (d.includes('\r\n\r\n')) done(true); });
    s.setTimeout(30_000, () => done(false));
  });
}

async function openIdle(port: number, n: number, mode: 'gradual' | 'burst'): Promise<Socket[]> {
  const out: Socket[] = [];
  if (mode === 'burst') {
    for (const s of await Promise.all(Array.from({ length: n }, () => idleClient(port)))) if (s) out.push(s);
    return out;
  }
  for (let i = 0; i < n; i += BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, () => idleClient(port)));
    for (const s of batch) if (s) out.push(s);
  }
  return out;
}

async function measureLayer(load: LoadGenerator, r: Running, mode: 'gradual' | 'burst'): Promise<Row> {
  const url = `http://127.0.0.1:${r.port}${PATHS.get}`;
  const spec = { url, durationSec: SECONDS, connections: 8 };
  await load.run({ ...spec, durationSec: Math.min(3, SECONDS) }); // warm-up: JIT, pools
  const alone = await rounds(load, spec);
  const rssBefore = rssOf(r);
  const idle = await openIdle(r.port, IDLE, mode);
  const rssIdle = rssOf(r);
  const withIdle = await rounds(load, spec);
  for (const s of idle) s.destroy();
  await sleep(SETTLE_MS);
  const rssAfter = rssOf(r);
  return {
    layer: r.name, mode, alone, withIdle, opened: idle.length,
    rssBeforeMiB: rssBefore / MiB, rssIdleMiB: rssIdle / MiB, rssAfterMiB: rssAfter / MiB,
    kibPerIdle: idle.length ? (rssIdle - rssBefore) / 1024 / idle.length : NaN,
  };
}

async function rounds(load: LoadGenerator, spec: { url: string; durationSec: number; connections: number }): Promise<Figures> {
  const runs: LoadResult[] = [];
  for (let i = 0; i < ROUNDS; i++) runs.push(await load.run(spec));
  return {
    rps: median(runs.map((x) => x.rps)), p50Ms: median(runs.map((x) => x.p50Ms)), p99Ms: median(runs.map((x) => x.p99Ms)),
    failed: runs.reduce((n, x) => n + x.failed, 0), rounds: runs,
  };
}

async function main(): Promise<void> {
  const load = startLoadGenerator();
  const upstream = await startUpstream();
  const rows: Row[] = [];
  try {
    for (const mode of ['gradual', 'burst'] as const) {
      // Fresh processes per mode, so one mode's leftovers do not count against the other.
      const listen = await freePort();
      const manifest = benchManifest({ listen, upstream: upstream.ready.port });
      const nginx = await startGeneratedNginx('nginx', { listen, upstream: upstream.ready.port });
      const gateway = await startGatewayProcess('gateway', manifest);
      try {
        for (const r of [nginx, gateway]) {
          const row = await measureLayer(load, r, mode);
          rows.push(row);
          process.stderr.write(`${row.layer} ${mode}: ${row.opened} idle; ${row.alone.rps.toFixed(0)} → ${row.withIdle.rps.toFixed(0)} req/s, ` +
            `p99 ${row.alone.p99Ms.toFixed(1)} → ${row.withIdle.p99Ms.toFixed(1)} ms; RSS ${row.rssBeforeMiB.toFixed(1)} → ${row.rssIdleMiB.toFixed(1)} → ${row.rssAfterMiB.toFixed(1)} MiB ` +
            `(${row.kibPerIdle.toFixed(1)} KiB per idle connection)\n`);
        }
      } finally {
        await gateway.stop();
        await nginx.stop();
      }
    }
  } finally {
    load.close();
    await upstream.stop();
  }
  // The bars: the gateway keeps ≥ 0.8× its req/s and a p99 within 2× nginx's in the same run.
  for (const mode of ['gradual', 'burst'] as const) {
    const g = rows.find((x) => x.layer === 'gateway' && x.mode === mode)!;
    const n = rows.find((x) => x.layer === 'nginx' && x.mode === mode)!;
    process.stdout.write(`${mode}: gateway req/s with ${g.opened} idle = ${(g.withIdle.rps / g.alone.rps).toFixed(2)}× alone (bar 0.8); ` +
      `p99 = ${(g.withIdle.p99Ms / n.withIdle.p99Ms).toFixed(2)}× nginx's (bar 2); RSS returned: ${(g.rssIdleMiB - g.rssAfterMiB).toFixed(1)} of ` +
      `${(g.rssIdleMiB - g.rssBeforeMiB).toFixed(1)} MiB\n`);
  }
  process.stdout.write(JSON.stringify(rows) + '\n');
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
