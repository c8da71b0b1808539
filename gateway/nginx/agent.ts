// The nginx agent: runs beside one nginx and keeps its config equal to the manifest compiled
// with the effective runtime percentages. On each change of the state or of the manifest it
// compiles, proves the candidate with `nginx -t`, swaps it in atomically, reloads and waits
// until the new workers serve it. A config nginx refuses is never swapped in (or is put back):
// the last good one keeps serving, and the failure goes into this host's report.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { compileManifest, sha256 } from '../manifest/compile-manifest';
import { formatDiagnostic } from '../manifest/errors';
import { withEffectivePercents } from '../manifest/effective-table';
import type { RouteTable } from '../manifest/route-table';
import type { HostReport, StateBackend, StateSnapshot } from '../runtime/state-source';
import { atomicWriteFileSync } from '../util/atomic-write';
import { watchFile } from '../util/watch-file';
import { acquireConfLock, confFiles, ConfLockBusy, testCandidate, type ConfLock } from './conf-files';
import { findMasterPid, reloadAndWait, type NginxTarget } from './nginx-process';
import { renderNginxConfig } from './render-config';

export const DEFAULT_HEARTBEAT_MS = 5000;
/** How long a sync waits for an `apply` changing the config before it reports the conf busy. */
const LOCK_WAIT_MS = 10_000;

