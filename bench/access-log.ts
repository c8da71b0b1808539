// The gateway's req/s with its access log on against off (target: on ≥ 0.9 × off). The same
// gateway, echo upstream and load as the overhead suite; runs alternate off/on to spread the
// drift of a shared machine over both. The gateway's CPU per request is reported too: on a
// shared machine it moves less than req/s does. Run: npm run build && node dist/bench/access-log.js
// (settings: --help).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRAFFIC_NODE_FLAGS } from '../gateway/runtime/node-flags';
import { startLoadGenerator } from './load';
import { benchManifest, PATHS } from './manifests';
import { cpuMicrosOf, startScript, stopDescendantsOnExit } from './proc';
import { benchArgs, num, whole } from './settings';

benchArgs(
  'node dist/bench/access-log.js\n\nThe gateway\'s req/s and CPU per request with its access log on against off; prints one JSON line.',
  { knobs: ['BENCH_ACCESS_LOG_SEC', 'BENCH_ACCESS_LOG_ROUNDS', 'BENCH_LOAD'] },
);
const SECONDS = num('BENCH_ACCESS_LOG_SEC');
const ROUNDS = whole('BENCH_ACCESS_LOG_ROUNDS');
const CONNECTIONS = 32;

async function main(): Promise<void> {
  stopDescendantsOnExit();
  const dir = mkdtempSync(join(tmpdir(), 'strangler-bench-log-'));
  const upstream = await startScript<{ port: number }>(join(__dirname, 'upstream.js'), []);
  const load = startLoadGenerator();
  const logPath = join(dir, 'access.log');
  const manifest = (log: string) => {
    const path = join(dir, `routes-${log === 'off' ? 'off' : 'on'}.yaml`);
    writeFileSync(path, benchManifest({ listen: 1, upstream: upstream.ready.port }) + `gateway:\n  access_log: "${log}"\n`);
    return path;
  };
  const variants = { off: manifest('off'), on: manifest(logPath) };
  const results: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const cpuPerRequest: Record<'off' | 'on', number[]> = { off: [], on: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of ['off', 'on'] as const) {
        const gw = await startScript<{ port: number }>(join(__dirname, 'peers', 'gateway.js'),
          [variants[v], join(dir, `state-${v}.json`), 'bench-token'], TRAFFIC_NODE_FLAGS);
        try {
          await load.run({ url: `http://127.0.0.1:${gw.ready.port}${PATHS.get}`, durationSec: 2, connections: CONNECTIONS }); // warm-up
          const cpuBefore = cpuMicrosOf([gw.pid]);
          const r = await load.run({ url: `http://127.0.0.1:${gw.ready.port}${PATHS.get}`, durationSec: SECONDS, connections: CONNECTIONS });
          const cpu = (cpuMicrosOf([gw.pid]) - cpuBefore) / r.completed;
          results[v].push(r.rps);
          cpuPerRequest[v].push(cpu);
          process.stderr.write(`round ${round + 1} access log ${v}: ${Math.round(r.rps)} req/s, ${cpu.toFixed(1)} µs CPU/request (p99 ${r.p99Ms} ms, failed ${r.failed})\n`);
        } finally {
          await gw.stop();
        }
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const lines = readFileSync(logPath, 'utf8').split('\n').length - 1;
    const ratio = mean(results.on) / mean(results.off);
    const summary = {
      load: load.name, seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS,
      off_rps: Math.round(mean(results.off)), on_rps: Math.round(mean(results.on)), ratio: Number(ratio.toFixed(3)),
      target: 0.9, met: ratio >= 0.9, lines_written: lines,
      cpu_us_per_request_off: Number(mean(cpuPerRequest.off).toFixed(1)), cpu_us_per_request_on: Number(mean(cpuPerRequest.on).toFixed(1)),
      cpu_ratio: Number((mean(cpuPerRequest.off) / mean(cpuPerRequest.on)).toFixed(3)),
    };
    process.stdout.write(JSON.stringify(summary) + '\n');
  } finally {
    load.close();
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
