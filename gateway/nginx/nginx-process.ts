// Running the nginx binary: find it, test a config, signal the master. Used by `apply`, the demo and tests.
import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
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

/** Direct children of `ppid` (an nginx master's workers), from /proc; empty where there is no /proc. */
export function childPids(ppid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^[0-9]+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      // pid (comm) state ppid ...: comm may hold spaces or parens, so parse after the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) === ppid) out.push(Number(e));
    } catch { /* raced with exit */ }
  }
  return out;
}
