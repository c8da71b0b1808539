// nginx for the benchmark: a config text in a throw-away prefix directory, run in the foreground
// as a child of this process, with its master and worker pids for CPU accounting.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNginx } from '../gateway/nginx/nginx-process';
import { childPids, sleep } from './proc';

export interface BenchNginx {
  prefix: string;
  confPath: string;
  pid: number;
  /** Master and current workers. */
  pids(): number[];
  stop(): Promise<void>;
}

export function nginxBin(): string {
  const bin = findNginx();
  if (!bin) throw new Error('nginx not found: set NGINX_BIN or put nginx on PATH');
  return bin;
}

export function nginxVersion(): string {
  const r = spawnSync(nginxBin(), ['-v'], { encoding: 'utf8' });
  return (r.stderr || r.stdout).trim().replace(/^nginx version:\s*/, '');
}

export function newPrefix(): string {
  const prefix = mkdtempSync(join(tmpdir(), 'strangler-bench-nginx-'));
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  return prefix;
}

/** `nginx -t` on a config file; returns the wall time in ms, throws with nginx's output. */
export function nginxTestMs(prefix: string, confPath: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(nginxBin(), ['-t', '-q', '-p', prefix + '/', '-c', confPath], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`nginx -t failed:\n${r.stderr}`);
  return ms;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

export async function startNginx(confText: string, port: number, prefix = newPrefix()): Promise<BenchNginx> {
  const confPath = join(prefix, 'nginx.conf');
  writeFileSync(confPath, confText);
  nginxTestMs(prefix, confPath);
  const child = spawn(nginxBin(), ['-p', prefix + '/', '-c', confPath, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'inherit'] });
  let exited = false;
  const exitP = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const master = child.pid!;
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port)) || childPids(master).length === 0) {
    if (exited) throw new Error('nginx exited during startup');
    if (Date.now() > deadline) throw new Error(`nginx did not come up on port ${port}`);
    await sleep(20);
  }
  return {
    prefix,
    confPath,
    pid: master,
    pids: () => [master, ...childPids(master)],
    async stop() {
      const workers = childPids(master);
      if (!exited) child.kill('SIGQUIT');
      await Promise.race([exitP, sleep(5000)]);
      if (!exited) child.kill('SIGKILL');
      for (const w of workers) {
        try { process.kill(w, 'SIGKILL'); } catch { /* gone */ }
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
