// nginx for the benchmark: gateway/nginx/nginx-runner.ts in a throw-away prefix, with its master
// and worker pids for CPU accounting.
import { spawnSync } from 'node:child_process';
import { findNginx } from '../gateway/nginx/nginx-process';
import { newNginxPrefix, nginxTestIn, runNginx, type NginxRun } from '../gateway/nginx/nginx-runner';

export type BenchNginx = NginxRun;

const TEMP_NAME = 'strangler-bench-nginx-';

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
  return newNginxPrefix(TEMP_NAME);
}

/** `nginx -t` on a config file; returns the wall time in ms, throws with nginx's output. */
export function nginxTestMs(prefix: string, confPath: string): number {
  return nginxTestIn(nginxBin(), prefix, confPath);
}

export function startNginx(confText: string, port: number): Promise<BenchNginx> {
  return runNginx({ bin: nginxBin(), confText, ready: [{ host: '127.0.0.1', port }], tempName: TEMP_NAME });
}
