// Suite 1, proxy overhead: every configuration in front of the same echo upstream, a small GET
// and a 64 KiB POST, interleaved over rounds (the order rotates each round), medians reported.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadGenerator } from './load';
import { PATHS } from './manifests';
import { measure, type Sample } from './measure';
import { freePort } from './proc';
import type { Settings } from './settings';
import { median } from './stats';
import {
  asRunning, gatewayAvailable, handWrittenConfig, startGatewayProcess, startGeneratedNginx, startPeer, type Running,
} from './stack';
import { benchManifest } from './manifests';
import { startNginx, type BenchNginx } from './nginx';

export const POST_BYTES = 64 * 1024;
export type Payload = 'get' | 'post';
export const PAYLOADS: Payload[] = ['get', 'post'];

export const CONFIGS = [
  { id: 'direct', label: 'direct to the upstream' },
  { id: 'nginx-hand', label: 'nginx, hand-written config' },
  { id: 'nginx-generated', label: 'nginx, `strangler compile` config' },
  { id: 'nginx-no-keepalive', label: 'nginx, generated, no upstream keepalive' },
  { id: 'gateway', label: 'strangler Node gateway' },
  { id: 'gateway-workers', label: 'strangler Node gateway, `--workers 2`' },
  { id: 'undici-pool', label: 'bare undici Pool.stream proxy' },
  { id: 'http-proxy', label: 'node-http-proxy' },
  { id: 'fastify-proxy', label: '@fastify/http-proxy' },
] as const;
export type ConfigId = (typeof CONFIGS)[number]['id'];

export interface Summary {
  rps: number; p50Ms: number; p99Ms: number; cpuUs: number; cpuUserUs: number; cpuSysUs: number; upstreamCpuUs: number;
  machineCpuUs: number; machineBusy: number; failed: number; completed: number;
  /** Medians over rounds of each run's GC pauses (count, total ms, longest ms) and event-loop delay p99; NaN for nginx. */
  gcCount: number; gcMs: number; gcMaxMs: number; eldP99Ms: number;
}

export interface OverheadResult {
  /** Configurations that could not run, with the reason. */
  skipped: Partial<Record<ConfigId, string>>;
  samples: Record<Payload, Partial<Record<ConfigId, Sample[]>>>;
  medians: Record<Payload, Partial<Record<ConfigId, Summary>>>;
  /** nginx's "a client request body is buffered to a temporary file" warnings, per nginx configuration. */
  bodyTempFiles?: Partial<Record<ConfigId, number>>;
}

/** Counts the warnings nginx logs (error_log … warn) each time a request body spills to a temp file. */
function bodyTempFileWarnings(prefix: string): number {
  try {
    return readFileSync(join(prefix, 'logs', 'error.log'), 'utf8').split('buffered to a temporary file').length - 1;
  } catch {
    return NaN;
  }
}

export function summarize(samples: Sample[]): Summary {
  return {
    rps: median(samples.map((s) => s.rps)),
    p50Ms: median(samples.map((s) => s.p50Ms)),
    p99Ms: median(samples.map((s) => s.p99Ms)),
    cpuUs: median(samples.map((s) => s.cpuUs)),
    cpuUserUs: median(samples.map((s) => s.cpuUserUs)),
    cpuSysUs: median(samples.map((s) => s.cpuSysUs)),
    upstreamCpuUs: median(samples.map((s) => s.upstreamCpuUs)),
    machineCpuUs: median(samples.map((s) => s.machineCpuUs)),
    machineBusy: median(samples.map((s) => s.machineBusy)),
    failed: samples.reduce((a, s) => a + s.failed, 0),
    completed: samples.reduce((a, s) => a + s.completed, 0),
    gcCount: median(samples.map((s) => s.gcCount ?? NaN)),
    gcMs: median(samples.map((s) => s.gcMs ?? NaN)),
    gcMaxMs: median(samples.map((s) => s.gcMaxMs ?? NaN)),
    eldP99Ms: median(samples.map((s) => s.eldP99Ms ?? NaN)),
  };
}

