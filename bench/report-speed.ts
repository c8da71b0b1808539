// strangler report on a 1,000,000-line log: lines/s and peak RSS, against a bare readline +
// JSON.parse loop (target: ≥ 0.7 × its lines/s) and against GoAccess on the same log when it is
// installed (apt-get install goaccess; without it the comparison is skipped and says so).
// Run: npm run build && node dist/bench/report-speed.js (settings: --help).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAccessLine } from '../gateway/runtime/access-log';
import { benchManifest } from './manifests';
import { stopDescendantsOnExit } from './proc';
import { benchArgs, whole } from './settings';

benchArgs(
  'node dist/bench/report-speed.js\n\nstrangler report\'s lines/s and peak RSS on a generated access log, against a bare readline + JSON.parse loop and GoAccess; prints one JSON line.',
  { knobs: ['BENCH_REPORT_LINES'] },
);
const LINES = whole('BENCH_REPORT_LINES');

/** Routes of the bench manifest and unclaimed paths with ids, over 30 days. */
async function writeLog(path: string): Promise<void> {
  const out = createWriteStream(path);
  const routes = [['track', '/api/v1/track/'], ['upload', '/api/v1/upload/'], ['images', '/images/'], ['search', '/search/'], ['account', '/account/']];
  const unclaimed = ['/users/', '/orders/', '/invoices/', '/products/', '/static/app.js', '/health'];
  let chunk = '';
  for (let i = 0; i < LINES; i++) {
    const day = String(1 + (i % 30)).padStart(2, '0');
    const claimed = i % 5 < 2;
    const route = claimed ? routes[i % routes.length] : null;
    const base = route ? route[1] : unclaimed[i % unclaimed.length];
    const uri = base.endsWith('/') ? `${base}${(i * 7919) % 100_000}` : base;
    chunk += formatAccessLine({
      time: `2026-11-${day}T12:${String(i % 60).padStart(2, '0')}:00+00:00`, route: route ? route[0] : 'default',
      target: route && i % 3 !== 0 ? `function:${route[0]}` : 'legacy', method: 'GET', uri, status: i % 50 === 0 ? 502 : 200,
      bytes: 512, request_time: ((i % 200) + 1) / 1000, upstream_response_time: '0.001', upstream_addr: '127.0.0.1:8081',
      upstream_status: '200', remote_addr: '10.0.0.1',
      request_id: i.toString(16).padStart(32, '0'), user_agent: 'Mozilla/5.0',
    });
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.end(chunk);
  await new Promise<void>((r) => out.once('finish', () => r()));
}

interface Run { ms: number; peakRssMiB: number; linesPerSec: number }

/** Runs a command to completion, polling its peak RSS (VmHWM) from /proc. */
function measure(cmd: string, args: string[]): Promise<Run & { stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hwm = 0;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const poll = setInterval(() => {
      try {
        const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
      } catch { /* exited */ }
    }, 20);
    child.once('error', reject);
    child.once('close', (code) => {
      clearInterval(poll);
      const ms = performance.now() - started;
      if (code !== 0) return reject(new Error(`${cmd} exited ${code}: ${stderr.slice(-2000)}`));
      resolve({ ms: Math.round(ms), peakRssMiB: Number((hwm / 2 ** 20).toFixed(1)), linesPerSec: Math.round(LINES / (ms / 1000)), stdout });
    });
  });
}

function goaccessAvailable(): boolean {
  return spawnSync('goaccess', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function main(): Promise<void> {
  stopDescendantsOnExit();
  const dir = mkdtempSync(join(tmpdir(), 'strangler-bench-report-'));
  try {
    const log = join(dir, 'access.log');
    const manifest = join(dir, 'routes.yaml');
    writeFileSync(manifest, benchManifest({ listen: 8080, upstream: 8081 }));
    await writeLog(log);
    process.stderr.write(`log: ${LINES} lines, ${(statSync(log).size / 2 ** 20).toFixed(0)} MiB\n`);
    const reader = join(__dirname, 'report-reader.js');
    const bare = await measure(process.execPath, [reader, 'bare', log]);
    const report = await measure(process.execPath, [reader, 'report', manifest, log]);
    const summary: Record<string, unknown> = {
      lines: LINES,
      bare: { lines_per_sec: bare.linesPerSec, peak_rss_mib: bare.peakRssMiB, ms: bare.ms },
      report: { lines_per_sec: report.linesPerSec, peak_rss_mib: report.peakRssMiB, ms: report.ms },
      ratio_to_bare: Number((report.linesPerSec / bare.linesPerSec).toFixed(3)),
      target: 0.7,
    };
    if (goaccessAvailable()) {
      // GoAccess reading the same JSON lines (its JSON log format), writing its own JSON report.
      const format = '{"time":"%x","method":"%m","uri":"%U","status":"%s","bytes":"%b","request_time":"%T","remote_addr":"%h"}';
      const g = await measure('goaccess', [log, '--log-format', format, '--datetime-format', '%Y-%m-%dT%H:%M:%S%z',
        '--no-global-config', '-o', join(dir, 'goaccess.json')]);
      summary.goaccess = { lines_per_sec: g.linesPerSec, peak_rss_mib: g.peakRssMiB, ms: g.ms };
    } else {
      summary.goaccess = 'not installed (apt-get install goaccess): comparison skipped';
    }
    process.stdout.write(JSON.stringify(summary) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
