// `strangler serve` as a child process (node bin/strangler.js serve ...): what the operator runs.
// Waits for "ready", parses the addresses and paths it prints, collects its output, reads its
// memory from /proc, and kills it when the test process exits so no gateway outlives the run.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..', '..');
export const BIN = join(REPO_ROOT, 'bin', 'strangler.js');

export interface ServeChild extends CliChild {
  readonly trafficPort: number;
  readonly adminPort: number;
  /** The `token` line as printed: a path (maybe followed by " (created)") or $STRANGLER_ADMIN_TOKEN. */
  readonly tokenLine: string;
}

/** A long-running `strangler COMMAND` (serve, agent) that prints "ready" once it is. */
export interface CliChild {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** Resolves once stdout+stderr contain `pattern` (after `from` characters of the combined log). */
  waitForOutput(pattern: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  /** Combined output length so far, to wait for lines printed after this point. */
  mark(): number;
  /** SIGKILL if still running. */
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hook = false;

export interface ServeChildOptions {
  /** Workers apply each state change this late (startGateway's workerApplyDelayMs). */
  workerApplyDelayMs?: number;
}

export async function startServeChild(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000, opts: ServeChildOptions = {}): Promise<ServeChild> {
  const argv = opts.workerApplyDelayMs === undefined ? [BIN, 'serve', ...args] : [join(__dirname, 'serve-slow-workers.js'), String(opts.workerApplyDelayMs), ...args];
  const handle = await spawnCliChild('serve', argv, env, timeoutMs);
  const out = handle.stdout();
  const port = (label: string) => {
    const m = new RegExp(`^  ${label} +https?://[^\\n]*:([0-9]+)$`, 'm').exec(out);
    if (!m) throw new Error(`no ${label} address in the output of strangler serve:\n${out}`);
    return Number(m[1]);
  };
  const token = /^  token +(.+)$/m.exec(out);
  return { ...handle, trafficPort: port('traffic'), adminPort: port('admin'), tokenLine: token ? token[1] : '' };
}

export function startCliChild(command: string, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<CliChild> {
  return spawnCliChild(command, [BIN, command, ...args], env, timeoutMs);
}

/** node ARGV: `command` names it in errors. */
async function spawnCliChild(command: string, argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CliChild> {
  if (!hook) {
    hook = true;
    process.on('exit', () => { for (const c of live) try { c.kill('SIGKILL'); } catch { /* gone */ } });
  }
  const child = spawn(process.execPath, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  let both = '';
  const waiters = new Set<() => void>();
  const wake = () => { for (const w of waiters) w(); };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; both += d; wake(); });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; both += d; wake(); });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => { live.delete(child); resolve(code ?? signal ?? -1); wake(); });
  });
  let gone = false;
  void exited.then(() => { gone = true; });

  const waitForOutput = (pattern: RegExp, ms = timeoutMs, from = 0) => new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(both.slice(from));
      if (m) { done(); resolve(m[0]); return; }
      if (gone) { done(); reject(new Error(`strangler ${command} exited before printing ${pattern}:\n${both}`)); }
    };
    const timer = setTimeout(() => { done(); reject(new Error(`strangler ${command} did not print ${pattern} within ${ms} ms:\n${both}`)); }, ms);
    const done = () => { clearTimeout(timer); waiters.delete(check); };
    waiters.add(check);
    check();
  });

  const handle = {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput,
    mark: () => both.length,
    async kill() {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
  };
  try {
    await waitForOutput(/^ready$/m);
  } catch (e) {
    await handle.kill();
    throw e;
  }
  return handle;
}

/** Resident set and its peak so far (kB → bytes), from /proc/<pid>/status. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => {
    const m = new RegExp(`^${name}:\\s+([0-9]+) kB`, 'm').exec(text);
    if (!m) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Runs `strangler ARGS...` to completion (flip, canary, status); async so in-process fixtures keep serving. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
  });
}
