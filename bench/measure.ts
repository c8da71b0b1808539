// One measurement: a load run against a running configuration, with the CPU the proxy and the
// upstream spent per completed request (utime + stime from /proc, before and after).
import type { LoadGenerator, LoadResult, LoadSpec } from './load';
import { cpuMicrosOf } from './proc';
import type { Running } from './stack';

export interface Sample {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Proxy CPU µs per completed request (NaN for the direct configuration). */
  cpuUs: number;
  upstreamCpuUs: number;
  completed: number;
  failed: number;
  statusCodes: Record<string, number>;
}

export async function measure(
  load: LoadGenerator, target: Running | null, upstreamPid: number, spec: LoadSpec,
): Promise<Sample> {
  const pids = target ? target.pids() : [];
  const cpu0 = cpuMicrosOf(pids);
  const up0 = cpuMicrosOf([upstreamPid]);
  const r: LoadResult = await load.run(spec);
  // Workers nginx started during the run count too; those that exited are lost (never here).
  const cpu1 = cpuMicrosOf(target ? target.pids() : []);
  const up1 = cpuMicrosOf([upstreamPid]);
  return {
    rps: r.rps,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    cpuUs: target ? (cpu1 - cpu0) / r.completed : NaN,
    upstreamCpuUs: (up1 - up0) / r.completed,
    completed: r.completed,
    failed: r.failed,
    statusCodes: r.statusCodes,
  };
}
