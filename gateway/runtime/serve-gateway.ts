// Everything `strangler serve` runs, as one function so the demo can run it in-process:
// manifest -> state -> token -> traffic listener + admin listener, reload on SIGHUP or on a
// file change (the old table keeps serving if the new manifest is invalid), graceful close.
// The traffic side is one server in this process, or with `workers` a group of cluster workers
// sharing the port (worker-group.ts); everything else stays here.
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { basename, dirname } from 'node:path';
import { compileManifest, loadManifest, sha256 } from '../manifest/compile-manifest';
import { fileDiagnostic, formatDiagnostic, type ManifestDiagnostic } from '../manifest/errors';
import type { RouteTable } from '../manifest/route-table';
import { createAdminApi, type AdminGateway } from './admin-api';
import { createRolloutController } from './rollout-controller';
import { localRolloutShare } from './rollout-share';
import { accessLogDestination, createAccessLog } from './access-log';
import { createGatewayServer } from './gateway-server';
import { createWorkerGroup } from './worker-group';
import { besideManifest, loadOrCreateAdminToken, READ_TOKEN_ENV } from './admin-token';
import { fileHostReports } from './file-state-source';
import { openRuntimeState } from './open-state';
import type { InstanceInfo, InstanceSelf } from './redis-state-store';
import type { RuntimeState } from './runtime-state';
import { resolveStateTarget } from './state-target';
import { localUrl, parseAddress, type Address } from '../util/address';
import { watchFile } from '../util/watch-file';

export type { Address };

export interface ServeLog {
  info(line: string): void;
  error(line: string): void;
}


export interface StartGatewayOptions {
  manifestPath: string;
  /** "host:port" or "port"; default the manifest's gateway.listen. Port 0 picks a free port. */
  listen?: string;
  /** Same for the admin API; default the manifest's gateway.admin. */
  admin?: string;
  /**
   * Where the runtime state lives (`--state`): a file path, or redis://… / rediss://… shared by
   * every instance. Default: env STRANGLER_REDIS_URL, else the manifest's gateway.state, else
   * `<manifest-basename>.state.json` beside the manifest.
   */
  state?: string;
  /** With Redis: the local snapshot this instance boots from when Redis is down (default the state file beside the manifest). */
  stateSnapshot?: string;
  /** With Redis: reconcile and heartbeat interval (default 1000 ms). */
  reconcileMs?: number;
  /** Reload when the manifest file changes (default true); SIGHUP is the caller's to wire. */
  watch?: boolean;
  /** Quiet period after the last file event before reloading (default 200 ms). */
  debounceMs?: number;
  /** Serve traffic from this many cluster workers instead of this process (default 0: in-process). */
  workers?: number;
  /** Tests: how often rollouts publish counts and decide (default from the shortest rollout interval). */
  rolloutTickMs?: number;
  /** Tests: workers apply each state change this late (see WorkerGroupOptions.applyDelayMs). */
  workerApplyDelayMs?: number;
  env?: NodeJS.ProcessEnv;
  log?: ServeLog;
}

export interface ReloadResult {
  outcome: 'reloaded' | 'unchanged' | 'invalid';
  diagnostics: readonly ManifestDiagnostic[];
  /** Overrides dropped because their routes left the manifest. */
  dropped: readonly string[];
}

export interface GatewayHandle {
  readonly listen: Address;
  /** The traffic listener's URL: https:// with gateway.tls (read at start; turning it on or off needs a restart). */
  readonly trafficUrl: string;
  readonly admin: Address;
  /** The state file, or with Redis the local snapshot. */
  readonly statePath: string;
  /** Where the state lives, for people: the file, or the Redis URL without password. */
  readonly stateLocation: string;
  /** The audit log file, or the Redis stream. */
  readonly auditLocation: string;
  /** null when the token came from STRANGLER_ADMIN_TOKEN. */
  readonly tokenPath: string | null;
  readonly tokenCreated: boolean;
  readonly state: RuntimeState;
  /** The processes serving traffic: this one, or the workers. */
  trafficPids(): number[];
  /** Reopen the access log (SIGUSR1, after logrotate moved it). */
  reopenLogs(): void;
  table(): RouteTable;
  reload(reason?: string): Promise<ReloadResult>;
  /** Stops accepting, lets requests in flight finish within `graceMs` (default 10 s). */
  close(graceMs?: number): Promise<void>;
}

const SILENT: ServeLog = { info: () => undefined, error: () => undefined };
export const DEFAULT_GRACE_MS = 10_000;

/** The listener side startGateway drives: one in-process server or a group of workers. */
interface TrafficSide extends AdminGateway {
  /** Resolves to the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** A validated manifest: resolves once new requests are routed by it. */
  swapTable(table: RouteTable, text: string): Promise<void>;
  reopenLogs(): void;
  pids(): number[];
  close(graceMs: number): Promise<void>;
}

