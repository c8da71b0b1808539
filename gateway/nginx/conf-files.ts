// The files `apply` and the agent keep beside the nginx config they rewrite, and the lock that
// lets one of them at a time change it.
//
// Every file of its own is a dotfile beside the config (.NAME.lock, .NAME.previous,
// .NAME.candidate.PID.RANDOM): nginx expands `include dir/*;` with glob(3), which does not match
// names starting with a dot, so a snippet in a directory included with a wildcard (Debian's
// sites-enabled/*) never has them loaded beside it.
import { closeSync, linkSync, lstatSync, openSync, readFileSync, readlinkSync, realpathSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { atomicWriteFileSync } from '../util/atomic-write';
import { nginxTest, type NginxResult, type NginxTarget } from './nginx-process';

export interface ConfFiles {
  /** The path given (what nginx's -c or include names). */
  given: string;
  /** The file written: the given path with symlinks resolved, so a link stays a link. */
  real: string;
  /** The previous version, kept by `apply` for its rollback and for the operator. */
  previous: string;
  lock: string;
  /** A fresh name for a candidate to test, beside the given path (nginx resolves relative includes from the -c file's directory). */
  candidate(): string;
}

export function confFiles(path: string): ConfFiles {
  const given = resolve(path);
  const real = realPath(given);
  const hidden = (suffix: string) => join(dirname(real), `.${basename(real)}.${suffix}`);
  return {
    given,
    real,
    previous: hidden('previous'),
    lock: hidden('lock'),
    candidate: () => join(dirname(given), `.${basename(given)}.candidate.${process.pid}.${randomBytes(4).toString('hex')}`),
  };
}

/**
 * nginx -t of `text` as the whole config: written as a fresh candidate beside the given path,
 * tested, and removed whatever happened.
 */
export async function testCandidate(files: ConfFiles, target: NginxTarget, text: string): Promise<NginxResult> {
  const path = files.candidate();
  try {
    atomicWriteFileSync(path, text);
    return await nginxTest({ ...target, conf: path });
  } finally {
    try { unlinkSync(path); } catch { /* not written */ }
  }
}

/** `path` with its symlinks resolved; a link to a file not yet there resolves to where that file will be. */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    try {
      if (lstatSync(path).isSymbolicLink()) return realPath(resolve(dirname(path), readlinkSync(path)));
    } catch { /* no such file: the path itself */ }
    try { return join(realpathSync(dirname(path)), basename(path)); } catch { return path; }
  }
}

// ---------------------------------------------------------------------------------------------
// The lock: a file created exclusively (link(2) of a complete temp file, so it is never seen
// empty), holding "PID STARTTIME WHO". A lock whose process is gone (or whose pid now belongs to
// a process started at another time) is stale, and taken over.

export interface ConfLock {
  readonly file: string;
  /** The holder of a stale lock this one replaced (an apply or agent killed mid-change), or null. */
  readonly tookOver: string | null;
  release(): void;
}

export class ConfLockBusy extends Error {
  constructor(readonly file: string, readonly holder: string, waitedMs: number) {
    super(`${file}: another strangler process is changing this config (${holder})` +
      (waitedMs > 0 ? ` and did not finish within ${Math.round(waitedMs / 1000)} s` : '') +
      `; try again once it has finished (if no such process runs, remove ${file})`);
  }
}

/**
 * Takes the lock, waiting up to `waitMs` for a live holder to release it (`onWait` is told once
 * whom it waits for). Throws ConfLockBusy when the wait runs out, and the filesystem's error
 * when the lock cannot be created at all (an unwritable directory).
 */
export async function acquireConfLock(file: string, who: string, waitMs: number, onWait?: (holder: string) => void): Promise<ConfLock> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    const r = tryConfLock(file, who);
    if ('lock' in r) return r.lock;
    if (Date.now() >= deadline) throw new ConfLockBusy(file, r.holder, waitMs);
    if (!told) { told = true; onWait?.(r.holder); }
    await new Promise((res) => setTimeout(res, 25));
  }
}

export function tryConfLock(file: string, who: string): { lock: ConfLock } | { holder: string } {
  const mine = `${process.pid} ${startTime(process.pid) ?? '-'} ${who.replace(/\s+/g, '_')}\n`;
  let tookOver: string | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createExclusive(file, mine)) {
      return {
        lock: {
          file, tookOver,
          release() {
            try { if (readFileSync(file, 'utf8') === mine) unlinkSync(file); } catch { /* already gone */ }
          },
        },
      };
    }
    let held: string;
    try { held = readFileSync(file, 'utf8'); } catch { continue; } // released meanwhile
    const holder = describe(held);
    if (holderAlive(held)) return { holder };
    // Stale: remove it, unless another process took it over first (the breaker file makes the
    // check-and-remove one step among processes that all found it stale).
    const breaker = `${file}.break`;
    let fd: number;
    try { fd = openSync(breaker, 'wx'); } catch {
      try { if (Date.now() - statSync(breaker).mtimeMs > 10_000) unlinkSync(breaker); } catch { /* gone */ }
      return { holder: `${holder}, being taken over` };
    }
    closeSync(fd);
    try {
      if (readFileSync(file, 'utf8') === held) { unlinkSync(file); tookOver = holder; }
    } catch { /* gone already */ } finally {
      try { unlinkSync(breaker); } catch { /* gone */ }
    }
  }
  return { holder: 'a lock that keeps changing hands' };
}

function createExclusive(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, content, { mode: 0o644 });
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    // A filesystem without hard links: an exclusive create, then the content.
    try {
      writeFileSync(file, content, { flag: 'wx', mode: 0o644 });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  } finally {
    try { unlinkSync(tmp); } catch { /* gone */ }
  }
}

function describe(held: string): string {
  const [pid, , who] = held.trim().split(' ');
  return `${who || 'a process'} pid ${pid || '?'}`;
}

function holderAlive(held: string): boolean {
  const [pidText, started] = held.trim().split(' ');
  const pid = Number(pidText);
  // An empty or unreadable lock: a writer that has not finished writing it (link(2) makes that
  // impossible but on the fallback); count it alive, and the wait runs out with the message.
  if (!Number.isInteger(pid) || pid <= 0) return held.trim() === '';
  try { process.kill(pid, 0); } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A pid that came back, given to a process started since: the holder is gone (as is a zombie).
  const now = startTime(pid);
  if (now === 'zombie') return false;
  return !(started && started !== '-' && now !== null && now !== started);
}

/** A process's start time (clock ticks since boot) from /proc, 'zombie' for one that exited; null where there is no /proc. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? 'zombie' : fields[19] ?? null;
  } catch {
    return null;
  }
}
