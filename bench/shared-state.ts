// Suite 4, shared state: three gateway processes on one redis-server (persistence off).
// - Propagation: a change through instance 0 (PATCH, alternating 0 and 100 percent), timed from
//   sending it to the moment each other instance began serving it (its /healthz
//   state_adopted_at_ms; same host, same clock), then checked on that instance's traffic port.
// - Seen in traffic: the same changes again, timed to the first answer from each other
//   instance's traffic port that follows it, by pollers running through the change (so it also
//   counts a poll's round trip and the pollers' load on the two cores).
// - Throughput: a gateway with Redis state and one with file state under load at the same time,
//   each from its own load generator, over rounds, on three fresh pairs; state is read from
//   memory on the request path, so the ratio should be ~1.
import { Client } from 'undici';
import { preciseNowMs } from '../gateway/util/host-clock';
import { findRedisServer, startRedis } from '../test/helpers/redis';
import { startLoadGenerator, type LoadGenerator } from './load';
import { benchManifest, PATHS } from './manifests';
import { measure, type Sample } from './measure';
import { freePort, sleep } from './proc';
import type { Settings } from './settings';
import { admin, gatewayAvailable, startGatewayProcess, type RunningGateway } from './stack';
import { max, median, pairedRatio, percentile } from './stats';

export interface SharedStateResult {
  changes: number;
  /** Sending the change to instance 0 → another instance serving it (ms, its own adoption time), over changes × 2 instances. */
  propagationMs: { median: number; p99: number; max: number };
  /** Answers on the other instances' traffic ports checked right after they reported the change: any that followed the old split. */
  stale: number;
  /** Sending the change → a poller's first answer from another instance that follows it (ms). */
  seenMs: { median: number; p99: number; max: number };
  /** Instance 0's answer to the change (ms): Redis holds it by then. */
  adminMs: { median: number; p99: number; max: number };
  adminFailures: number;
  rps: { redis: Sample[]; file: Sample[] };
  /** Median over rounds of redis rps / file rps in the same round. */
  rpsRatio: number;
}

/** Changes made before the recorded ones (JIT, Redis's script cache). */
export const WARMUP_CHANGES = 10;
/** Fresh pairs of gateways (Redis state, file state) the throughput is measured on. */
const THROUGHPUT_PAIRS = 3;

const summary3 = (xs: number[]) => ({ median: median(xs), p99: percentile(xs, 99), max: max(xs) });

/** Polls an instance's /healthz until it serves `version`; the time it began serving it (epoch ms). */
async function adoptedAt(adminPort: number, version: number): Promise<number> {
  for (let i = 0; i < 5_000; i++) {
    const state = (await admin(adminPort, 'GET', '/healthz')).json.state as { state_version: number; state_adopted_at_ms: number };
    if (state.state_version >= version) return state.state_adopted_at_ms;
    await sleep(2);
  }
  throw new Error(`an instance never served version ${version}`);
}

/**
 * Between two polls. Pollers that never pause kept both cores busy (two pollers, three gateways,
 * Redis and the upstream on two cores), and the change then waited for a core at every hop: the
 * admin call alone took 9 ms at the median. A 1 ms pause costs up to 1 ms of resolution.
 */
const POLL_GAP_MS = 1;

/**
 * Polls an instance's traffic port until its answers follow the new split (the route's target in
 * X-Strangler-Target); resolves to the time the first one did (bounded). One keep-alive
 * connection per instance, so the poll costs a proxied request, not an admin call.
 */
async function seenAt(poll: Client, expected: string): Promise<number> {
  for (let i = 0; i < 20_000; i++) {
    const r = await poll.request({ path: PATHS.flip, method: 'GET' });
    await r.body.dump();
    if (r.headers['x-strangler-target'] === expected) return performance.now();
    await sleep(POLL_GAP_MS);
  }
  throw new Error(`an instance never served ${expected}`);
}

