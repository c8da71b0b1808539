// Running the nginx binary: find it, test a config, signal the master. Used by `apply`, the demo and tests.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** NGINX_BIN, then PATH, then the sbin directories distributions install into. */
export function findNginx(explicit?: string): string | null {
  const candidates = explicit ? [explicit] : [
    ...(process.env.NGINX_BIN ? [process.env.NGINX_BIN] : []),
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'nginx')),
    '/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx',
  ];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch { /* try the next one */ }
  }
  return null;
}

export interface NginxTarget {
  bin: string;
  /** -p: the prefix relative paths (logs/, pid) resolve against; null: nginx's compiled-in prefix. */
  prefix: string | null;
  /** -c: the main config file. */
  conf: string;
}

export interface NginxResult { ok: boolean; output: string }

function run(t: NginxTarget, extra: string[]): Promise<NginxResult> {
  const args = [...(t.prefix ? ['-p', t.prefix] : []), '-c', t.conf, ...extra];
  return new Promise((resolve) => {
    execFile(t.bin, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ ok: !err, output: (stdout + stderr).trim() });
    });
  });
}

/** `nginx -t`: parse the config, open its files, report. */
export function nginxTest(t: NginxTarget): Promise<NginxResult> {
  return run(t, ['-t', '-q']);
}

export function nginxSignal(t: NginxTarget, signal: 'reload' | 'quit' | 'stop' | 'reopen'): Promise<NginxResult> {
  return run(t, ['-s', signal]);
}
