// Load from wrk: one wrk process per run, one thread (the machine has two cores to share with the
// proxy and the upstream), a Lua script for the method and body, and the results printed as one
// JSON line by the script's done() hook, with latencies in microseconds.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadGenerator, LoadResult, LoadSpec } from './load';

const MARK = 'STRANGLER-BENCH ';

/** The Lua script for one spec; strings reach Lua as JSON string literals. */
function script(spec: LoadSpec): string {
  const lua = (s: string) => JSON.stringify(s); // a JSON string of printable ASCII is a valid Lua literal
  const headers = { ...(spec.bodyBytes ? { 'content-type': 'application/octet-stream' } : {}), ...spec.headers };
  return [
    `wrk.method = ${lua(spec.method ?? 'GET')}`,
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${lua(k)}] = ${lua(v)}`),
    spec.bodyBytes ? `wrk.body = string.rep("a", ${spec.bodyBytes})` : '',
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    `  io.write(string.format("${MARK}{\\"requests\\":%d,\\"duration_us\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,` +
      `\\"status\\":%d,\\"timeout\\":%d,\\"p50_us\\":%d,\\"p99_us\\":%d}\\n",`,
    '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,',
    '    latency:percentile(50), latency:percentile(99)))',
    'end',
    '',
  ].join('\n');
}

interface WrkLine { requests: number; duration_us: number; connect: number; read: number; write: number; status: number; timeout: number; p50_us: number; p99_us: number }

export class WrkLoad implements LoadGenerator {
  private current: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'strangler-bench-wrk-'));

  constructor(readonly name: string) {}

  run(spec: LoadSpec): Promise<LoadResult> {
    const file = join(this.dir, 'load.lua');
    writeFileSync(file, script(spec));
    const args = ['-t1', `-c${spec.connections}`, `-d${Math.max(1, Math.round(spec.durationSec))}s`, '--timeout', '10s', '-s', file, spec.url];
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.current = child;
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        this.current = null;
        const line = out.split('\n').find((l) => l.startsWith(MARK));
        if (!line) return reject(new Error(`wrk ${args.join(' ')} ended (${signal ?? code}) without results:\n${out}`));
        const w = JSON.parse(line.slice(MARK.length)) as WrkLine;
        const errors = w.connect + w.read + w.write;
        resolve({
          completed: w.requests,
          failed: errors + w.timeout + w.status,
          errors,
          timeouts: w.timeout,
          non2xx: w.status,
          statusCodes: w.status ? { '≥400': w.status } : {},
          elapsedMs: w.duration_us / 1000,
          rps: w.requests / (w.duration_us / 1e6),
          p50Ms: w.p50_us / 1000,
          p99Ms: w.p99_us / 1000,
        });
      });
    });
  }

  /** wrk stops on SIGINT and still prints its results (and runs done()). */
  stopRun(): void {
    this.current?.kill('SIGINT');
  }

  close(): void {
    this.current?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