function inProcessTraffic(table: RouteTable, manifestPath: string, state: RuntimeState, log: ServeLog): TrafficSide {
  const destination = accessLogDestination(table.gateway.access_log, manifestPath);
  const accessLog = destination ? createAccessLog(destination, { onError: (line) => log.error(line) }) : null;
  const gw = createGatewayServer({ table, state, log: (line: string) => log.info(line), accessLog });
  return {
    async listen(host, port) {
      await gw.listen(host, port);
      return (gw.server.address() as AddressInfo).port;
    },
    async swapTable(next) { gw.swapTable(next); }, // one reference swap: each request sees the old table or the new one
    pids: () => [process.pid],
    reopenLogs: () => accessLog?.reopen(),
    routeStats: () => gw.routeStats(),
    metricsText: () => gw.metricsText(),
    shadowReport: (route) => gw.shadowReport(route),
    resetShadow: (route) => gw.resetShadow(route),
    close: async (graceMs) => {
      await gw.close(graceMs);
      await accessLog?.close();
    },
  };
}

function workerTraffic(workers: number, manifestPath: string, text: string, state: RuntimeState, log: ServeLog, applyDelayMs?: number): TrafficSide {
  const group = createWorkerGroup({ workers, manifestPath, manifestText: text, state: () => state.snapshot(), log, applyDelayMs });
  // A change is acknowledged once every worker serves it.
  state.onApplied((s) => group.applyState(s));
  return group;
}

