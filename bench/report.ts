// Writes BENCHMARKS.md from the results of one run. Every number in that file comes from here.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../gateway/version';
import { TRAFFIC_NODE_FLAGS } from '../gateway/runtime/node-flags';
import type { ChangesResult, ReloadRun } from './changes';
import { WARMUP_CHANGES, type SharedStateResult } from './shared-state';
import type { AgentResult } from './agent';
import { nginxVersion } from './nginx';
import { CONFIGS, PAYLOADS, POST_BYTES, type ConfigId, type OverheadResult, type Payload, type Summary } from './overhead';
import type { ScaleResult } from './scale';
import type { Sample } from './measure';
import type { Settings } from './settings';
import { median, pairedRatio } from './stats';

export interface MachineFacts {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  nginx: string;
  loadAverageAtStart: number[];
  packages: Record<string, string>;
  /** `wrk 4.1.0` or `autocannon` (older results have none: autocannon). */
  loadGenerator?: string;
}

/** One full run of the suites. */
export type SuiteResults = Pick<BenchResults, 'overhead' | 'scale' | 'changes' | 'sharedState' | 'sharedStateSkipped' | 'agent' | 'stolenShare'>;

export interface BenchResults {
  command: string;
  machine: MachineFacts;
  settings: Settings;
  startedAt: string;
  durationSec: number;
  overhead?: OverheadResult;
  scale?: ScaleResult;
  changes?: ChangesResult;
  sharedState?: SharedStateResult;
  sharedStateSkipped?: string;
  /** The agent suite, or why it did not run. */
  agent?: AgentResult | string;
  /** The share of the cores' time the host took from this machine while the run lasted (steal); results from before it was measured have none. */
  stolenShare?: number;
  /** Every run, the last being the one above (results from before BENCH_RUNS have none). */
  runs?: SuiteResults[];
}

