// Child processes for the benchmark: start a script, wait for the JSON line it prints when ready,
// and read a process's CPU time and memory from /proc (Linux).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
export { childPids } from '../gateway/nginx/nginx-process';
export { freePort } from '../test/helpers/net';

export interface Child<T> {
  proc: ChildProcess;
  pid: number;
  /** The JSON object the child printed on its first stdout line. */
  ready: T;
  stop(): Promise<void>;
}

/** Runs `node script args…`; the script prints one JSON line when it is listening. */
export function startScript<T>(script: string, args: string[], nodeArgs: string[] = []): Promise<Child<T>> {
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

/** utime + stime of one process, in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the comm field: state=0 … utime=11 stime=12 (fields 14 and 15 of stat(5)).
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLOCK_TICKS;
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

/** Sum over several processes; a process that exited in between counts 0. */
export function cpuMicrosOf(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try { sum += cpuMicros(pid); } catch { /* gone */ }
  }
  return sum;
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}


export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