export async function runOverhead(load: LoadGenerator, upstream: { port: number; pid: number }, s: Settings, log: (l: string) => void): Promise<OverheadResult> {
  const skipped: OverheadResult['skipped'] = {};
  const running = new Map<ConfigId, Running | null>();
  // BENCH_CONFIGS: a short targeted run (e.g. the gateway against the bare undici proxy).
  const wanted = (id: ConfigId) => s.configs === null || s.configs.includes(id);
  if (wanted('direct')) running.set('direct', null);
  try {
    if (wanted('nginx-hand')) {
      const hand = await freePort();
      running.set('nginx-hand', asRunning('nginx-hand', hand, await startNginx(handWrittenConfig(hand, upstream.port), hand)));
    }
    if (wanted('nginx-generated')) running.set('nginx-generated', await startGeneratedNginx('nginx-generated', { listen: await freePort(), upstream: upstream.port }));
    if (wanted('nginx-no-keepalive')) running.set('nginx-no-keepalive', await startGeneratedNginx('nginx-no-keepalive', { listen: await freePort(), upstream: upstream.port, keepalive: 0 }));
    if (gatewayAvailable()) {
      if (wanted('gateway')) running.set('gateway', await startGatewayProcess('gateway', benchManifest({ listen: await freePort(), upstream: upstream.port })));
      if (wanted('gateway-workers')) running.set('gateway-workers', await startGatewayProcess('gateway-workers', benchManifest({ listen: await freePort(), upstream: upstream.port }), 2));
    } else {
      skipped.gateway = 'gateway/runtime/gateway-server.ts is not in this build';
    }
    for (const peer of ['undici-pool', 'http-proxy', 'fastify-proxy'] as const) if (wanted(peer)) running.set(peer, await startPeer(peer, upstream.port));

    const ids = CONFIGS.map((c) => c.id).filter((id) => running.has(id));
    const spec = (id: ConfigId, payload: Payload, durationSec: number) => {
      const t = running.get(id) ?? null;
      const routed = id.startsWith('nginx') || id.startsWith('gateway');
      const path = payload === 'get' ? (routed ? PATHS.get : PATHS.directGet) : (routed ? PATHS.post : PATHS.directPost);
      return {
        url: `http://127.0.0.1:${t ? t.port : upstream.port}${path}`,
        method: payload === 'get' ? 'GET' as const : 'POST' as const,
        ...(payload === 'post' ? { bodyBytes: POST_BYTES } : {}),
        durationSec, connections: s.connections,
      };
    };

    for (const payload of PAYLOADS) {
      for (const id of ids) {
        const w = await measure(load, running.get(id) ?? null, upstream.pid, spec(id, payload, s.warmup));
        if (w.completed === 0 || w.failed > 0) {
          throw new Error(`${id} ${payload}: warm-up had ${w.failed} failed of ${w.completed} (status ${JSON.stringify(w.statusCodes)})`);
        }
      }
    }
    log(`overhead: warmed up ${ids.join(', ')}`);

    const samples: OverheadResult['samples'] = { get: {}, post: {} };
    for (let round = 0; round < s.rounds; round++) {
      for (const payload of PAYLOADS) {
        const order = ids.map((_, i) => ids[(i + round) % ids.length]);
        for (const id of order) {
          const sample = await measure(load, running.get(id) ?? null, upstream.pid, spec(id, payload, s.duration));
          (samples[payload][id] ??= []).push(sample);
          log(`overhead round ${round + 1}/${s.rounds} ${payload} ${id}: ${sample.rps.toFixed(0)} req/s p50 ${sample.p50Ms.toFixed(2)} ms p99 ${sample.p99Ms.toFixed(2)} ms ${sample.cpuUs.toFixed(0)} µs/req${sample.failed ? ` FAILED ${sample.failed}` : ''}`);
        }
      }
    }
    const medians: OverheadResult['medians'] = { get: {}, post: {} };
    for (const payload of PAYLOADS) {
      for (const id of ids) medians[payload][id] = summarize(samples[payload][id]!);
    }
    const bodyTempFiles: OverheadResult['bodyTempFiles'] = {};
    for (const [id, r] of running) {
      if (r && 'nginx' in r) bodyTempFiles[id] = bodyTempFileWarnings((r as { nginx: BenchNginx }).nginx.prefix);
    }
    return { skipped, samples, medians, bodyTempFiles };
  } finally {
    await Promise.all([...running.values()].map((r) => r?.stop()));
  }
}
