// Suite 4, shared state: three gateway processes on one redis-server (persistence off).
// - Propagation: a change through instance 0 (PATCH, alternating 0 and 100 percent), timed from
//   sending it to the moment each other instance's admin API reports it in effect.
// - Throughput: the same load against a gateway with Redis state and one with file state,
//   interleaved rounds; state is read from memory on the request path, so the ratio should be ~1.
import { request } from 'undici';
import { findRedisServer, startRedis } from '../test/helpers/redis';
import type { LoadGenerator } from './load';
import { benchManifest, PATHS } from './manifests';
import { measure, type Sample } from './measure';
import { freePort } from './proc';
import type { Settings } from './settings';
import { ADMIN_TOKEN, gatewayAvailable, startGatewayProcess, type RunningGateway } from './stack';
import { max, median, percentile } from './stats';

export interface SharedStateResult {
  changes: number;
  /** Sending the change to instance 0 → in effect on another instance (ms), over changes × 2 instances. */
  propagationMs: { median: number; p99: number; max: number };
  /** Instance 0's answer to the change (ms): Redis holds it by then. */
  adminMs: { median: number; p99: number; max: number };
  adminFailures: number;
  rps: { redis: Sample[]; file: Sample[] };
  /** Median over rounds of redis rps / file rps in the same round. */
  rpsRatio: number;
}

const summary3 = (xs: number[]) => ({ median: median(xs), p99: percentile(xs, 99), max: max(xs) });

async function admin(port: number, method: 'GET' | 'PATCH', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await request(`http://127.0.0.1:${port}${path}`, {
    method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.statusCode, json: (await r.body.json()) as Record<string, unknown> };
}

/** Polls an instance until it serves `percent`; resolves to the time it was first seen (bounded). */
async function seenAt(port: number, percent: number): Promise<number> {
  for (let i = 0; i < 20_000; i++) {
    const r = await admin(port, 'GET', `/routes/${PATHS.flipRoute}`);
    if (r.json.effective_percent === percent) return performance.now();
  }
  throw new Error(`instance on ${port} never served ${percent}%`);
}

export async function runSharedState(load: LoadGenerator, upstream: { port: number; pid: number }, s: Settings, log: (line: string) => void): Promise<SharedStateResult | string> {
  const bin = findRedisServer();
  if (!bin) return 'redis-server not found';
  if (!gatewayAvailable()) return 'gateway not built';
  const redis = await startRedis(bin);
  const started: RunningGateway[] = [];
  try {
    const manifest = async () => benchManifest({ listen: await freePort(), upstream: upstream.port });
    for (let i = 0; i < 3; i++) started.push(await startGatewayProcess(`gateway-redis-${i}`, await manifest(), 0, redis.url));
    const file = await startGatewayProcess('gateway-file', await manifest());
    started.push(file);
    const [first, ...others] = started.slice(0, 3);

    const propagation: number[] = [];
    const adminMs: number[] = [];
    let adminFailures = 0;
    for (let n = 0; n < s.flips; n++) {
      const percent = n % 2 === 0 ? 100 : 0;
      const t0 = performance.now();
      const seen = others.map((o) => seenAt(o.admin, percent));
      const r = await admin(first.admin, 'PATCH', `/routes/${PATHS.flipRoute}`, { percent });
      adminMs.push(performance.now() - t0);
      if (r.status !== 200) adminFailures++;
      for (const t of await Promise.all(seen)) propagation.push(t - t0);
    }
    log(`shared-state: ${s.flips} changes, propagation p50 ${median(propagation).toFixed(2)} ms p99 ${percentile(propagation, 99).toFixed(2)} ms`);

    const spec = (g: RunningGateway, durationSec: number) => ({ url: `http://127.0.0.1:${g.port}${PATHS.get}`, method: 'GET' as const, durationSec, connections: s.connections });
    for (const g of [first, file]) await measure(load, g, upstream.pid, spec(g, s.warmup));
    const rps: SharedStateResult['rps'] = { redis: [], file: [] };
    for (let round = 0; round < s.rounds; round++) {
      const order = round % 2 === 0 ? (['redis', 'file'] as const) : (['file', 'redis'] as const);
      for (const which of order) {
        const g = which === 'redis' ? first : file;
        const sample = await measure(load, g, upstream.pid, spec(g, s.duration));
        rps[which].push(sample);
        log(`shared-state round ${round + 1}/${s.rounds} ${which}: ${sample.rps.toFixed(0)} req/s${sample.failed ? ` FAILED ${sample.failed}` : ''}`);
      }
    }
    const ratios = rps.redis.map((r, i) => r.rps / rps.file[i].rps);
    return { changes: s.flips, propagationMs: summary3(propagation), adminMs: summary3(adminMs), adminFailures, rps, rpsRatio: median(ratios) };
  } finally {
    await Promise.all(started.map((g) => g.stop()));
    await redis.close();
  }
}
