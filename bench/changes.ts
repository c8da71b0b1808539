// Suite 3, changes under load: runtime canary changes through the gateway's admin API, and
// nginx reloads by `strangler apply` next to plain `nginx -s reload`, while load runs.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { preciseNowMs } from '../gateway/util/host-clock';
import { PROJECT_ROOT } from '../gateway/version';
import type { LoadGenerator, LoadResult } from './load';
import { benchManifest, PATHS } from './manifests';
import { nginxBin, startNginx } from './nginx';
import { freePort, sleep } from './proc';
import type { Settings } from './settings';
import { WARMUP_CHANGES } from './shared-state';
import { ADMIN_TOKEN, gatewayAvailable, generatedConfig, startGatewayProcess } from './stack';
import { max, median, msSince, percentile } from './stats';

export interface FlipResult {
  flips: number;
  /** Admin call sent → the gateway serving the change (its /healthz state_adopted_at_ms; same host, same clock) (ms). */
  propagationMs: { median: number; p99: number; max: number };
  /** Admin call sent → first response that follows the new split, polling from the moment the call is sent (ms): one proxied request under load more. */
  seenMs: { median: number; p99: number; max: number };
  /** The admin call's own round trip under load (ms). */
  adminMs: { median: number; p99: number; max: number };
  /** Requests sent after the admin call was answered that still followed the old split. */
  staleAfterAck: number;
  adminFailures: number;
  load: LoadResult;
}

export interface ReloadRun {
  reloads: number;
  /** Reloads whose command exited non-zero. */
  commandFailures: number;
  commandMs: { median: number; max: number };
  load: LoadResult;
}

export interface ChangesResult {
  flips?: FlipResult;
  flipsSkipped?: string;
  apply: ReloadRun;
  plainReload: ReloadRun;
}

const summary3 = (xs: number[]) => ({ median: median(xs), p99: percentile(xs, 99), max: max(xs) });

async function targetOf(client: Client): Promise<string> {
  const r = await client.request({ path: PATHS.flip, method: 'GET' });
  await r.body.dump();
  if (r.statusCode !== 200) throw new Error(`flip poll answered ${r.statusCode}`);
  return String(r.headers['x-strangler-target'] ?? '');
}

interface FlipOnce { adminStatus: number; adminMs: number; seenMs: number; adoptedMs: number; stale: number }

/**
 * One change: the admin call and a poller on its own connection start together. Propagation is
 * the call's start to the moment the gateway began serving the change, as its /healthz reports
 * it; seen is the call's start to the poller's first response that follows the new split. The
 * poller goes on until a request sent after the call was answered has come back, and counts such
 * requests that still followed the old split.
 */
async function flipOnce(admin: Client, poll: Client, percent: number, expected: string): Promise<FlipOnce> {
  const t0 = process.hrtime.bigint();
  const t0Ms = preciseNowMs();
  let ackAt: bigint | null = null;
  let adminStatus = 0;
  const call = admin.request({
    path: `/routes/${PATHS.flipRoute}`, method: 'PATCH',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ percent }),
  }).then(async (r) => {
    await r.body.dump();
    adminStatus = r.statusCode;
    ackAt = process.hrtime.bigint();
  });
  let firstNew = NaN;
  let stale = 0;
  for (;;) {
    const sentAt = process.hrtime.bigint();
    const got = await targetOf(poll);
    const afterAck = ackAt !== null && sentAt > ackAt;
    if (got === expected) {
      if (Number.isNaN(firstNew)) firstNew = msSince(t0);
      if (afterAck) break;
    } else if (afterAck) {
      stale++;
    }
    if (ackAt !== null && adminStatus !== 200) break;
    if (msSince(t0) > 5000) throw new Error(`canary change to ${percent}%: still not ${expected} 5 s after the admin call`);
  }
  await call;
  const health = await admin.request({ path: '/healthz', method: 'GET' });
  const adoptedAt = ((await health.body.json()) as { state: { state_adopted_at_ms: number } }).state.state_adopted_at_ms;
  return { adminStatus, adminMs: Number(ackAt! - t0) / 1e6, seenMs: firstNew, adoptedMs: adoptedAt - t0Ms, stale };
}