export async function runSharedState(load: LoadGenerator, upstream: { port: number; pid: number }, s: Settings, log: (line: string) => void): Promise<SharedStateResult | string> {
  const bin = findRedisServer();
  if (!bin) return 'redis-server not found';
  if (!gatewayAvailable()) return 'gateway not built';
  const redis = await startRedis(bin);
  const started: RunningGateway[] = [];
  let polls: Client[] = [];
  try {
    const manifest = async () => benchManifest({ listen: await freePort(), upstream: upstream.port, debugHeaders: true });
    for (let i = 0; i < 3; i++) started.push(await startGatewayProcess(`gateway-redis-${i}`, await manifest(), 0, redis.url));
    const [first, ...others] = started;
    polls = others.map((o) => new Client(`http://127.0.0.1:${o.port}`));

    const expected = (percent: number) => (percent === 100 ? PATHS.flipTarget : 'legacy');
    const rps: SharedStateResult['rps'] = { redis: [], file: [] };
    const propagation: number[] = [];
    const adminMs: number[] = [];
    let adminFailures = 0;
    let stale = 0;
    // The first changes compile the admin path and load the script into Redis: not recorded.
    for (let n = -WARMUP_CHANGES; n < s.flips; n++) {
      const percent = n % 2 === 0 ? 100 : 0;
      const t0 = preciseNowMs();
      const r = await admin(first.admin, 'PATCH', `/routes/${PATHS.flipRoute}`, { percent });
      const answered = preciseNowMs() - t0;
      const version = Number(r.json.state_version);
      const adopted = await Promise.all(others.map((o) => adoptedAt(o.admin, version)));
      for (const p of polls) {
        const res = await p.request({ path: PATHS.flip, method: 'GET' });
        await res.body.dump();
        if (res.headers['x-strangler-target'] !== expected(percent)) stale++;
      }
      if (n < 0) continue;
      adminMs.push(answered);
      if (r.status !== 200) adminFailures++;
      for (const t of adopted) propagation.push(t - t0);
    }
    log(`shared-state: ${s.flips} changes, propagation p50 ${median(propagation).toFixed(2)} ms p99 ${percentile(propagation, 99).toFixed(2)} ms`);

    const seen: number[] = [];
    for (let n = -WARMUP_CHANGES; n < s.flips; n++) {
      const percent = n % 2 === 0 ? 100 : 0;
      const t0 = performance.now();
      const seenAll = polls.map((p) => seenAt(p, expected(percent)));
      await admin(first.admin, 'PATCH', `/routes/${PATHS.flipRoute}`, { percent });
      const times = await Promise.all(seenAll);
      if (n >= 0) for (const t of times) seen.push(t - t0);
    }
    log(`shared-state: seen in traffic by pollers p50 ${median(seen).toFixed(2)} ms p99 ${percentile(seen, 99).toFixed(2)} ms`);

    // Throughput: a gateway on the shared Redis and one on a state file, under load at once, each
    // from its own load generator with half the connections: a shared host's speed swings by a
    // third from one run to the next, and a drift then hits both alike. Two processes of the same
    // code still differ by up to a fifth for as long as they run (which core each shares with
    // which process, what V8 compiled when), so one pair measures that pair: THROUGHPUT_PAIRS
    // fresh pairs, started in alternating order, take s.rounds rounds each.
    const second = startLoadGenerator();
    try {
      const half = Math.max(1, Math.round(s.connections / 2));
      const spec = (g: RunningGateway, durationSec: number) => ({ url: `http://127.0.0.1:${g.port}${PATHS.get}`, method: 'GET' as const, durationSec, connections: half });
      for (let pair = 0; pair < THROUGHPUT_PAIRS; pair++) {
        const pairStarted: RunningGateway[] = [];
        const startSide = async (name: string, state?: string) => {
          const g = await startGatewayProcess(`${name}-${pair}`, await manifest(), 0, state);
          pairStarted.push(g);
          return g;
        };
        try {
          let onRedis: RunningGateway;
          let onFile: RunningGateway;
          if (pair % 2 === 0) {
            onRedis = await startSide('gateway-redis-load', redis.url);
            onFile = await startSide('gateway-file-load');
          } else {
            onFile = await startSide('gateway-file-load');
            onRedis = await startSide('gateway-redis-load', redis.url);
          }
          // Which load generator drives which side alternates too.
          const [loadRedis, loadFile] = pair % 2 === 0 ? [load, second] : [second, load];
          const both = (durationSec: number) => Promise.all([
            measure(loadRedis, onRedis, upstream.pid, spec(onRedis, durationSec)),
            measure(loadFile, onFile, upstream.pid, spec(onFile, durationSec)),
          ]);
          await both(s.warmup);
          for (let round = 0; round < s.rounds; round++) {
            const [redisSample, fileSample] = await both(s.duration);
            rps.redis.push(redisSample);
            rps.file.push(fileSample);
            log(`shared-state pair ${pair + 1}/${THROUGHPUT_PAIRS} round ${round + 1}/${s.rounds}: redis ${redisSample.rps.toFixed(0)} req/s, file ${fileSample.rps.toFixed(0)} req/s at once` +
              `${redisSample.failed || fileSample.failed ? ` FAILED ${redisSample.failed} / ${fileSample.failed}` : ''}`);
          }
        } finally {
          await Promise.all(pairStarted.map((g) => g.stop()));
        }
      }
    } finally {
      second.close();
    }
    return { changes: s.flips, propagationMs: summary3(propagation), stale, seenMs: summary3(seen), adminMs: summary3(adminMs), adminFailures, rps, rpsRatio: pairedRatio(rps.redis, rps.file, 'rps') };
  } finally {
    await Promise.all(polls.map((p) => p.close()));
    await Promise.all(started.map((g) => g.stop()));
    await redis.close();
  }
}
