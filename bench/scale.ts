// Suite 2, scale with routes: compile time (in-process and the `strangler compile` CLI), `nginx -t`
// time, and the gateway's throughput and memory with 10,000 routes against 10.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { renderNginxConfig } from '../gateway/nginx/render-config';
import { PROJECT_ROOT } from '../gateway/version';
import { describeCliStart, runCliStart, type CliStartResult } from './cli-start';
import type { LoadGenerator } from './load';
import { benchManifest, PATHS } from './manifests';
import { measure, type Sample } from './measure';
import { newPrefix, nginxTestMs } from './nginx';
import { summarize, type Summary } from './overhead';
import { freePort, rssBytes } from './proc';
import type { Settings } from './settings';
import { gatewayAvailable, startGatewayProcess, type RunningGateway } from './stack';
import { median, msSince } from './stats';

export interface CompileRow {
  routes: number;
  /** compileManifest + renderNginxConfig in this process (median). */
  inProcessMs: number;
  /** `node bin/strangler.js compile FILE -o OUT`, process start to exit (median). */
  cliMs: number;
  nginxTestMs: number;
  confBytes: number;
}

export interface GatewayScale {
  routes: number;
  startMs: number;
  rssBytes: number;
  summary: Summary;
  samples: Sample[];
}

export interface ScaleResult {
  compile: CompileRow[];
  /** The CLI's start at the largest route count: compile against its node + js-yaml floor, --help, validate. */
  cliStart?: CliStartResult;
  gateway: GatewayScale[];
  gatewaySkipped?: string;
}

const CLI = join(PROJECT_ROOT, 'bin', 'strangler.js');

function timeCompile(routes: number, upstream: number, dir: string): CompileRow {
  const text = benchManifest({ listen: 18080, upstream, routes });
  const reps = routes >= 10_000 ? 3 : 5;
  const inProc: number[] = [];
  let conf = '';
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    const { table, diagnostics } = compileManifest(text, 'bench.yaml');
    if (!table) throw new Error(`bench manifest with ${routes} routes is invalid: ${diagnostics[0]?.message}`);
    conf = renderNginxConfig(table, { manifestName: 'bench.yaml' });
    inProc.push(msSince(t0));
  }
  const file = join(dir, `routes-${routes}.yaml`);
  const out = join(dir, `nginx-${routes}.conf`);
  writeFileSync(file, text);
  const cli: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [CLI, 'compile', file, '-o', out], { encoding: 'utf8' });
    cli.push(msSince(t0));
    if (r.status !== 0) throw new Error(`strangler compile failed on ${routes} routes:\n${r.stderr}`);
  }
  const prefix = newPrefix();
  try {
    const confPath = join(prefix, 'nginx.conf');
    writeFileSync(confPath, conf);
    const tests = [0, 1, 2].map(() => nginxTestMs(prefix, confPath));
    return { routes, inProcessMs: median(inProc), cliMs: median(cli), nginxTestMs: median(tests), confBytes: Buffer.byteLength(conf) };
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}

export async function runScale(load: LoadGenerator, upstream: { port: number; pid: number }, s: Settings, log: (l: string) => void): Promise<ScaleResult> {
  const dir = mkdtempSync(join(tmpdir(), 'strangler-bench-scale-'));
  const result: ScaleResult = { compile: [], gateway: [] };
  try {
    compileManifest(benchManifest({ listen: 18080, upstream: upstream.port }), 'warm.yaml'); // load the modules
    for (const n of s.routeCounts) {
      const row = timeCompile(n, upstream.port, dir);
      result.compile.push(row);
      log(`scale: ${n} routes: compile ${row.inProcessMs.toFixed(0)} ms in-process, ${row.cliMs.toFixed(0)} ms CLI; nginx -t ${row.nginxTestMs.toFixed(0)} ms`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  result.cliStart = runCliStart(Math.max(...s.routeCounts));
  log(describeCliStart(result.cliStart));

  if (!gatewayAvailable()) {
    result.gatewaySkipped = 'gateway/runtime/gateway-server.ts is not in this build';
    return result;
  }
  const sizes = [10, Math.max(...s.routeCounts)];
  const gws: { routes: number; gw: RunningGateway; startMs: number }[] = [];
  try {
    for (const routes of sizes) {
      const t0 = process.hrtime.bigint();
      const gw = await startGatewayProcess(`gateway-${routes}-routes`, benchManifest({ listen: await freePort(), upstream: upstream.port, routes }));
      gws.push({ routes, gw, startMs: msSince(t0) });
    }
    const spec = (gw: RunningGateway, durationSec: number) => ({ url: `http://127.0.0.1:${gw.port}${PATHS.get}`, durationSec, connections: s.connections });
    for (const g of gws) await measure(load, g.gw, upstream.pid, spec(g.gw, s.warmup));
    const samples = new Map<number, Sample[]>(sizes.map((n) => [n, []]));
    for (let round = 0; round < s.rounds; round++) {
      const order = round % 2 ? [...gws].reverse() : gws;
      for (const g of order) {
        const sample = await measure(load, g.gw, upstream.pid, spec(g.gw, s.duration));
        samples.get(g.routes)!.push(sample);
        log(`scale round ${round + 1}/${s.rounds} gateway ${g.routes} routes: ${sample.rps.toFixed(0)} req/s p99 ${sample.p99Ms.toFixed(2)} ms${sample.failed ? ` FAILED ${sample.failed}` : ''}`);
      }
    }
    for (const g of gws) {
      const ss = samples.get(g.routes)!;
      result.gateway.push({ routes: g.routes, startMs: g.startMs, rssBytes: rssBytes(g.gw.pid), summary: summarize(ss), samples: ss });
    }
  } finally {
    await Promise.all(gws.map((g) => g.gw.stop()));
  }
  return result;
}