function pkgVersion(name: string): string {
  try {
    return (require(join(PROJECT_ROOT, 'node_modules', name, 'package.json')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

export function machineFacts(loadGenerator: string): MachineFacts {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${process.platform} ${release()}`,
    node: process.version,
    nginx: nginxVersion(),
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    packages: Object.fromEntries(['autocannon', 'undici', 'http-proxy', 'fastify', '@fastify/http-proxy'].map((p) => [p, pkgVersion(p)])),
    loadGenerator,
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting

const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');
/** Targets judge the exact ratio: three decimals, truncated, so a miss never prints as the threshold. */
const ratio3 = (x: number) => (Number.isFinite(x) ? `${(Math.floor(x * 1000) / 1000).toFixed(3)}×` : '—');
const pct = (share: number) => (Number.isFinite(share) ? `${Math.round(share * 100)}%` : '—');
const mib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(0)} MiB` : '—');

function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A Node proxy's GC pauses in one run (medians over rounds); results from before they were measured have none. */
const gcText = (m: Summary) => (Number.isFinite(m.gcCount ?? NaN) ? `${int(m.gcCount)} / ${ms(m.gcMs)} / ${ms(m.gcMaxMs)}` : '—');

const LABEL = Object.fromEntries(CONFIGS.map((c) => [c.id, c.label])) as Record<ConfigId, string>;
const PAYLOAD_LABEL: Record<Payload, string> = { get: 'small GET', post: `${POST_BYTES / 1024} KiB POST` };

// ---------------------------------------------------------------------------------------------
// Targets

interface Target { what: string; measured: string; met: boolean | null }

function med(o: OverheadResult | undefined, p: Payload, id: ConfigId): Summary | undefined {
  return o?.medians[p][id];
}

function rpsRatio(o: OverheadResult | undefined, a: ConfigId, b: ConfigId, p: Payload): number {
  return pairedRatio(o?.samples[p][a], o?.samples[p][b], 'rps');
}

function cpuRatio(o: OverheadResult | undefined, a: ConfigId, b: ConfigId, p: Payload): number {
  return pairedRatio(o?.samples[p][a], o?.samples[p][b], 'cpuUs');
}

/** A ratio target over both payloads: met only when both are. */
function ratioTarget(o: OverheadResult | undefined, what: string, a: ConfigId, b: ConfigId, min: number, payloads: Payload[] = PAYLOADS): Target {
  const rs = payloads.map((p) => rpsRatio(o, a, b, p));
  if (rs.some((r) => !Number.isFinite(r))) return { what, measured: 'not measured', met: null };
  const cpu = (p: Payload) => {
    const c = cpuRatio(o, a, b, p);
    return Number.isFinite(c) ? ` (CPU/req ${ratio(c)})` : '';
  };
  return { what, measured: payloads.map((p, i) => `${PAYLOAD_LABEL[p]} ${ratio3(rs[i])}${cpu(p)}`).join(', '), met: rs.every((r) => r >= min) };
}

/**
 * Requests/s is the busy share of the cores over the CPU each request costs the whole machine (load
 * generator, proxy and upstream together). When that prediction matches the measured ratio to
 * direct, the proxy's extra CPU accounts for the gap; a stall (a body written to a temp file, say)
 * would show as a measured ratio well below it.
 */
function cpuAccount(o: OverheadResult | undefined, a: ConfigId, p: Payload): string {
  const x = med(o, p, a);
  const d = med(o, p, 'direct');
  if (!x || !d || !Number.isFinite(x.machineBusy) || !Number.isFinite(d.machineBusy)) return '';
  const predicted = pairedRatio(o?.samples[p].direct, o?.samples[p][a], 'machineCpuUs') * (x.machineBusy / d.machineBusy);
  const temp = o?.bodyTempFiles?.[a];
  return `; the machine spent ${int(d.machineCpuUs)} µs of CPU per request direct and ${int(x.machineCpuUs)} through nginx, ` +
    `with the cores ${pct(d.machineBusy)} and ${pct(x.machineBusy)} busy, which predicts ${ratio(predicted)} from CPU alone` +
    (temp !== undefined && Number.isFinite(temp) ? `; bodies buffered to a temp file: ${int(temp)}` : '');
}

function p99Target(o: OverheadResult | undefined): Target {
  const what = 'gateway p99 no worse than each Node peer';
  const parts: string[] = [];
  let met: boolean | null = true;
  for (const p of PAYLOADS) {
    const g = med(o, p, 'gateway');
    for (const peer of ['undici-pool', 'http-proxy', 'fastify-proxy'] as const) {
      const x = med(o, p, peer);
      if (!g || !x) return { what, measured: 'not measured', met: null };
      const ok = g.p99Ms <= x.p99Ms;
      if (!ok) {
        met = false;
        parts.push(`${PAYLOAD_LABEL[p]}: ${ms(g.p99Ms)} ms vs ${peer} ${ms(x.p99Ms)} ms`);
      }
    }
  }
  return { what, measured: met ? 'no worse in every pairing' : `worse: ${parts.join('; ')}`, met };
}

function withNote(t: Target, note: string): Target {
  return t.met === null ? t : { ...t, measured: t.measured + note };
}

function targets(r: BenchResults): Target[] {
  const o = r.overhead;
  const out: Target[] = [
    ratioTarget(o, 'gateway ≥ 0.9× bare undici Pool.stream proxy (req/s)', 'gateway', 'undici-pool', 0.9),
    withNote(ratioTarget(o, 'gateway ≥ 1.5× node-http-proxy (req/s)', 'gateway', 'http-proxy', 1.5),
      `; bare undici Pool.stream itself: ${PAYLOADS.map((p) => `${PAYLOAD_LABEL[p]} ${ratio(rpsRatio(o, 'undici-pool', 'http-proxy', p))}`).join(', ')}`),
    ratioTarget(o, 'gateway ≥ 1.0× @fastify/http-proxy (req/s)', 'gateway', 'fastify-proxy', 1.0),
    p99Target(o),
    ratioTarget(o, 'generated nginx ≥ 0.97× hand-written nginx (req/s)', 'nginx-generated', 'nginx-hand', 0.97),
    ratioTarget(o, 'generated nginx ≥ 1.3× nginx without upstream keepalive (req/s)', 'nginx-generated', 'nginx-no-keepalive', 1.3),
    withNote(ratioTarget(o, '64 KiB POST through generated nginx ≥ 0.9× direct (req/s)', 'nginx-generated', 'direct', 0.9, ['post']),
      cpuAccount(o, 'nginx-generated', 'post')),
  ];
  const cli = r.scale?.cliStart;
  out.push(cli
    ? { what: `${int(cli.routes)} routes: \`strangler compile\` within 3× of node + js-yaml loading the same file (process start to exit)`,
      measured: `${ratio(cli.ratio.median)} of medians (${int(cli.compile.medianMs)} / ${int(cli.floor.medianMs)} ms), ${ratio(cli.ratio.min)} of minimums (${int(cli.compile.minMs)} / ${int(cli.floor.minMs)} ms)`,
      met: cli.ratio.median <= 3 }
    : { what: '10,000 routes: `strangler compile` within 3× of node + js-yaml', measured: 'not measured', met: null });
  out.push(cli
    ? { what: '`strangler --help` and `strangler validate routes/routes.yaml` well under 200 ms',
      measured: `--help median ${int(cli.help.medianMs)} ms (min ${int(cli.help.minMs)}), validate median ${int(cli.validate.medianMs)} ms (min ${int(cli.validate.minMs)})`
        + (cli.withoutExtraCaCerts ? `; this machine sets NODE_EXTRA_CA_CERTS, which node reads at every start and the bin drops for these two (\`node -e 0\` median ${int(cli.nodeStart.medianMs)} ms with it, ${int(cli.withoutExtraCaCerts.nodeStart.medianMs)} without)` : ''),
      met: cli.help.medianMs < 200 && cli.validate.medianMs < 200 }
    : { what: '`strangler --help` and `validate` well under 200 ms', measured: 'not measured', met: null });
  const g = r.scale?.gateway ?? [];
  const small = g.find((x) => x.routes === 10);
  const large = g.find((x) => x.routes === 10_000);
  out.push(small && large
    ? (() => {
      const x = pairedRatio(large.samples, small.samples, 'rps');
      return { what: 'gateway with 10,000 routes ≥ 0.9× its 10-route req/s', measured: `${ratio3(x)} (CPU/req ${ratio(pairedRatio(large.samples, small.samples, 'cpuUs'))})`, met: x >= 0.9 };
    })()
    : { what: 'gateway with 10,000 routes ≥ 0.9× its 10-route req/s', measured: 'not measured', met: null });
  const f = r.changes?.flips;
  out.push(f
    ? { what: `${f.flips} runtime canary changes under load: 0 failed requests`, measured: `${f.load.failed} failed of ${int(f.load.completed)}`, met: f.load.failed === 0 && f.adminFailures === 0 }
    : { what: 'runtime canary changes under load: 0 failed requests', measured: 'not measured', met: null });
  out.push(f
    ? {
      what: 'canary change propagation < 10 ms (p99 over the changes, sending the change → the gateway serving it)',
      measured: `p99 ${ms(f.propagationMs.p99)} ms (median ${ms(f.propagationMs.median)}, max ${ms(f.propagationMs.max)}); first answer seen by a poller under load: p99 ${ms(f.seenMs.p99)} ms (median ${ms(f.seenMs.median)})`,
      met: f.propagationMs.p99 < 10,
    }
    : { what: 'canary change propagation < 10 ms', measured: 'not measured', met: null });
  const x = r.sharedState;
  out.push(x
    ? {
      what: 'change propagation to the other instances on Redis < 10 ms (p99, sending the change → each instance serving it)',
      measured: `p99 ${ms(x.propagationMs.p99)} ms (median ${ms(x.propagationMs.median)}, max ${ms(x.propagationMs.max)}), ${x.stale} stale; seen in traffic by pollers: p99 ${ms(x.seenMs.p99)} ms`,
      met: x.propagationMs.p99 < 10 && x.stale === 0,
    }
    : { what: 'change propagation to the other instances on Redis < 10 ms', measured: r.sharedStateSkipped ? `not measured (${r.sharedStateSkipped})` : 'not measured', met: null });
  out.push(x
    ? { what: 'gateway req/s with Redis state ≥ 0.98× with file state', measured: `${ratio3(x.rpsRatio)} (CPU/req ${ratio(pairedRatio(x.rps.redis, x.rps.file, 'cpuUs'))})`, met: x.rpsRatio >= 0.98 }
    : { what: 'gateway req/s with Redis state ≥ 0.98× with file state', measured: 'not measured', met: null });
  const a = typeof r.agent === 'object' ? r.agent : null;
  out.push(a
    ? { what: `PATCH → nginx serving the new split (strangler agent), p50/p99 over ${a.changes} changes: about a second`, measured: `p50 ${ms(a.followMs.p50)} ms, p99 ${ms(a.followMs.p99)} ms`, met: a.followMs.p99 < 1500 }
    : { what: 'PATCH → nginx serving the new split (strangler agent)', measured: 'not measured', met: null });
  out.push(a
    ? { what: 'nginx req/s on the agent-applied config ≥ 0.98× the same config compiled directly', measured: ratio3(a.ratio), met: a.ratio >= 0.98 }
    : { what: 'nginx req/s on the agent-applied config ≥ 0.98× compiled directly', measured: 'not measured', met: null });
  return out;
}

const verdict = (m: boolean | null) => (m === null ? 'not measured' : m ? '**met**' : '**missed**');

/** Each run as a whole result (machine and settings are the run's own). */
function everyRun(r: BenchResults): BenchResults[] {
  return r.runs?.length ? r.runs.map((x) => ({ ...r, ...x, runs: undefined })) : [r];
}

/** Met only when met in every run; missed when missed in any. */
function inEveryRun(ms: (boolean | null)[]): boolean | null {
  if (ms.some((m) => m === false)) return false;
  return ms.every((m) => m === true) ? true : null;
}

function targetsTable(runs: BenchResults[]): string {
  const per = runs.map(targets);
  if (runs.length === 1) return table(['target', 'measured', 'result'], per[0].map((t) => [t.what, t.measured, verdict(t.met)]));
  return table(['target', ...runs.map((_, i) => `run ${i + 1}`), 'result (met in every run)'],
    per[0].map((t, i) => [t.what, ...per.map((ts) => ts[i].measured), verdict(inEveryRun(per.map((ts) => ts[i].met)))]));
}

/** The figures that swing from run to run: min, median and max of the per-run medians. */
function spreadSection(runs: BenchResults[]): string {
  if (runs.length === 1) return '';
  const rows: [string, (x: BenchResults) => number, (x: number) => string][] = [];
  for (const p of PAYLOADS) {
    rows.push(
      [`gateway ÷ bare undici, req/s, ${PAYLOAD_LABEL[p]}`, (x) => rpsRatio(x.overhead, 'gateway', 'undici-pool', p), ratio3],
      [`gateway ÷ bare undici, CPU/req, ${PAYLOAD_LABEL[p]}`, (x) => cpuRatio(x.overhead, 'gateway', 'undici-pool', p), ratio3],
      [`gateway p99 ms, ${PAYLOAD_LABEL[p]}`, (x) => med(x.overhead, p, 'gateway')?.p99Ms ?? NaN, ms],
      [`bare undici p99 ms, ${PAYLOAD_LABEL[p]}`, (x) => med(x.overhead, p, 'undici-pool')?.p99Ms ?? NaN, ms],
      [`gateway GC pauses ms per run, ${PAYLOAD_LABEL[p]}`, (x) => med(x.overhead, p, 'gateway')?.gcMs ?? NaN, ms],
      [`bare undici GC pauses ms per run, ${PAYLOAD_LABEL[p]}`, (x) => med(x.overhead, p, 'undici-pool')?.gcMs ?? NaN, ms],
      [`gateway event-loop delay p99 ms, ${PAYLOAD_LABEL[p]}`, (x) => med(x.overhead, p, 'gateway')?.eldP99Ms ?? NaN, ms],
    );
  }
  rows.push(
    ['10,000 routes, `strangler compile` ms', (x) => x.scale?.compile.find((c) => c.routes === 10_000)?.cliMs ?? NaN, int],
    ['canary change propagation p99 ms, one gateway', (x) => x.changes?.flips?.propagationMs.p99 ?? NaN, ms],
    ['the same seen by a poller under load, p99 ms', (x) => x.changes?.flips?.seenMs?.p99 ?? NaN, ms],
    ['propagation p99 ms to the other instances (Redis)', (x) => x.sharedState?.propagationMs.p99 ?? NaN, ms],
    ['the same seen in traffic by pollers, p99 ms', (x) => x.sharedState?.seenMs?.p99 ?? NaN, ms],
  );
  const body = rows.map(([what, get, fmt]) => {
    const v = runs.map(get).filter(Number.isFinite).sort((a, b) => a - b);
    return [what, v.length ? fmt(v[0]) : '—', v.length ? fmt(median(v)) : '—', v.length ? fmt(v[v.length - 1]) : '—', runs.map(get).map(fmt).join(', ')];
  });
  return [`## Spread over ${runs.length} runs`, '',
    `Each figure is one run's median over its rounds; min, median and max are over the ${runs.length} runs. The sections ` +
    'after this one show the last run in full.', '',
    table(['figure', 'min', 'median', 'max', 'each run'], body), ''].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Sections

function overheadSection(o: OverheadResult, s: Settings): string {
  const out: string[] = ['## 1. Proxy overhead', ''];
  for (const [id, why] of Object.entries(o.skipped)) out.push(`- ${LABEL[id as ConfigId]}: not run (${why}).`);
  if (Object.keys(o.skipped).length) out.push('');
  for (const p of PAYLOADS) {
    const direct = o.medians[p].direct;
    out.push(`### ${PAYLOAD_LABEL[p]}`, '');
    const rows = CONFIGS.filter((c) => o.medians[p][c.id]).map((c) => {
      const m = o.medians[p][c.id]!;
      const proxyCpu = c.id === 'direct' ? '—' : `${int(m.cpuUs)}${Number.isFinite(m.cpuUserUs) ? ` (${int(m.cpuUserUs)} + ${int(m.cpuSysUs)})` : ''}`;
      return [c.label, int(m.rps), direct ? ratio(rpsRatio(o, c.id, 'direct', p)) : '—', ms(m.p50Ms), ms(m.p99Ms),
        proxyCpu, int(m.upstreamCpuUs), int(m.machineCpuUs), pct(m.machineBusy),
        gcText(m), ms(m.eldP99Ms ?? NaN), `${m.failed} / ${int(m.completed)}`];
    });
    out.push(table(['configuration', 'req/s', '× direct', 'p50 ms', 'p99 ms', 'proxy CPU µs/req (user + kernel)', 'upstream CPU µs/req',
      'machine CPU µs/req', 'cores busy', `GC pauses per ${s.duration} s run: count / total / longest ms`, 'event-loop delay p99 ms', 'failed / requests'], rows), '');
  }
  const g = PAYLOADS.map((p) => o.medians[p].gateway);
  if (g.every(Boolean)) {
    out.push('### The gateway against each peer', '');
    const rows: string[][] = [];
    for (const peer of ['undici-pool', 'http-proxy', 'fastify-proxy', 'nginx-generated', 'nginx-hand'] as const) {
      for (const p of PAYLOADS) {
        const gw = o.medians[p].gateway!;
        const x = o.medians[p][peer];
        if (!x) continue;
        rows.push([LABEL[peer], PAYLOAD_LABEL[p], ratio(rpsRatio(o, 'gateway', peer, p)), `${ms(gw.p99Ms)} vs ${ms(x.p99Ms)}`, ratio(cpuRatio(o, 'gateway', peer, p))]);
      }
    }
    out.push(table(['peer', 'request', 'gateway req/s ÷ peer', 'p99 ms, gateway vs peer', 'gateway CPU/req ÷ peer'], rows), '');
  }
  if (PAYLOADS.every((p) => o.medians[p]['gateway-workers'] && o.medians[p].gateway)) {
    out.push('### `--workers 2` against one process', '',
      'Two cluster workers share the traffic port; the primary keeps the admin API. Here both workers share the machine\'s ' +
      'cores with the load generator and the upstream, so there is little spare CPU for the second one; on a machine with ' +
      'idle cores the ratio would be higher. CPU per request counts the primary and both workers.', '',
      table(['request', 'req/s ÷ one process', 'p99 ms, workers vs one process', 'CPU/req ÷ one process'], PAYLOADS.map((p) => [
        PAYLOAD_LABEL[p], ratio(rpsRatio(o, 'gateway-workers', 'gateway', p)),
        `${ms(o.medians[p]['gateway-workers']!.p99Ms)} vs ${ms(o.medians[p].gateway!.p99Ms)}`, ratio(cpuRatio(o, 'gateway-workers', 'gateway', p))])), '');
  }
  out.push('<details><summary>Every round (req/s)</summary>', '');
  for (const p of PAYLOADS) {
    const rows = CONFIGS.filter((c) => o.samples[p][c.id]).map((c) => [c.label, ...o.samples[p][c.id]!.map((x) => int(x.rps))]);
    out.push(`${PAYLOAD_LABEL[p]}:`, '', table(['configuration', ...Array.from({ length: s.rounds }, (_, i) => `round ${i + 1}`)], rows), '');
  }
  out.push('</details>', '');
  return out.join('\n');
}

function scaleSection(sc: ScaleResult): string {
  const out: string[] = ['## 2. Scale with routes', ''];
  out.push(table(['routes', 'compile, in-process ms', '`strangler compile` ms', '`nginx -t` ms', 'nginx.conf size'],
    sc.compile.map((c) => [int(c.routes), int(c.inProcessMs), int(c.cliMs), int(c.nginxTestMs), `${(c.confBytes / 1024).toFixed(0)} KiB`])), '');
  if (sc.cliStart) {
    const c = sc.cliStart;
    const row = (what: string, t: { minMs: number; medianMs: number }) => [what, int(t.minMs), int(t.medianMs)];
    out.push(`The CLI's start, process start to exit, ${c.compile.runs.length} interleaved runs each (the floor is a node process that only loads the same ${int(c.routes)}-route file with js-yaml):`, '',
      table(['command', 'min ms', 'median ms'], [
        row(`\`strangler compile\` (${int(c.routes)} routes)`, c.compile),
        row('node + js-yaml load of the same file (floor)', c.floor),
        ['compile ÷ floor', ratio(c.ratio.min), ratio(c.ratio.median)],
        row('`strangler --help`', c.help),
        row('`strangler validate routes/routes.yaml`', c.validate),
        ...(c.nodeStart ? [row('`node -e 0` (starting node alone)', c.nodeStart)] : []),
        ...(c.withoutExtraCaCerts ? [row('`node -e 0`, NODE_EXTRA_CA_CERTS unset', c.withoutExtraCaCerts.nodeStart)] : []),
      ]), '');
    out.push('`--help` and `validate` run through the package\'s bin (`bin/strangler`), as a user\'s `strangler` does; compile and its floor are started by node directly, so both pay the same start.', '');
    if (c.withoutExtraCaCerts) out.push('This machine\'s environment sets NODE_EXTRA_CA_CERTS: Node reads and parses that file, with its own root certificates, at every process start, before any of the project\'s code runs. The bin starts the commands that open no TLS connection without it (`bin/strangler` lists them); `node -e 0` and the compile pair pay it.', '');
  }
  if (sc.gatewaySkipped) out.push(`Gateway with many routes: not run (${sc.gatewaySkipped}).`, '');
  if (sc.gateway.length) {
    const base = sc.gateway.find((g) => g.routes === 10);
    out.push(table(['gateway routes', 'req/s (small GET)', '× 10 routes', 'p50 ms', 'p99 ms', 'CPU µs/req', 'RSS after load', 'start-up ms'],
      sc.gateway.map((g) => [int(g.routes), int(g.summary.rps), base ? ratio(pairedRatio(g.samples, base.samples, 'rps')) : '—',
        ms(g.summary.p50Ms), ms(g.summary.p99Ms), int(g.summary.cpuUs), mib(g.rssBytes), int(g.startMs)])), '');
  }
  return out.join('\n');
}

function reloadRow(name: string, r: ReloadRun): string[] {
  return [name, String(r.reloads), String(r.commandFailures), `${int(r.commandMs.median)} / ${int(r.commandMs.max)}`,
    `${r.load.failed} / ${int(r.load.completed)}`, `${r.load.errors} / ${r.load.timeouts} / ${r.load.non2xx}`];
}

function changesSection(c: ChangesResult): string {
  const out: string[] = ['## 3. Changes under load', ''];
  if (c.flipsSkipped) out.push(`Runtime canary changes: not run (${c.flipsSkipped}).`, '');
  if (c.flips) {
    const f = c.flips;
    out.push(table(['runtime canary changes (admin API)', 'value'], [
      ['changes (0 → 100 → 0 … percent)', String(f.flips)],
      ['failed requests / requests during the changes', `${f.load.failed} / ${int(f.load.completed)}`],
      ['admin calls refused', String(f.adminFailures)],
      ['propagation ms, sending the change → the gateway serving it: median / p99 / max', `${ms(f.propagationMs.median)} / ${ms(f.propagationMs.p99)} / ${ms(f.propagationMs.max)}`],
      ['seen by a poller under load ms, sending the change → its first answer that follows it: median / p99 / max', `${ms(f.seenMs.median)} / ${ms(f.seenMs.p99)} / ${ms(f.seenMs.max)}`],
      ['admin call round trip ms: median / p99 / max', `${ms(f.adminMs.median)} / ${ms(f.adminMs.p99)} / ${ms(f.adminMs.max)}`],
      ['stale: requests sent after the admin call was answered that followed the old split', String(f.staleAfterAck)],
    ]), '');
  }
  out.push(table(['nginx reloads under load', 'reloads', 'commands failed', 'command ms median / max', 'failed / requests', 'errors / timeouts / non-2xx'], [
    reloadRow('`strangler apply` (compile, diff, `nginx -t`, swap, reload)', c.apply),
    reloadRow('plain `nginx -s reload`', c.plainReload),
  ]), '');
  return out.join('\n');
}

function sharedStateSection(r: BenchResults): string {
  const out: string[] = ['## 4. Shared state on Redis (three gateway instances)', ''];
  const x = r.sharedState;
  if (!x) return [...out, `Not run (${r.sharedStateSkipped}).`, ''].join('\n');
  out.push(table(['shared state', 'value'], [
    ['changes through instance 0 (0 → 100 → 0 … percent)', String(x.changes)],
    ['propagation to the other two instances ms, to each one serving the change: median / p99 / max (target p99 < 10)', `${ms(x.propagationMs.median)} / ${ms(x.propagationMs.p99)} / ${ms(x.propagationMs.max)}`],
    ['answers that followed the old split, sent to the other instances right after they reported the change', String(x.stale)],
    ['the same changes seen in traffic by pollers running through them ms: median / p99 / max', `${ms(x.seenMs.median)} / ${ms(x.seenMs.p99)} / ${ms(x.seenMs.max)}`],
    ['admin call (answered once Redis holds the change) ms: median / p99 / max', `${ms(x.adminMs.median)} / ${ms(x.adminMs.p99)} / ${ms(x.adminMs.max)}`],
    ['admin calls refused', String(x.adminFailures)],
    ['gateway req/s, Redis state / file state, both under load at once (median of per-round ratios; target ≥ 0.98)', x.rpsRatio.toFixed(3)],
    ['gateway CPU per request, Redis state / file state (median of per-round ratios)', pairedRatio(x.rps.redis, x.rps.file, 'cpuUs').toFixed(3)],
    ['req/s medians: Redis / file', `${int(median(x.rps.redis.map((s) => s.rps)))} / ${int(median(x.rps.file.map((s) => s.rps)))}`],
  ]), '');
  return out.join('\n');
}

function loadGeneratorText(m: MachineFacts): string {
  const name = m.loadGenerator ?? 'autocannon';
  return name.startsWith('wrk')
    ? `${name}, one thread, \`bench/load-wrk.ts\`; autocannon where wrk is not installed`
    : 'autocannon as a library, `bench/load-autocannon.ts`; wrk where it is installed';
}

function method(r: BenchResults): string {
  const s = r.settings;
  return [
    '## How it is measured', '',
    `- One echo upstream (\`bench/upstream.ts\`, node:http) on loopback answers every request with a small JSON body; ` +
    `every configuration proxies to it. The load generator (${loadGeneratorText(r.machine)}), the upstream and ` +
    'each proxy under test are separate processes, so the CPU a proxy spends per request is read from `/proc/<pid>/stat` ' +
    '(utime + stime, all of nginx\'s processes summed) before and after each run and divided by the requests completed.',
    '- The proxy\'s CPU is split into user space and kernel: the kernel part is mostly the socket reads and writes on ' +
    'loopback, which every proxy makes alike. The machine\'s CPU per request (all cores, all processes, from `/proc/stat`) ' +
    'and the share of the cores that was busy show when the two cores, not the proxy, set the pace: the load generator, ' +
    'the upstream and the proxy all run on them. On a virtual machine the host may also run other guests on the same ' +
    'physical cores: the time it took from this one (`/proc/stat`\'s steal) is given for each run in the machine table. ' +
    'While it is high, the run\'s figures are slower and noisier than the machine alone would make them.',
    `- Each measurement is ${s.duration} s of load over ${s.connections} keep-alive connections (no pipelining) after ` +
    `${s.warmup} s of unrecorded warm-up per configuration; the configurations are interleaved over ${s.rounds} rounds ` +
    '(the order rotates each round) and the median of the rounds is reported; a ratio between two configurations is the ' +
    'median of their per-round ratios. Latencies are taken per response with microsecond resolution.',
    '- nginx runs the config `strangler compile` generates from the bench manifest (`bench/manifests.ts`: ten routes of every ' +
    'kind, plus generated ones for the scale suite), the same manifest with `keepalive: 0`, and `bench/hand-written-nginx.conf` ' +
    '(the same routes written by hand). All three keep the skeleton\'s `worker_processes auto` and log every request.',
    '- The Node peers (`bench/peers/`) proxy every path to the upstream without routing; the gateway and nginx route ' +
    `\`${'/api/v1/track/42'}\` to \`/function/track-package/42\` (GET) and \`/api/v1/upload/blob\` to \`/function/upload/blob\` (POST).`,
    `- Canary changes: ${s.flips} × \`PATCH /routes/flip {"percent": 100 | 0}\` on the admin API (after ${WARMUP_CHANGES} unrecorded ones) while load runs on the ` +
    'same route (through the gateway with `debug_headers: true`). Propagation is the time from sending the call to the moment ' +
    'the gateway began serving the change, as its `/healthz` reports it (`state_adopted_at_ms`; the bench and the gateway ' +
    'read the host\'s wall clock to a fraction of a millisecond, following its steps: gateway/util/host-clock.ts). A poller ' +
    'on its own keep-alive connection starts with each call; the time to its first response whose `X-Strangler-Target` ' +
    'follows the new split is reported beside it (it adds one proxied request under load). The poller goes on until a ' +
    'request sent after the call was answered comes back; any such request that still followed the old split is counted ' +
    'as stale.',
    '- Shared state: the same changes through one of three gateways on one redis-server; propagation is the time to each ' +
    'other instance serving the change (its `state_adopted_at_ms`), then one request to each checks its traffic follows it. ' +
    'The changes are then made again with pollers on the other instances\' traffic ports running through them, as above. ' +
    'Throughput: a gateway with Redis state and one with file state are loaded at the same time, each by its own load ' +
    'generator with half the connections, so that a drift of the shared machine hits both alike.',
    `- Reloads: ${s.reloads} \`strangler apply\` runs (the manifest alternates between two canary percentages, so each has a ` +
    `change to apply) with ${s.connections} connections of load, then ${s.reloads} plain \`nginx -s reload\`, 0.5 s apart.`,
    '- Every Node proxy, the gateway and the peers alike, runs with the flags the gateway ships with, `' + TRAFFIC_NODE_FLAGS.join(' ') + '` ' +
    '(`gateway/runtime/node-flags.ts`; see "What was tried").',
    '- The machine is shared: other work may run at the same time, which is why rounds are interleaved and medians reported.',
    '',
  ].join('\n');
}

/** The hand-written findings of profiling, kept beside the code that measures. */
function whatWasTried(): string {
  try {
    return readFileSync(join(PROJECT_ROOT, 'bench', 'what-was-tried.md'), 'utf8');
  } catch {
    return '';
  }
}

function agentSection(a: AgentResult | string): string {
  const out: string[] = ['## 4. nginx following runtime changes (strangler agent)', ''];
  if (typeof a === 'string') return [...out, `Not run (${a}).`, ''].join('\n');
  out.push(
    'A real gateway, a real nginx on the bench manifest and `strangler agent` beside it, following the gateway\'s state file. ' +
    'Each change is `PATCH /routes/flip {"percent": 100 | 0}`; the time runs from sending it to the first response from nginx, ' +
    'polled on one keep-alive connection, that follows the new split (the agent: state file change seen, compile, `nginx -t`, ' +
    'swap, reload, new workers). Then nginx\'s req/s (small GET) on the config the agent applied with overrides in force ' +
    '(flip 100%, images 50%) against the same percentages compiled directly from a manifest, in interleaved rounds.', '',
    table(['', 'value'], [
      ['changes', String(a.changes)],
      ['PATCH → nginx serving it, p50 / p99 / max', `${ms(a.followMs.p50)} / ${ms(a.followMs.p99)} / ${ms(a.followMs.max)} ms`],
      ['poll requests failed during reloads (keep-alive closed by retiring workers)', String(a.pollFailures)],
      ['req/s on the agent\'s config, per round', a.agentRps.map((x) => int(x)).join(', ')],
      ['req/s compiled directly, per round', a.directRps.map((x) => int(x)).join(', ')],
      ['ratio of medians', ratio3(a.ratio)],
      ['configs identical (apart from the header comment)', a.identical ? 'yes' : 'no'],
    ]), '');
  return out.join('\n');
}

export function renderReport(r: BenchResults): string {
  const m = r.machine;
  const out: string[] = [
    '# Benchmarks', '',
    '<!-- Generated by `npm run bench` (bench/run.ts, bench/report.ts). Do not edit: run it again. -->', '',
    `Run ${r.startedAt} in ${Math.round(r.durationSec)} s with:`, '', '```sh', r.command, '```', '',
    table(['machine', ''], [
      ['CPU', `${m.cpu}, ${m.cores} cores`], ['memory', `${m.memoryGiB} GiB`], ['kernel', m.kernel],
      ['node', m.node], ['nginx', m.nginx], ['load average at start (1/5/15 min)', m.loadAverageAtStart.join(' / ')],
      ['packages', Object.entries(m.packages).map(([k, v]) => `${k} ${v}`).join(', ')],
      ['load generator', m.loadGenerator ?? 'autocannon'],
      ...(everyRun(r).some((x) => x.stolenShare !== undefined)
        ? [['CPU time the host took from this virtual machine (steal), share of the cores\' time in each run', everyRun(r).map((x) => pct(x.stolenShare ?? NaN)).join(' / ')]]
        : []),
    ]), '',
    '## Targets', '',
    'From the issue; reported, not asserted. A ratio is the median over rounds of the two configurations\' ratio within ' +
    'the round (measured seconds apart, so drift of a shared machine cancels); the ratio of the CPU each proxy spent per ' +
    'request, in parentheses, is the steadier figure when other work competes for the cores.', '',
    targetsTable(everyRun(r)), '',
    spreadSection(everyRun(r)),
    method(r),
  ];
  if (r.overhead) out.push(overheadSection(r.overhead, r.settings));
  if (r.scale) out.push(scaleSection(r.scale));
  if (r.changes) out.push(changesSection(r.changes));
  if (r.sharedState || r.sharedStateSkipped) out.push(sharedStateSection(r));
  if (r.agent) out.push(agentSection(r.agent));
  out.push(whatWasTried());
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

export function writeReport(r: BenchResults): string {
  const file = join(PROJECT_ROOT, 'BENCHMARKS.md');
  writeFileSync(file, renderReport(r));
  return file;
}
