// Several `strangler serve` processes sharing one state on Redis: start, change, read, poll.
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedis, type RunningRedis } from './redis';
import { startServeChild, type ServeChild } from './serve-child';
import { startStack, type Stack, type StackPorts } from './stack';

export const FLEET_TOKEN = 'fleet-test-token';

export interface Instance {
  child: ServeChild;
  /** Its own local snapshot file. */
  snapshot: string;
}

function startInstance(manifestPath: string, redisUrl: string, dir: string, n: number, extra: string[] = []): Promise<Instance> {
  const snapshot = join(dir, `instance-${n}.snapshot.json`);
  return startServeChild([manifestPath, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--state', redisUrl, '--state-snapshot', snapshot, ...extra],
    { STRANGLER_ADMIN_TOKEN: FLEET_TOKEN, STRANGLER_REDIS_URL: '' }).then((child) => ({ child, snapshot }));
}

/** A redis-server, a stack for the manifest and `count` instances sharing their state on that Redis. */
export interface Fleet {
  readonly redis: RunningRedis;
  readonly stack: Stack;
  /** Instance n at index n; a test that restarts one puts the new one in its place. */
  readonly instances: Instance[];
  /** Instance number n (again: its snapshot file is n's) on the fleet's manifest, Redis and directory. */
  start(n: number, extra?: string[]): Promise<Instance>;
  /** Ends the instances, the stack and Redis, and removes the directory. */
  close(): Promise<void>;
}

/** `redisBin` from requireRedis; `stack` as startStack's options. Whatever started is ended again if a later step fails. */
export async function startFleet(redisBin: string, manifest: (p: StackPorts) => string, count: number, stack: Parameters<typeof startStack>[1] = {}): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'strangler-fleet-'));
  const instances: Instance[] = [];
  let redis: RunningRedis | null = null;
  let running: Stack | null = null;
  const close = async () => {
    await Promise.all(instances.map((i) => i.child.kill()));
    await running?.stop();
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const r = redis = await startRedis(redisBin);
    const s = running = await startStack(manifest, stack);
    const start = (n: number, extra: string[] = []) => startInstance(s.manifestPath, r.url, dir, n, extra);
    await Promise.all(Array.from({ length: count }, async (_, n) => { instances[n] = await start(n); }));
    return { redis: r, stack: s, instances, start, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface Reply { status: number; body: Record<string, unknown> }

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export function call(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({
      host: '127.0.0.1', port, method, path, agent,
      headers: { authorization: `Bearer ${FLEET_TOKEN}`, ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; }).on('end', () => {
        try { resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> }); } catch (err) { reject(err); }
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export const patchPercent = (adminPort: number, route: string, percent: number | null) => call(adminPort, 'PATCH', `/routes/${route}`, { percent });

export async function routeState(adminPort: number, route: string): Promise<{ percent: number; version: number }> {
  const r = await call(adminPort, 'GET', `/routes/${route}`);
  if (r.status !== 200) throw new Error(`GET /routes/${route}: ${r.status} ${JSON.stringify(r.body)}`);
  return { percent: r.body.effective_percent as number, version: r.body.state_version as number };
}

/** Polls `check` until it returns true; at most `attempts` times, yielding to the event loop between (no fixed sleeps). */
export async function until(what: string, check: () => Promise<boolean> | boolean, attempts = 2000, pauseMs = 5): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return i;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(`gave up waiting for ${what} after ${attempts} checks`);
}

/** Closed-loop load on the instances' traffic ports until stop(); counts answers that are not 200. */
export function startLoad(ports: readonly number[], path: string, concurrency = 6) {
  let running = true;
  const stats = { ok: 0, failed: 0, failures: [] as string[], sides: new Map<string, number>() };
  const one = (port: number) => new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => { text += d; }).on('end', () => {
        if (res.statusCode === 200) {
          stats.ok++;
          const side = String((JSON.parse(text) as { served_by?: string }).served_by);
          stats.sides.set(side, (stats.sides.get(side) ?? 0) + 1);
        } else {
          stats.failed++;
          if (stats.failures.length < 10) stats.failures.push(`${port}: ${res.statusCode} ${text.slice(0, 200)}`);
        }
        resolve();
      });
    });
    req.on('error', (err) => { stats.failed++; if (stats.failures.length < 10) stats.failures.push(`${port}: ${err.message}`); resolve(); });
    req.end();
  });
  const loops = Array.from({ length: concurrency }, async (_, i) => {
    for (let n = 0; running; n++) await one(ports[(i + n) % ports.length]);
  });
  return {
    stats,
    async stop() { running = false; await Promise.all(loops); return stats; },
  };
}