export async function startGateway(opts: StartGatewayOptions): Promise<GatewayHandle> {
  const log = opts.log ?? SILENT;
  const manifestPath = opts.manifestPath;
  const loaded = loadManifest(manifestPath); // throws ManifestInvalidError with every diagnostic
  for (const d of loaded.diagnostics) log.error(formatDiagnostic(d));
  let table = loaded.table;

  const env = opts.env ?? process.env;
  const target = resolveStateTarget({
    flag: opts.state, manifest: table.gateway.state, manifestDir: dirname(manifestPath), defaultFile: besideManifest(manifestPath, 'state.json'), env,
  }); // throws StateTargetError
  const statePath = target.kind === 'file' ? target.path : opts.stateSnapshot ?? besideManifest(manifestPath, 'state.json');
  const { state, redis, audit, stateLocation, auditLocation } = await openRuntimeState({
    target, snapshotFile: statePath, reconcileMs: opts.reconcileMs, log,
    auditFile: `${dirname(statePath)}/${basename(besideManifest(manifestPath, 'audit.jsonl'))}`,
  }); // throws StateFileError on a corrupt file
  const dropped = await dropRemovedRoutes(state, table, log);
  if (dropped.length) log.info(`state: dropped overrides of routes no longer in the manifest: ${dropped.join(', ')}`);
  const token = loadOrCreateAdminToken(manifestPath, opts.env);
  for (const w of token.warnings) log.error(w);
  const readToken = (opts.env ?? process.env)[READ_TOKEN_ENV] || null;
  if (readToken !== null && readToken === token.token) throw new Error(`${READ_TOKEN_ENV} must differ from the admin token: a read-only token that is also the admin token changes everything`);

  const listenAt = opts.listen ? parseAddress(opts.listen, table.gateway.listen) : table.gateway.listen;
  const adminAt = opts.admin ? parseAddress(opts.admin, table.gateway.admin) : table.gateway.admin;

  const gw = opts.workers ? workerTraffic(opts.workers, manifestPath, loaded.text, state, log, opts.workerApplyDelayMs) : inProcessTraffic(table, manifestPath, state, log);
  let listen: Address;
  let trafficUrl = '';
  let adminAddr: Address;
  const startedAt = new Date().toISOString();
  const describeSelf = (): InstanceSelf => ({
    admin: localUrl(adminAddr.host, adminAddr.port), listen: trafficUrl, traffic_pids: gw.pids(), manifest_sha256: table.sha256,
  });
  // With a file, this gateway is the only one serving its state.
  const alone = (): InstanceInfo[] => [{
    id: `${hostname()}:${process.pid}`, hostname: hostname(), pid: process.pid, ...describeSelf(), state_version: state.snapshot().version,
    available: true, started_at: startedAt, last_seen: new Date().toISOString(),
  }];
  const rollout = createRolloutController({
    table: () => table, state, gateway: gw, share: redis ? redis.rolloutShare() : localRolloutShare(), audit, tickMs: opts.rolloutTickMs, log: (line) => log.info(line),
  });
  const admin = createAdminApi({
    table: () => table, state, gateway: gw, rollout, token: token.token, readToken, audit, auditName: auditLocation, log: (line) => log.info(line),
    instances: async () => redis ? redis.instances() : alone(),
    instanceId: () => redis ? redis.id : alone()[0].id,
    hostReports: (redis ? redis.hostReports() : fileHostReports(statePath)).list,
  });
  try {
    listen = { host: listenAt.host, port: await gw.listen(listenAt.host, listenAt.port) };
    trafficUrl = localUrl(listen.host, listen.port, table.gateway.tls ? 'https' : 'http');
    adminAddr = await admin.listen(adminAt.host, adminAt.port);
  } catch (err) {
    await rollout.close();
    await Promise.allSettled([gw.close(0), admin.close(0), state.close()]);
    throw err;
  }
  redis?.describe(describeSelf);

  // Reloads run one at a time; a trigger during a reload queues one more.
  let reloading: Promise<ReloadResult> = Promise.resolve({ outcome: 'unchanged', diagnostics: [], dropped: [] });
  const reload = (reason = 'request'): Promise<ReloadResult> => {
    reloading = reloading.then(() => reloadOnce(reason), () => reloadOnce(reason));
    return reloading;
  };
  async function reloadOnce(reason: string): Promise<ReloadResult> {
    let text: string;
    try {
      text = readFileSync(manifestPath, 'utf8');
    } catch (err) {
      const d = fileDiagnostic(manifestPath, err as Error);
      log.error(`reload (${reason}): cannot read the manifest, still serving the previous one (sha256 ${table.sha256.slice(0, 12)})`);
      log.error(formatDiagnostic(d));
      return { outcome: 'invalid', diagnostics: [d], dropped: [] };
    }
    // With gateway.tls a reload also reads the certificate again (certbot renewed it): no shortcut.
    if (sha256(text) === table.sha256 && table.gateway.tls === null) return { outcome: 'unchanged', diagnostics: [], dropped: [] };
    const compiled = compileManifest(text, manifestPath);
    if (!compiled.table) {
      log.error(`reload (${reason}): ${manifestPath} is invalid, still serving the previous manifest (sha256 ${table.sha256.slice(0, 12)}):`);
      for (const d of compiled.diagnostics) log.error(formatDiagnostic(d));
      return { outcome: 'invalid', diagnostics: compiled.diagnostics, dropped: [] };
    }
    for (const d of compiled.diagnostics) log.error(formatDiagnostic(d));
    const next = compiled.table;
    try {
      await gw.swapTable(next, text);
    } catch (err) {
      log.error(`reload (${reason}): a worker did not take the new manifest: ${(err as Error).message}`);
    }
    const old = table;
    table = next;
    const gone = await dropRemovedRoutes(state, next, log);
    log.info(`reload (${reason}): serving ${manifestPath} (sha256 ${next.sha256.slice(0, 12)}), ${next.routes.length} routes` +
      (gone.length ? `; dropped overrides of removed routes: ${gone.join(', ')}` : ''));
    if (old.gateway.listen.text !== next.gateway.listen.text || old.gateway.admin.text !== next.gateway.admin.text) {
      log.error('reload: gateway.listen / gateway.admin changed; listeners keep their addresses until a restart');
    }
    return { outcome: 'reloaded', diagnostics: compiled.diagnostics, dropped: gone };
  }

  const watcher = opts.watch === false ? null : watchFile(manifestPath, () => void reload('file changed'), opts.debounceMs ?? 200,
    (err) => log.error(`watching ${manifestPath}: ${err.message}; reload with SIGHUP instead`));

  let closing: Promise<void> | null = null;
  return {
    listen,
    trafficUrl,
    admin: adminAddr,
    statePath,
    stateLocation,
    auditLocation,
    tokenPath: token.file,
    tokenCreated: token.created,
    state,
    trafficPids: () => gw.pids(),
    reopenLogs: () => gw.reopenLogs(),
    table: () => table,
    reload,
    close(graceMs = DEFAULT_GRACE_MS) {
      closing ??= (async () => {
        watcher?.close();
        await rollout.close();
        await Promise.all([gw.close(graceMs), admin.close(Math.min(graceMs, 2000))]);
        await reloading.catch(() => undefined);
        await state.close();
      })();
      return closing;
    },
  };
}

/**
 * A file store forgets overrides of routes the manifest no longer has. A shared (Redis) state
 * keeps them: during a rolling update other instances may still serve a manifest with the route.
 */
async function dropRemovedRoutes(state: RuntimeState, table: RouteTable, log: ServeLog): Promise<string[]> {
  const keep = new Set(table.routes.map((r) => r.id));
  const gone = Object.keys(state.snapshot().routes).filter((id) => !keep.has(id));
  if (!gone.length) return [];
  if (state.health().store !== 'file') {
    log.info(`state: overrides of routes not in this manifest are kept in the shared state: ${gone.join(', ')}`);
    return [];
  }
  await state.apply(new Map(gone.map((id) => [id, null] as const)), 'manifest reload');
  return gone;
}
