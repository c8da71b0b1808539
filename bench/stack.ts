// Starting the processes under test: the echo upstream, the peer proxies, the Node gateway and
// nginx on the generated or the hand-written config. Each is a separate process from the load.
import { request } from 'undici';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileManifest } from '../gateway/manifest/compile-manifest';
import { renderNginxConfig, type RenderOptions } from '../gateway/nginx/render-config';
import { TRAFFIC_NODE_FLAGS } from '../gateway/runtime/node-flags';
import { PROJECT_ROOT } from '../gateway/version';
import { benchManifest, type BenchManifestOptions } from './manifests';
import { startNginx, type BenchNginx } from './nginx';
import { childPids, startScript, type Child } from './proc';
import { RUNTIME_STATS_FLAGS } from './runtime-stats';

export const BENCH_DIST = __dirname;
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

/** A call to a gateway's admin API with the bench's token: its status and JSON answer. */
export async function admin(port: number, method: 'GET' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await request(`http://127.0.0.1:${port}${path}`, {
    method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.statusCode, json: (await r.body.json()) as Record<string, unknown> };
}

/** Something load can be pointed at, with the processes whose CPU it spends. */
export interface Running {
  name: string;
  port: number;
  pids(): number[];
  /** Its Node processes, which report GC pauses and event-loop delay (runtime-stats.ts); none for nginx. */
  nodePids?(): number[];
  stop(): Promise<void>;
}

/** Node flags of every measured Node process: the gateway's own, and the runtime reporter. */
const NODE_FLAGS: readonly string[] = [...TRAFFIC_NODE_FLAGS, ...RUNTIME_STATS_FLAGS];

/** The echo upstream; with delayMs, a slow one that waits that long before each answer. */
export async function startUpstream(delayMs = 0): Promise<Child<{ port: number }>> {
  return startScript(join(BENCH_DIST, 'upstream.js'), delayMs > 0 ? ['0', String(delayMs)] : []);
}

export type PeerName = 'undici-pool' | 'http-proxy' | 'fastify-proxy';

// Every Node proxy runs with the flags the gateway ships with (Dockerfile, npm start, --workers), peers too.
export async function startPeer(peer: PeerName, upstreamPort: number): Promise<Running> {
  const c = await startScript<{ port: number }>(join(BENCH_DIST, 'peers', `${peer}.js`), [String(upstreamPort)], NODE_FLAGS);
  return { name: peer, port: c.ready.port, pids: () => [c.pid], nodePids: () => [c.pid], stop: c.stop };
}

export function gatewayAvailable(): boolean {
  return existsSync(join(PROJECT_ROOT, 'dist', 'gateway', 'runtime', 'gateway-server.js'));
}

export interface RunningGateway extends Running {
  admin: number;
  pid: number;
  /** The manifest and state file it runs on (an agent beside nginx follows the same two). */
  manifestPath: string;
  statePath: string;
}

/**
 * The gateway on a manifest text, in its own temp directory (manifest, state, audit log); `workers`
 * as `serve --workers`; `state` as `serve --state` (a redis:// URL: the snapshot stays in the directory).
 */
export async function startGatewayProcess(name: string, manifestText: string, workers = 0, state?: string): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'strangler-bench-gw-'));
  const manifestPath = join(dir, 'routes.yaml');
  writeFileSync(manifestPath, manifestText);
  const nodeArgs: string[] = [...NODE_FLAGS];
  const profDir = process.env.BENCH_CPU_PROF;
  if (profDir) {
    mkdirSync(profDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${name}.cpuprofile`);
  }
  const c = await startScript<{ port: number; admin: number }>(
    join(BENCH_DIST, 'peers', 'gateway.js'), [manifestPath, state ?? join(dir, 'state.json'), ADMIN_TOKEN, String(workers)], nodeArgs);
  return {
    name, port: c.ready.port, admin: c.ready.admin, pid: c.pid, pids: () => [c.pid, ...childPids(c.pid)], nodePids: () => [c.pid, ...childPids(c.pid)],
    manifestPath, statePath: join(dir, 'state.json'),
    async stop() {
      await c.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The manifest compiled the way `strangler compile` does it. */
export function generatedConfig(manifestText: string, render: RenderOptions = {}): string {
  const { table, diagnostics } = compileManifest(manifestText, 'bench.yaml');
  if (!table) throw new Error(`bench manifest invalid:\n${diagnostics.map((d) => `${d.code} ${d.path}: ${d.message}`).join('\n')}`);
  return renderNginxConfig(table, { manifestName: 'bench.yaml', ...render });
}

export function handWrittenConfig(listen: number, upstream: number): string {
  return readFileSync(join(PROJECT_ROOT, 'bench', 'hand-written-nginx.conf'), 'utf8')
    .replaceAll('__LISTEN__', `127.0.0.1:${listen}`)
    .replaceAll('__UPSTREAM__', `127.0.0.1:${upstream}`);
}

export function asRunning(name: string, port: number, n: BenchNginx): Running & { nginx: BenchNginx } {
  return { name, port, pids: n.pids, stop: n.stop, nginx: n };
}

export async function startGeneratedNginx(name: string, o: BenchManifestOptions, render: RenderOptions = {}): Promise<Running & { nginx: BenchNginx }> {
  return asRunning(name, o.listen, await startNginx(generatedConfig(benchManifest(o), render), o.listen));
}
