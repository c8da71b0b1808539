// Running nginx in a throw-away prefix, in the foreground as a child of this process: write the
// config, `nginx -t` it, start it, wait until it accepts connections with a worker, reload it,
// stop it. The one supervisor the demo, the bench and the tests use; an instance still running
// when this process exits is killed, workers included, so none outlives a crash.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childPids, hupAndWait } from './nginx-process';

export interface NginxAddress { readonly host: string; readonly port: number }

export interface NginxRunOptions {
  bin: string;
  confText: string;
  /** Addresses that must accept connections before the instance counts as started. */
  ready: readonly NginxAddress[];
  /** mkdtemp prefix of the temp directory (default "strangler-nginx-"). */
  tempName?: string;
  /** Extra files written into the prefix before anything runs: relative path → content. */
  files?: Record<string, string | Buffer>;
  /** Run `nginx -t` first and throw its output (default true). */
  test?: boolean;
  /** Pass `-g 'daemon off;'` (default true); false when the config itself says `daemon off;`. */
  daemonOffFlag?: boolean;
  startTimeoutMs?: number;
  /** Keep the prefix directory after stop(), for post-mortems. */
  keepPrefix?: boolean;
}

export interface NginxRun {
  /** The temp prefix directory (`-p`); relative paths in the config resolve against it. */
  readonly prefix: string;
  readonly confPath: string;
  /** The master process id. */
  readonly pid: number;
  /** Master and current workers. */
  pids(): number[];
  /** logs/error.log under the prefix (if the config logs there) followed by nginx's own stderr. */
  errorLog(): string;
  /** Optionally replace the config, `nginx -t` it, SIGHUP, and wait for new workers and `ready`. */
  reload(newConfText?: string, ready?: readonly NginxAddress[]): Promise<void>;
  /** SIGQUIT (graceful), then SIGKILL master and workers if they outlive the bound; removes the prefix. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL master and workers now (a second Ctrl-C). */
  kill(): void;
}

