// One measurement: a load run against a running configuration, with the CPU the proxy and the
// upstream spent per completed request (utime + stime from /proc, before and after), and what the
// whole machine spent: when every core is busy, requests/s is the machine's CPU divided by what
// each request costs it, load generator and upstream included.
import type { LoadGenerator, LoadResult, LoadSpec } from './load';
import { cpuMicrosOf, cpuTimesOf, machineCpu } from './proc';
import { endPeriod } from './runtime-stats';
import type { Running } from './stack';

export interface Sample {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Proxy CPU µs per completed request (NaN for the direct configuration). */
  cpuUs: number;
  /** The proxy's CPU split: user space and kernel (the socket syscalls), µs per request. */
  cpuUserUs: number;
  cpuSysUs: number;
  upstreamCpuUs: number;
  /** All processes on all cores, µs per request. */
  machineCpuUs: number;
  /** Busy share of all cores during the run, 0–1. */
  machineBusy: number;
  completed: number;
  failed: number;
  statusCodes: Record<string, number>;
  /** GC pauses during the run, summed over the proxy's Node processes: count, total and longest (ms); NaN for nginx. */
  gcCount: number;
  gcMs: number;
  gcMaxMs: number;
  /** The proxy's event-loop delay p99 during the run (ms; the worst of its processes); NaN for nginx. */
  eldP99Ms: number;
}

export async function measure(
  load: LoadGenerator, target: Running | null, upstreamPid: number, spec: LoadSpec,
): Promise<Sample> {
  const pids = target ? target.pids() : [];
  const nodePids = target?.nodePids?.() ?? [];
  if (nodePids.length) await endPeriod(nodePids); // the run is a period of its own
  const cpu0 = cpuTimesOf(pids);
  const up0 = cpuMicrosOf([upstreamPid]);
  const m0 = machineCpu();
  const r: LoadResult = await load.run(spec);
  const m1 = machineCpu();
  // Workers nginx started during the run count too; those that exited are lost (never here).
  const cpu1 = cpuTimesOf(target ? target.pids() : []);
  const up1 = cpuMicrosOf([upstreamPid]);
  const runtime = nodePids.length ? await endPeriod(nodePids) : null;
  const per = (x: number) => (target ? x / r.completed : NaN);
  return {
    rps: r.rps,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    cpuUs: per(cpu1.user - cpu0.user + cpu1.sys - cpu0.sys),
    cpuUserUs: per(cpu1.user - cpu0.user),
    cpuSysUs: per(cpu1.sys - cpu0.sys),
    upstreamCpuUs: (up1 - up0) / r.completed,
    machineCpuUs: (m1.busy - m0.busy) / r.completed,
    machineBusy: (m1.busy - m0.busy) / (m1.total - m0.total),
    completed: r.completed,
    failed: r.failed,
    statusCodes: r.statusCodes,
    gcCount: runtime?.gcCount ?? NaN,
    gcMs: runtime?.gcMs ?? NaN,
    gcMaxMs: runtime?.gcMaxMs ?? NaN,
    eldP99Ms: runtime?.eldP99Ms ?? NaN,
  };
}
