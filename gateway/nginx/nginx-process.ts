// Running the nginx binary: find it, test a config, signal the master. Used by `apply`, the demo and tests.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';

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

/** Where the master's pid is, or null when nginx is not running; `stale` names a pid file that names no nginx master. */
export interface MasterPid { pid: number | null; stale: string | null }

/**
 * The master's pid from the config's `pid` file (relative to the prefix). A pid file nginx left
 * behind when it died may name a pid the system has since given to another process: that one
 * must never get nginx's signals, so the pid counts only when the process is an nginx master.
 */
export function findMasterPid(t: NginxTarget): MasterPid {
  let conf = '';
  try { conf = readFileSync(t.conf, 'utf8'); } catch { /* fall back to the defaults */ }
  const m = /^\s*pid\s+("?)([^";\s]+)\1\s*;/m.exec(conf);
  const rel = m ? m[2] : 'logs/nginx.pid';
  const candidates = rel.startsWith('/') ? [rel] : [join(t.prefix ?? '/usr/share/nginx', rel), ...(m ? [] : ['/run/nginx.pid'])];
  let stale: string | null = null;
  for (const file of candidates) {
    let pid: number;
    try {
      pid = Number(readFileSync(file, 'utf8').trim());
    } catch { continue; }
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try { process.kill(pid, 0); } catch (err) {
      // EPERM: it runs, as another user: whether it is nginx is for the check below.
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') { stale ??= `${file} names pid ${pid}, which is not running (a stale pid file)`; continue; }
    }
    const what = isNginxMaster(pid);
    if (what === true) return { pid, stale: null };
    stale ??= `${file} names pid ${pid}, which is not an nginx master but ${what} (a stale pid file: that pid was reused)`;
  }
  return { pid: null, stale };
}

/** The master's pid, or null when nginx is not running (no pid file, or a stale one). */
export function readMasterPid(t: NginxTarget): number | null {
  return findMasterPid(t).pid;
}

/** Why nginx counts as not running, for messages: "(no live master in its pid file)" or the stale pid file. */
export function notRunningReason(t: NginxTarget): string {
  const { stale } = findMasterPid(t);
  return stale ? `nginx is not running with this config: ${stale}` : 'nginx is not running with this config (no live master in its pid file)';
}

/**
 * true when `pid` is an nginx master (its title "nginx: master process …", or, with
 * master_process off, a process of a binary named nginx); otherwise what it is instead. Where
 * there is no /proc it cannot tell, and trusts the pid file.
 */
function isNginxMaster(pid: number): true | string {
  if (!existsSync('/proc/self/cmdline')) return true;
  const line = cmdline(pid);
  if (line === null) return 'a process that is gone';
  if (line.startsWith('nginx: master process')) return true;
  if (/^nginx: /.test(line)) return `an nginx ${line.slice(7).trim()}`;
  let exe = '';
  try { exe = readlinkSync(`/proc/${pid}/exe`); } catch { /* another user's process */ }
  if (basename(exe) === 'nginx' || (exe === '' && basename(line.split(' ')[0]) === 'nginx')) return true;
  return `\`${line.trim().slice(0, 80)}\``;
}

function cmdline(pid: number): string | null {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' '); } catch { return null; }
}

const tick = () => new Promise<void>((r) => setTimeout(r, 10));

/**
 * Reloads nginx (SIGHUP to its master), then waits until nginx serves the new config: a new generation of workers
 * runs and every old worker has exited or stopped accepting (nginx retitles it "worker process
 * is shutting down" once it closed its listening sockets). Without /proc it cannot tell and
 * says so in `output`.
 */
export async function reloadAndWait(t: NginxTarget, timeoutMs = 10_000): Promise<NginxResult> {
  const master = readMasterPid(t);
  if (master === null) return { ok: false, output: notRunningReason(t) };
  return hupAndWait(master, timeoutMs);
}

/** reloadAndWait for a master whose pid is known (nginx-runner.ts's child). */
export async function hupAndWait(master: number, timeoutMs = 10_000): Promise<NginxResult> {
  const before = new Set(childPids(master));
  // SIGHUP to the master is what `nginx -s reload` sends, without a second parse of the config
  // (`-s` loads it before it signals: a few hundred ms on a busy machine).
  try {
    process.kill(master, 'SIGHUP');
  } catch (err) {
    return { ok: false, output: `cannot signal the nginx master (pid ${master}): ${(err as Error).message}` };
  }
  if (!existsSync('/proc/self/stat')) return { ok: true, output: 'reloaded (no /proc: cannot wait for the new workers)' };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { process.kill(master, 0); } catch { return { ok: false, output: `the nginx master (pid ${master}) exited during the reload` }; }
    const now = childPids(master);
    const fresh = now.filter((p) => !before.has(p) && /worker process/.test(cmdline(p) ?? '') && !/shutting down/.test(cmdline(p) ?? ''));
    const oldAccepting = now.filter((p) => before.has(p) && /worker process/.test(cmdline(p) ?? '') && !/shutting down/.test(cmdline(p) ?? ''));
    if (fresh.length > 0 && oldAccepting.length === 0) return { ok: true, output: `new workers ${fresh.join(', ')}` };
    if (Date.now() > deadline) {
      return { ok: false, output: `nginx (pid ${master}) did not start new workers within ${timeoutMs / 1000} s: it refused the config at reload (see its error log)` };
    }
    await tick();
  }
}