async function runFlips(load: LoadGenerator, upstream: { port: number }, s: Settings, log: (l: string) => void): Promise<FlipResult> {
  const gw = await startGatewayProcess('gateway-flips', benchManifest({ listen: await freePort(), upstream: upstream.port, debugHeaders: true }));
  const admin = new Client(`http://127.0.0.1:${gw.admin}`);
  const poll = new Client(`http://127.0.0.1:${gw.port}`);
  try {
    if ((await targetOf(poll)) !== 'legacy') throw new Error('the flip route should start on legacy (percent 0)');
    const running = load.run({ url: `http://127.0.0.1:${gw.port}${PATHS.flip}`, durationSec: 3600, connections: s.connections });
    await sleep(1000);
    const seen: number[] = [];
    const propagation: number[] = [];
    const adminRtt: number[] = [];
    let stale = 0;
    let adminFailures = 0;
    for (let i = 1 - WARMUP_CHANGES; i <= s.flips; i++) {
      const percent = i % 2 ? 100 : 0;
      const f = await flipOnce(admin, poll, percent, percent === 100 ? PATHS.flipTarget : 'legacy');
      if (i < 1) continue; // warm-up: the admin path compiled, not recorded
      if (f.adminStatus !== 200) adminFailures++;
      else { seen.push(f.seenMs); propagation.push(f.adoptedMs); }
      adminRtt.push(f.adminMs);
      stale += f.stale;
      await sleep(20);
    }
    load.stopRun();
    const result = await running;
    log(`changes: ${s.flips} flips: propagation median ${median(propagation).toFixed(2)} ms, p99 ${percentile(propagation, 99).toFixed(2)} ms; ` +
      `seen by the poller median ${median(seen).toFixed(2)} ms, p99 ${percentile(seen, 99).toFixed(2)} ms; ${result.failed} failed of ${result.completed}`);
    return { flips: s.flips, propagationMs: summary3(propagation), seenMs: summary3(seen), adminMs: summary3(adminRtt), staleAfterAck: stale, adminFailures, load: result };
  } finally {
    await Promise.all([admin.close(), poll.close()]);
    await gw.stop();
  }
}

function run(cmd: string, args: string[]): Promise<{ ok: boolean; ms: number; output: string }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => resolve({ ok: !err, ms: msSince(t0), output: `${stdout}${stderr}` }));
  });
}

async function reloadsUnderLoad(
  load: LoadGenerator, port: number, s: Settings, reloadOnce: (i: number) => Promise<{ ok: boolean; ms: number; output: string }>,
): Promise<ReloadRun> {
  const running = load.run({ url: `http://127.0.0.1:${port}${PATHS.get}`, durationSec: 3600, connections: s.connections });
  await sleep(1000);
  const times: number[] = [];
  let failures = 0;
  for (let i = 1; i <= s.reloads; i++) {
    const r = await reloadOnce(i);
    times.push(r.ms);
    if (!r.ok) {
      failures++;
      process.stderr.write(`reload ${i} failed:\n${r.output}\n`);
    }
    await sleep(500);
  }
  load.stopRun();
  const result = await running;
  return { reloads: s.reloads, commandFailures: failures, commandMs: { median: median(times), max: max(times) }, load: result };
}

async function runReloads(load: LoadGenerator, upstream: { port: number }, s: Settings, log: (l: string) => void) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'strangler-bench-apply-'));
  const manifest = join(dir, 'routes.yaml');
  // Two manifests that differ in one canary percentage: each apply has a real change to make.
  const variant = (i: number) => benchManifest({ listen: port, upstream: upstream.port }).replace('percent: 10,', `percent: ${i % 2 ? 20 : 10},`);
  const nginx = await startNginx(generatedConfig(variant(0)), port);
  try {
    const { prefix, confPath } = nginx;
    const apply = await reloadsUnderLoad(load, port, s, (i) => {
      writeFileSync(manifest, variant(i));
      return run(process.execPath, [join(PROJECT_ROOT, 'bin', 'strangler.js'), 'apply', manifest, '--conf', confPath, '--prefix', prefix]);
    });
    log(`changes: ${s.reloads} strangler apply reloads: ${apply.load.failed} failed of ${apply.load.completed}`);
    const plainReload = await reloadsUnderLoad(load, port, s, () => run(nginxBin(), ['-p', prefix + '/', '-c', confPath, '-s', 'reload']));
    log(`changes: ${s.reloads} nginx -s reload: ${plainReload.load.failed} failed of ${plainReload.load.completed}`);
    return { apply, plainReload };
  } finally {
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runChanges(load: LoadGenerator, upstream: { port: number; pid: number }, s: Settings, log: (l: string) => void): Promise<ChangesResult> {
  let flips: FlipResult | undefined;
  let flipsSkipped: string | undefined;
  if (gatewayAvailable()) flips = await runFlips(load, upstream, s, log);
  else flipsSkipped = 'gateway/runtime/gateway-server.ts is not in this build';
  const { apply, plainReload } = await runReloads(load, upstream, s, log);
  return { flips, flipsSkipped, apply, plainReload };
}
