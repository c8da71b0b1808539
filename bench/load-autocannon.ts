// The load generator where wrk is not installed: autocannon as a library, in its own process
// (forked once and reused), so its CPU never counts against the proxy under test. Latencies are
// recorded per response with microsecond resolution (autocannon's own histogram keeps whole
// milliseconds).
import { fork, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import type { LoadGenerator, LoadResult, LoadSpec } from './load';

type Msg = { kind: 'run'; spec: LoadSpec } | { kind: 'stop' };

function percentile(sorted: Float64Array, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function runAutocannon(spec: LoadSpec, onInstance: (stop: () => void) => void): Promise<LoadResult> {
  let lat = new Float64Array(1 << 16);
  let n = 0;
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url: spec.url,
      method: spec.method ?? 'GET',
      connections: spec.connections,
      pipelining: 1,
      duration: spec.durationSec,
      timeout: 10,
      headers: { ...(spec.bodyBytes ? { 'content-type': 'application/octet-stream' } : {}), ...spec.headers },
      ...(spec.bodyBytes ? { body: Buffer.alloc(spec.bodyBytes, 0x61) } : {}),
    }, (err, result) => {
      if (err) return reject(err);
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      const sorted = lat.subarray(0, n).sort();
      const statusCodes: Record<string, number> = {};
      for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = (s as { count: number }).count;
      resolve({
        completed: n,
        failed: result.errors + result.timeouts + result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        non2xx: result.non2xx,
        statusCodes,
        elapsedMs,
        rps: n / (elapsedMs / 1000),
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
      });
    });
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      if (n === lat.length) {
        const bigger = new Float64Array(lat.length * 2);
        bigger.set(lat);
        lat = bigger;
      }
      lat[n++] = ms;
    });
    onInstance(() => instance.stop());
  });
}

/** The parent side: one forked load process, one run at a time. */
export class AutocannonLoad implements LoadGenerator {
  readonly name = 'autocannon';
  private constructor(private readonly child: ChildProcess) {}

  static start(): AutocannonLoad {
    return new AutocannonLoad(fork(__filename, ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  run(spec: LoadSpec): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error('the load generator exited'));
      this.child.once('exit', onExit);
      this.child.once('message', (m: { ok: boolean; result?: LoadResult; error?: string }) => {
        this.child.off('exit', onExit);
        if (m.ok) resolve(m.result!);
        else reject(new Error(`load generator: ${m.error}`));
      });
      this.child.send({ kind: 'run', spec } satisfies Msg);
    });
  }

  /** Ends the current run early (its result still arrives through run()). */
  stopRun(): void {
    this.child.send({ kind: 'stop' } satisfies Msg);
  }

  close(): void {
    this.child.kill('SIGTERM');
  }
}

if (require.main === module && process.argv.includes('--child')) {
  let stopCurrent: (() => void) | null = null;
  process.on('message', (m: Msg) => {
    if (m.kind === 'stop') {
      stopCurrent?.();
      return;
    }
    runAutocannon(m.spec, (stop) => { stopCurrent = stop; })
      .then((result) => process.send!({ ok: true, result }))
      .catch((err: Error) => process.send!({ ok: false, error: err.message }))
      .finally(() => { stopCurrent = null; });
  });
  process.on('disconnect', () => process.exit(0));
}
