// Suite 4, nginx following runtime changes: `strangler agent` beside a real nginx and a real
// gateway. From the PATCH on the admin API to nginx serving the new split (p50/p99 over the
// changes), and nginx's req/s on the config the agent applied against the same config compiled
// directly from a manifest that says those percentages (interleaved rounds).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, request } from 'undici';
import { reloadAndWait } from '../gateway/nginx/nginx-process';
import { PROJECT_ROOT } from '../gateway/version';
import type { LoadGenerator } from './load';
import { benchManifest, PATHS } from './manifests';
import { nginxBin, startNginx } from './nginx';
import { freePort } from './proc';
import type { Settings } from './settings';
import { ADMIN_TOKEN, gatewayAvailable, generatedConfig, startGatewayProcess } from './stack';
import { median, percentile } from './stats';

export interface AgentResult {
  changes: number;
  /** PATCH sent → first nginx response that follows the new split, polling on one connection (ms). */
  followMs: { p50: number; p99: number; max: number };
  /** Poll requests that failed while nginx reloaded (a retired worker closed the keep-alive connection). */
  pollFailures: number;
  /** req/s per interleaved round: nginx on the config the agent applied, and on the same config compiled directly. */
  agentRps: number[];
  directRps: number[];
  /** median(agent) / median(direct). */
  ratio: number;
  /** Were the two configs byte-identical apart from the header comment? */
  identical: boolean;
}

async function targetOf(client: Client): Promise<string> {
  const r = await client.request({ path: PATHS.flip, method: 'GET' });
  await r.body.dump();
  return String(r.headers['x-strangler-target'] ?? '');
}

function startAgentProcess(manifestPath: string, statePath: string, conf: string, prefix: string): Promise<{ proc: ChildProcess; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'strangler.js'), 'agent', manifestPath, '--conf', conf, '--prefix', prefix, '--state', statePath, '--nginx', nginxBin()],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (/^ready$/m.test(out)) resolve({ proc, async stop() { proc.kill('SIGTERM'); await exited; } });
    });
    proc.once('exit', (code) => reject(new Error(`strangler agent exited (${code}) before it was ready:\n${out}`)));
  });
}

export async function runAgentSuite(load: LoadGenerator, up: { port: number }, s: Settings, log: (l: string) => void): Promise<AgentResult | string> {
  if (!gatewayAvailable()) return 'the gateway is not built';
  const listen = await freePort();
  const manifestText = benchManifest({ listen, upstream: up.port, debugHeaders: true });
  const gw = await startGatewayProcess('gateway', manifestText);
  const nginx = await startNginx(generatedConfig(manifestText), listen);
  const target = { bin: nginxBin(), prefix: nginx.prefix, conf: nginx.confPath };
  const agent = await startAgentProcess(gw.manifestPath, gw.statePath, nginx.confPath, nginx.prefix);
  const poller = new Client(`http://127.0.0.1:${listen}`, { keepAliveTimeout: 60_000 });
  const patch = async (body: unknown, path = `/routes/${PATHS.flipRoute}`) => {
    const r = await request(`http://127.0.0.1:${gw.admin}${path}`, {
      method: 'PATCH', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    await r.body.dump();
    if (r.statusCode !== 200) throw new Error(`PATCH ${path} answered ${r.statusCode}`);
  };
  try {
    // 1. From the PATCH to nginx serving the new split.
    const changes = s.agentChanges;
    const follow: number[] = [];
    let pollFailures = 0;
    for (let i = 0; i < changes; i++) {
      const percent = i % 2 === 0 ? 100 : 0;
      const want = percent === 100 ? PATHS.flipTarget : 'legacy';
      const t0 = process.hrtime.bigint();
      const sent = patch({ percent });
      for (;;) {
        try {
          if ((await targetOf(poller)) === want) break;
        } catch {
          pollFailures++;
        }
        if (Number(process.hrtime.bigint() - t0) / 1e6 > 30_000) throw new Error(`nginx did not follow change ${i} within 30 s`);
      }
      follow.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await sent;
    }
    log(`agent: ${changes} changes, PATCH -> nginx serving it p50 ${median(follow).toFixed(0)} ms, p99 ${percentile(follow, 99).toFixed(0)} ms`);

    // 2. req/s: the agent's config (overrides in force) against the same percentages compiled directly.
    await patch({ routes: { flip: 100, images: 50 } }, '/routes');
    while ((await targetOf(poller).catch(() => '')) !== PATHS.flipTarget) { /* until the agent applied it */ }
    // The agent applies by version: wait until the file holds both overrides.
    for (let spin = 0; !/split_clients[^\n]*\n\s+50% to;/.test(readFileSync(nginx.confPath, 'utf8')); spin++) {
      if (spin > 1e6) throw new Error('the agent did not apply images 50%');
      await new Promise((r) => setTimeout(r, 5));
    }
    await agent.stop(); // from here on the bench swaps configs itself
    const agentConf = readFileSync(nginx.confPath, 'utf8');
    const directConf = generatedConfig(manifestText
      .replace('canary: { percent: 0 }', 'canary: { percent: 100 }')
      .replace('canary: { percent: 10, sticky: "cookie:session_id" }', 'canary: { percent: 50, sticky: "cookie:session_id" }'));
    const strip = (c: string) => c.replace(/^# Generated by .*$/m, '');
    const identical = strip(agentConf) === strip(directConf);
    const agentRps: number[] = [];
    const directRps: number[] = [];
    const measure = async (conf: string) => {
      writeFileSync(nginx.confPath, conf);
      const r = await reloadAndWait(target);
      if (!r.ok) throw new Error(`reload: ${r.output}`);
      return (await load.run({ url: `http://127.0.0.1:${listen}${PATHS.get}`, durationSec: s.duration, connections: s.connections })).rps;
    };
    await measure(agentConf); // warm-up
    for (let round = 0; round < s.rounds; round++) {
      agentRps.push(await measure(agentConf));
      directRps.push(await measure(directConf));
    }
    const ratio = median(agentRps) / median(directRps);
    log(`agent: nginx req/s on the agent's config ${median(agentRps).toFixed(0)}, compiled directly ${median(directRps).toFixed(0)} (${ratio.toFixed(3)}×; configs ${identical ? 'identical' : 'DIFFER'})`);
    return { changes, followMs: { p50: median(follow), p99: percentile(follow, 99), max: Math.max(...follow) }, pollFailures, agentRps, directRps, ratio, identical };
  } finally {
    poller.close().catch(() => undefined);
    await agent.stop().catch(() => undefined);
    await nginx.stop();
    await gw.stop();
  }
}