/** A failure message without what changes from one attempt to the next (nginx's timestamp and pid, temp file names). */
export function sameProblem(message: string): string {
  return message
    .replace(/\b\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /g, '')
    .replace(/\b\d+#\d+: (\*\d+ )?/g, '')
    .replace(/\.candidate\.\d+\.[0-9a-f]+/g, '.candidate')
    .replace(/\.\d+\.[0-9a-f]+\.tmp\b/g, '.tmp');
}

export interface AgentLog { info(line: string): void; error(line: string): void }

export interface AgentOptions {
  manifestPath: string;
  /** The full nginx.conf nginx runs (`target.conf`), rewritten by the agent. */
  target: NginxTarget;
  backend: StateBackend;
  /** This host's name in reports (default "<hostname>:<conf path>"). */
  host?: string;
  log: AgentLog;
  /** Rewrite the report (and retry a failed apply) this often (default 5 s). */
  heartbeatMs?: number;
  /** Quiet period after a manifest edit (default 200 ms). */
  debounceMs?: number;
}

export interface SyncOutcome {
  outcome: 'applied' | 'unchanged' | 'failed';
  state_version: number;
  message: string;
}

export interface Agent {
  /** This host's id in reports. */
  readonly host: string;
  /** Brings nginx up to date now; runs after any sync in progress. */
  sync(reason: string): Promise<SyncOutcome>;
  /** The last report published. */
  report(): HostReport | null;
  close(): Promise<void>;
}

export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const { target, backend, log, manifestPath } = opts;
  const host = opts.host ?? `${hostname()}:${target.conf}`;
  // A symlinked conf is written through (the link stays); the lock is `strangler apply`'s.
  const files = confFiles(target.conf);
  let lastGoodTable: RouteTable | null = null;
  let last: HostReport | null = null;
  let lastLogged = '';

  const publish = async (r: HostReport) => {
    last = r;
    try {
      await backend.reports.publish(r);
    } catch (err) {
      log.error(`cannot publish this host's report: ${(err as Error).message}`);
    }
  };

  /** The manifest as it is now, or the last good one with the reason it could not be used. */
  function currentTable(): { table: RouteTable | null; sha: string; problem: string | null } {
    let text: string;
    try {
      text = readFileSync(manifestPath, 'utf8');
    } catch (err) {
      return { table: lastGoodTable, sha: '', problem: `cannot read ${manifestPath}: ${(err as Error).message}` };
    }
    const sha = sha256(text);
    if (lastGoodTable && lastGoodTable.sha256 === sha) return { table: lastGoodTable, sha, problem: null };
    const compiled = compileManifest(text, manifestPath);
    if (!compiled.table) {
      const first = compiled.diagnostics.find((d) => d.severity === 'error');
      return { table: lastGoodTable, sha, problem: `${manifestPath} is invalid: ${first ? formatDiagnostic(first) : 'errors'}` };
    }
    lastGoodTable = compiled.table;
    return { table: compiled.table, sha, problem: null };
  }

  async function syncOnce(reason: string): Promise<SyncOutcome> {
    const snapshot: StateSnapshot = backend.source.current();
    const now = new Date().toISOString();
    const fail = async (sha: string, message: string): Promise<SyncOutcome> => {
      // nginx's messages carry a timestamp and its pid: the same refusal at every heartbeat is logged once.
      const key = sameProblem(message);
      if (key !== lastLogged) log.error(`${reason}: not applied, nginx keeps serving state version ${last?.state_version ?? 'none'}: ${message}`);
      lastLogged = key;
      await publish({
        host, pid: process.pid, conf: target.conf,
        state_version: last?.state_version ?? -1, manifest_sha256: last?.manifest_sha256 ?? '', applied_at: last?.applied_at ?? '',
        failure: { state_version: snapshot.version, manifest_sha256: sha, at: now, message }, seen_at: now,
      });
      return { outcome: 'failed', state_version: snapshot.version, message };
    };

    const { table, sha, problem } = currentTable();
    // The failure names the manifest that could not be applied, not the last good one.
    if (!table || problem) return fail(sha, problem ?? 'no manifest');

    // The config is `strangler apply`'s too: one of them at a time changes it.
    let lock: ConfLock;
    try {
      lock = await acquireConfLock(files.lock, 'agent', LOCK_WAIT_MS);
    } catch (err) {
      return fail(table.sha256, err instanceof ConfLockBusy ? `${err.message}; retrying every heartbeat`
        : `cannot lock ${target.conf} (lock file ${files.lock}): ${(err as Error).message}; retrying every heartbeat`);
    }
    try {
      return await syncLocked(reason, snapshot, now, table, fail);
    } catch (err) {
      // A filesystem error (a full disk, a read-only or unwritable directory): reported like a
      // refusal, and retried on the heartbeat; nginx keeps what it serves.
      return fail(table.sha256, `cannot update ${target.conf}: ${(err as Error).message}`);
    } finally {
      lock.release();
    }
  }

  async function syncLocked(reason: string, snapshot: StateSnapshot, now: string, table: RouteTable,
    fail: (sha: string, message: string) => Promise<SyncOutcome>): Promise<SyncOutcome> {
    const percents = new Map(Object.entries(snapshot.routes).map(([id, o]) => [id, o.percent]));
    const candidate = renderNginxConfig(withEffectivePercents(table, percents), { manifestName: manifestPath });
    const current = existsSync(files.real) ? readFileSync(files.real, 'utf8') : null;
    const master = findMasterPid(target);
    const running = master.pid !== null;

    let testMs = 0;
    let reloadMs = 0;
    if (candidate !== current || !last || last.failure) {
      if (candidate !== current) {
        const t0 = Date.now();
        const test = await testCandidate(files, target, candidate);
        testMs = Date.now() - t0;
        if (!test.ok) return fail(table.sha256, `nginx -t refused the config: ${test.output.split('\n').find((l) => /emerg|error/.test(l)) ?? test.output}`);
        atomicWriteFileSync(files.real, candidate);
      }
      if (!running) {
        return fail(table.sha256, `nginx is not running on ${target.conf} (the config is in place for its start)${master.stale ? `: ${master.stale}` : ''}`);
      }
      // At the start, reload even an unchanged file: an agent that died between its swap and
      // its reload left nginx running the previous config in memory.
      if (candidate !== current || !last) {
        const t0 = Date.now();
        const reload = await reloadAndWait(target);
        reloadMs = Date.now() - t0;
        if (!reload.ok) {
          // nginx kept its running config: put the file back so disk and memory agree.
          if (current !== null) atomicWriteFileSync(files.real, current);
          return fail(table.sha256, `reload failed: ${reload.output}`);
        }
      }
    }
    const changed = candidate !== current;
    if (changed || !last || last.failure || last.state_version !== snapshot.version || last.manifest_sha256 !== table.sha256) {
      log.info(`${reason}: nginx serves state version ${snapshot.version}, manifest sha256 ${table.sha256.slice(0, 12)}${changed ? ` (nginx -t ${testMs} ms, reload until the new workers serve ${reloadMs} ms)` : ' (config unchanged)'}`);
    }
    lastLogged = '';
    await publish({
      host, pid: process.pid, conf: target.conf, state_version: snapshot.version, manifest_sha256: table.sha256,
      applied_at: changed || !last || last.state_version !== snapshot.version || last.failure ? now : last.applied_at,
      failure: null, seen_at: now,
    });
    return { outcome: changed ? 'applied' : 'unchanged', state_version: snapshot.version, message: '' };
  }

  // One sync at a time; triggers during a sync queue one more.
  let tail: Promise<SyncOutcome> = Promise.resolve({ outcome: 'unchanged', state_version: -1, message: '' });
  const sync = (reason: string): Promise<SyncOutcome> => {
    tail = tail.then(() => syncOnce(reason), () => syncOnce(reason));
    return tail;
  };
  // A trigger's sync must never reject unheard (an unhandled rejection ends the process).
  const trigger = (reason: string) => {
    sync(reason).catch((err: Error) => log.error(`${reason}: sync failed: ${err.message}; retrying every heartbeat`));
  };

  const unsubscribe = backend.source.subscribe((s) => trigger(`state version ${s.version}`));
  const watcher = watchFile(manifestPath, () => trigger('manifest changed'), opts.debounceMs ?? 200,
    (err) => log.error(`watching ${manifestPath}: ${err.message}; manifest edits are picked up every heartbeat instead`));
  // Referenced: the heartbeat is what keeps a standalone agent process alive.
  const heartbeat = setInterval(() => trigger('heartbeat'), opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
  await sync('start');

  return {
    host,
    sync,
    report: () => last,
    async close() {
      clearInterval(heartbeat);
      unsubscribe();
      watcher.close();
      await tail.catch(() => undefined);
    },
  };
}
