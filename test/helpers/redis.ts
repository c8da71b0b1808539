// A throw-away redis-server for tests: a free loopback port, persistence off (--save "",
// --appendonly no), a child of this process (killed when the test process exits). It can be
// killed, stopped (SIGSTOP), continued and restarted empty on the same port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { freePort } from './net';

let cachedBin: string | null | undefined;

/** REDIS_SERVER_BIN, else redis-server on PATH or in /usr/bin, /usr/local/bin. */
export function findRedisServer(): string | null {
  if (cachedBin !== undefined) return cachedBin;
  const candidates = process.env.REDIS_SERVER_BIN
    ? [process.env.REDIS_SERVER_BIN]
    : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'redis-server')), '/usr/bin/redis-server', '/usr/local/bin/redis-server'];
  cachedBin = candidates.find((c) => {
    try { accessSync(c, constants.X_OK); return spawnSync(c, ['--version']).status === 0; } catch { return false; }
  }) ?? null;
  return cachedBin;
}

let skipNoticeShown = false;

/** From a `before` hook: without redis-server a loud skip, in CI (env CI) a failure. */
export function requireRedis(ctx: Mocha.Context): string {
  const bin = findRedisServer();
  if (bin) return bin;
  const why = process.env.REDIS_SERVER_BIN ? `REDIS_SERVER_BIN=${process.env.REDIS_SERVER_BIN} is not an executable redis-server` : 'redis-server was not found (install it, or set REDIS_SERVER_BIN)';
  if (process.env.CI) throw new Error(`${why}; CI must run the shared-state tests`);
  if (!skipNoticeShown) {
    skipNoticeShown = true;
    console.warn('\n' + '!'.repeat(78) + `\n!!  SKIPPING Redis-backed tests: ${why}.\n!!  Shared runtime state across gateway instances is not proven.\n` + '!'.repeat(78) + '\n');
  }
  return ctx.skip();
}

export interface RunningRedis {
  readonly port: number;
  readonly url: string;
  pid(): number;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  stop(): void;
  cont(): void;
  /** A new, empty server on the same port (after kill()). */
  restart(): Promise<void>;
  /** Ends it for good. */
  close(): Promise<void>;
}

const live = new Set<ChildProcess>();
let hook = false;

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

export async function startRedis(bin: string): Promise<RunningRedis> {
  if (!hook) {
    hook = true;
    process.on('exit', () => { for (const c of live) try { c.kill('SIGKILL'); } catch { /* gone */ } });
  }
  const port = await freePort();
  let child: ChildProcess;
  let exited: Promise<void>;
  let stderr = '';
  const launch = async () => {
    child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(child);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const c = child;
    exited = new Promise((resolve) => c.once('exit', () => { live.delete(c); resolve(); }));
    // Bounded: 200 attempts, each a real connection attempt.
    for (let i = 0; i < 200; i++) {
      if (await portAccepts(port)) return;
      if (c.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`redis-server did not accept connections on ${port}: ${stderr}`);
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => child.pid!,
    async kill() { child.kill('SIGKILL'); await exited; },
    stop() { child.kill('SIGSTOP'); },
    cont() { child.kill('SIGCONT'); },
    restart: launch,
    async close() { child.kill('SIGCONT'); child.kill('SIGKILL'); await exited; },
  };
}
