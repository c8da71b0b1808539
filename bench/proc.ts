// Child processes for the benchmark: start a script, wait for the JSON line it prints when ready,
// and read a process's CPU time and memory from /proc (Linux).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { createInterface } from 'node:readline';
import { childPids } from '../gateway/nginx/nginx-process';
export { childPids };
export { freePort } from '../gateway/util/free-port';

export interface Child<T> {
  proc: ChildProcess;
  pid: number;
  /** The JSON object the child printed on its first stdout line. */
  ready: T;
  stop(): Promise<void>;
}

/** Every process below `pid`, from /proc: children, then theirs. */
export function descendantPids(pid: number): number[] {
  const out = childPids(pid);
  for (let i = 0; i < out.length; i++) out.push(...childPids(out[i]));
  return out;
}

/**
 * A bench command's servers (echo upstreams, proxies, nginx, redis-server, the load generator)
 * end with it, whatever ends it: an error, Ctrl-C or a SIGTERM sent to it alone. Without this, a
 * crash left them running and loading the machine the next run measures.
 */
export function stopDescendantsOnExit(): void {
  process.once('exit', () => {
    for (const pid of descendantPids(process.pid)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch { /* already gone */ }
    }
  });
  // Node's default for these signals ends the process without running 'exit' listeners.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => process.exit(128 + osConstants.signals[signal]));
  }
}

/** Runs `node script args…`; the script prints one JSON line when it is listening. */
export function startScript<T>(script: string, args: string[], nodeArgs: readonly string[] = []): Promise<Child<T>> {
  const proc = spawn(process.execPath, [...nodeArgs, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    let done = false;
    lines.once('line', (line) => {
      done = true;
      try {
        const ready = JSON.parse(line) as T;
        const stop = async () => {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
          const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(t);
        };
        resolve({ proc, pid: proc.pid!, ready, stop });
      } catch (err) {
        proc.kill('SIGKILL');
        reject(new Error(`${script}: bad ready line ${JSON.stringify(line)}: ${(err as Error).message}`));
      }
    });
    proc.once('exit', (code, signal) => {
      if (!done) reject(new Error(`${script} exited before it was ready (${signal ?? code})`));
    });
  });
}

export interface CpuTimes { user: number; sys: number }

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

/** utime and stime of one process, in microseconds. */
export function cpuTimes(pid: number): CpuTimes {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the comm field: state=0 … utime=11 stime=12 (fields 14 and 15 of stat(5)).
  return { user: (Number(f[11]) * 1e6) / CLOCK_TICKS, sys: (Number(f[12]) * 1e6) / CLOCK_TICKS };
}

/** Sum over several processes; a process that exited in between counts 0. */
export function cpuTimesOf(pids: number[]): CpuTimes {
  const sum = { user: 0, sys: 0 };
  for (const pid of pids) {
    try {
      const t = cpuTimes(pid);
      sum.user += t.user;
      sum.sys += t.sys;
    } catch { /* gone */ }
  }
  return sum;
}

export function cpuMicrosOf(pids: number[]): number {
  const t = cpuTimesOf(pids);
  return t.user + t.sys;
}

export interface MachineCpu { busy: number; total: number; stolen: number }

/**
 * The whole machine's CPU time from /proc/stat, in microseconds summed over all cores: busy, all,
 * and stolen (steal: a virtual machine's cores waiting for the host, which runs other guests then).
 */
export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0];
  // cpu  user nice system idle iowait irq softirq steal …
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3] + f[4];
  return { busy: ((total - idle) * 1e6) / CLOCK_TICKS, total: (total * 1e6) / CLOCK_TICKS, stolen: (f[7] * 1e6) / CLOCK_TICKS };
}

/** The share of the cores' time the host took from this machine (steal) since an earlier machineCpu(). */
export function stolenShareSince(since: MachineCpu): number {
  const now = machineCpu();
  return (now.stolen - since.stolen) / (now.total - since.total);
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}


export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