/** Why an instance did not start; `reason` is nginx's first [emerg] line, for one-line reports. */
export class NginxStartError extends Error {
  constructor(message: string, readonly reason: string) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const procAvailable = (): boolean => existsSync('/proc/self/stat');

export function canConnect(a: NginxAddress): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: a.host, port: a.port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

function readIfExists(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}

/** The first line nginx marked [emerg] (else [crit]/[error], else the first line), without time and pid. */
export function nginxReason(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.find((l) => /\[emerg\]/.test(l)) ?? lines.reverse().find((l) => /\[(crit|error)\]/.test(l)) ?? lines[0] ?? 'no output';
  return line.replace(/^\S+ \S+ /, '').replace(/^nginx: /, '');
}

/** `nginx -t -q` on the prefix's config; throws with nginx's output. Returns the wall time in ms. */
export function nginxTestIn(bin: string, prefix: string, confPath: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, ['-t', '-q', '-p', prefix + '/', '-c', confPath], { encoding: 'latin1', timeout: 30_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    // nginx prints the reason on stderr; a build whose default error log is a file logs it there.
    const why = r.stderr.trim() || readIfExists(join(prefix, 'logs', 'error.log')).slice(-4000);
    throw new NginxStartError(`nginx -t failed (exit ${r.status ?? r.signal}):\n${why}`, nginxReason(why));
  }
  return ms;
}

/** A fresh prefix directory with logs/ and tmp/, traversable by nginx's workers (nobody, as root). */
export function newNginxPrefix(tempName = 'strangler-nginx-'): string {
  const prefix = mkdtempSync(join(tmpdir(), tempName));
  chmodSync(prefix, 0o755);
  for (const d of ['logs', 'tmp']) mkdirSync(join(prefix, d), { recursive: true });
  return prefix;
}

const live = new Set<() => void>();
let exitHookInstalled = false;
function killAtExit(kill: () => void): void {
  live.add(kill);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // mocha's --exit and a dying demo call process.exit(): nothing must outlive them.
  process.on('exit', () => { for (const k of live) k(); });
}

export async function runNginx(opts: NginxRunOptions): Promise<NginxRun> {
  const prefix = newNginxPrefix(opts.tempName);
  for (const [rel, content] of Object.entries(opts.files ?? {})) {
    const path = join(prefix, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
  }
  const confPath = join(prefix, 'nginx.conf');
  let conf = opts.confText;
  writeFileSync(confPath, conf);
  const removePrefix = () => { if (!opts.keepPrefix) rmSync(prefix, { recursive: true, force: true }); };
  if (opts.test !== false) {
    try {
      nginxTestIn(opts.bin, prefix, confPath);
    } catch (err) {
      removePrefix();
      throw err;
    }
  }

  const args = ['-p', prefix + '/', '-c', confPath, ...(opts.daemonOffFlag === false ? [] : ['-g', 'daemon off;'])];
  const child: ChildProcess = spawn(opts.bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('latin1');
  child.stderr!.on('data', (d: string) => { stderr += d; });
  let exited = false;
  let exitInfo = '';
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      exitInfo = signal ? `signal ${signal}` : `code ${code}`;
      resolve();
    });
  });
  child.once('error', (err) => { stderr += `\n[emerg] ${err.message}`; exited = true; exitInfo = 'spawn error'; });
  const master = child.pid ?? -1;
  let knownWorkers: number[] = [];
  const workers = () => (procAvailable() && master > 0 ? childPids(master) : knownWorkers);

  const errorLogPath = join(prefix, 'logs', 'error.log');
  let finalLog: string | null = null;
  const errorLog = () => {
    if (finalLog !== null) return finalLog;
    const file = readIfExists(errorLogPath);
    return stderr ? `${file}${file && !file.endsWith('\n') ? '\n' : ''}${stderr}` : file;
  };

  const kill = () => {
    for (const pid of [...new Set([...workers(), ...knownWorkers]), master]) {
      if (pid > 0) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  };
  const atExit = () => { if (!exited) kill(); removePrefix(); };
  killAtExit(atExit);

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      const known = [...new Set([...workers(), ...knownWorkers])];
      if (!exited && master > 0) {
        try { process.kill(master, 'SIGQUIT'); } catch { /* gone */ }
        await Promise.race([exitPromise, sleep(5_000)]);
      }
      if (!exited) {
        kill();
        await Promise.race([exitPromise, sleep(2_000)]);
      }
      // A master that died hard leaves its workers holding the listen socket.
      for (const pid of known) {
        try { process.kill(pid, 0); process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      live.delete(atExit);
      finalLog = errorLog();
      removePrefix();
    })();
    return stopped;
  };

  const startFailed = (what: string) => new NginxStartError(`${what}:\n${errorLog()}`, nginxReason(errorLog()));
  let ready = opts.ready;
  const waitReady = async () => {
    const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
    for (const a of ready) {
      for (;;) {
        if (exited) throw startFailed(`nginx exited during startup (${exitInfo})`);
        if (await canConnect(a)) break;
        if (Date.now() > deadline) throw startFailed(`nginx did not accept connections on ${a.host}:${a.port}`);
        await sleep(20);
      }
    }
    if (procAvailable()) {
      // Listening sockets are opened by the master: also wait for a worker to serve them.
      while (childPids(master).length === 0) {
        if (exited) throw startFailed(`nginx exited during startup (${exitInfo})`);
        if (Date.now() > deadline) throw startFailed('nginx started no worker');
        await sleep(10);
      }
      knownWorkers = childPids(master);
    }
  };

  try {
    await waitReady();
  } catch (err) {
    await stop();
    throw err;
  }

  const reload = async (newConfText?: string, newReady?: readonly NginxAddress[]): Promise<void> => {
    if (stopped || exited) throw new Error('reload() after nginx stopped');
    if (newConfText !== undefined) {
      writeFileSync(confPath, newConfText);
      try {
        nginxTestIn(opts.bin, prefix, confPath);
      } catch (err) {
        writeFileSync(confPath, conf); // leave the running config on disk
        throw err;
      }
      conf = newConfText;
      ready = newReady ?? ready;
    } else {
      nginxTestIn(opts.bin, prefix, confPath);
    }
    const logBefore = readIfExists(errorLogPath).length;
    const r = await hupAndWait(master);
    if (!r.ok) throw new Error(`${r.output}:\n${readIfExists(errorLogPath).slice(logBefore) || errorLog()}`);
    if (procAvailable()) knownWorkers = childPids(master);
    await waitReady();
  };

  return { prefix, confPath, pid: master, pids: () => [master, ...workers()], errorLog, reload, stop, kill };
}
