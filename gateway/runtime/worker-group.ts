// The traffic side of `strangler serve --workers N`: N cluster workers (gateway-worker.ts) share
// the traffic port, each running the same gateway server. A manifest reload or a runtime change
// is sent to every worker and counts as done when each has acknowledged it, so "effective on the
// next request" holds whichever worker the next request reaches. A worker that dies is replaced
// and starts from the current manifest and state.
import cluster, { type Worker } from 'node:cluster';
import { join } from 'node:path';
import { AggregatorRegistry } from 'prom-client';
import type { RouteTable } from '../manifest/route-table';
import { addRouteStats, type AdminGateway, type RouteStats } from './gateway-metrics';
import { sumShadowReports } from './shadow-report';
import { withTrafficFlags } from './node-flags';
import type { StateSnapshot } from './runtime-state';
import type { FromWorker, ToWorker } from './worker-messages';

export interface WorkerGroupOptions {
  workers: number;
  manifestPath: string;
  manifestText: string;
  state: () => StateSnapshot;
  log: { info(line: string): void; error(line: string): void };
  /** How long a worker may take to acknowledge a change (default 5 s). */
  ackTimeoutMs?: number;
  /** Tests: workers apply each state change this late, so an answer sent before every acknowledgement would show (default 0). */
  applyDelayMs?: number;
}

export interface WorkerGroup {
  /** Starts the workers; resolves to the port they share. */
  listen(host: string, port: number): Promise<number>;
  /** A validated manifest (its text is what workers compile): resolves once every worker serves it. */
  swapTable(table: RouteTable, text: string): Promise<void>;
  /** Resolves once every worker serves this state. */
  applyState(state: StateSnapshot): Promise<void>;
  routeStats(): Promise<ReadonlyMap<string, RouteStats>>;
  metricsText(): Promise<string>;
  shadowReport: AdminGateway['shadowReport'];
  resetShadow: AdminGateway['resetShadow'];
  /** Every worker reopens its access log. */
  reopenLogs(): void;
  pids(): number[];
  close(graceMs: number): Promise<void>;
}

/** `into` plus one worker's stats. */
function sumStats(into: ReadonlyMap<string, RouteStats>, stats: [string, RouteStats][]): Map<string, RouteStats> {
  const sum = new Map(into);
  for (const [id, s] of stats) {
    const t = sum.get(id);
    sum.set(id, t ? addRouteStats(t, s) : s);
  }
  return sum;
}

interface Pending { resolve(m: FromWorker): void; reject(err: Error): void; timer: NodeJS.Timeout }

/** A worker that dies sooner than this after starting is restarted after a pause, not at once. */
const CRASH_LOOP_MS = 1000;

export function createWorkerGroup(o: WorkerGroupOptions): WorkerGroup {
  const ackTimeoutMs = o.ackTimeoutMs ?? 5000;
  let manifestText = o.manifestText;
  let at: { host: string; port: number } | null = null;
  let closing = false;
  let seq = 0;
  /**
   * Workers from the moment they were sent the manifest, and what each still owes an answer for.
   * A worker still starting gets every change too: IPC keeps the order, so it applies them after
   * its start and before it could serve a request on stale state.
   */
  const members = new Map<Worker, Map<number, Pending>>();
  /**
   * Each worker's last stats answer, and what workers that died had counted: counts only grow, so
   * a rollout window (a difference of two readings) must not shrink when a worker is replaced.
   */
  const lastStats = new Map<Worker, [string, RouteStats][]>();
  let departed = new Map<string, RouteStats>();

  cluster.setupPrimary({ exec: join(__dirname, 'gateway-worker.js'), args: [], execArgv: withTrafficFlags(process.execArgv) });

  function start(replacing?: number): Promise<number> {
    const worker = cluster.fork();
    const startedAt = Date.now();
    return new Promise((resolve, reject) => {
      let listening = false;
      worker.on('message', (m: FromWorker) => {
        switch (m.t) {
          case 'listening':
            listening = true;
            if (replacing !== undefined) o.log.info(`worker ${worker.process.pid} serving, in place of ${replacing}`);
            return resolve(m.port);
          case 'failed':
            worker.kill();
            return reject(Object.assign(new Error(m.message), { code: m.code, address: at?.host, port: at?.port }));
          case 'log':
            return o.log.info(m.line);
          default: {
            // Kept here, in order with 'exit', so an answer is never folded in after its worker died.
            if (m.t === 'stats') lastStats.set(worker, m.stats);
            const pending = members.get(worker)?.get(m.seq);
            if (!pending) return;
            members.get(worker)!.delete(m.seq);
            clearTimeout(pending.timer);
            pending.resolve(m);
          }
        }
      });
      worker.once('online', () => {
        worker.send({ t: 'start', manifestPath: o.manifestPath, manifestText, state: o.state(), host: at!.host, port: at!.port, applyDelayMs: o.applyDelayMs ?? 0 } satisfies ToWorker);
        members.set(worker, new Map());
      });
      worker.once('exit', (code, signal) => {
        // Whatever it still owed is moot: its replacement starts from the current manifest and state.
        for (const p of members.get(worker)?.values() ?? []) {
          clearTimeout(p.timer);
          p.resolve({ t: 'ack', seq: -1 });
        }
        members.delete(worker);
        // Its shadow comparisons are not kept: they can be reset (DELETE /routes/:id/shadow), a dead worker's cannot.
        departed = sumStats(departed, (lastStats.get(worker) ?? []).map(([id, { shadow: _s, ...counts }]) => [id, counts]));
        lastStats.delete(worker);
        if (!listening) return reject(new Error(`worker ${worker.process.pid} exited before listening (${signal ?? code})`));
        if (closing) return;
        o.log.error(`worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another`);
        const pause = Date.now() - startedAt < CRASH_LOOP_MS ? CRASH_LOOP_MS : 0;
        setTimeout(() => {
          if (!closing) start(worker.process.pid).catch((err: Error) => o.log.error(`a replacement worker did not start: ${err.message}`));
        }, pause).unref();
      });
    });
  }

  function ask(worker: Worker, m: ToWorker & { seq: number }): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        members.get(worker)?.delete(m.seq);
        reject(new Error(`worker ${worker.process.pid} did not answer within ${ackTimeoutMs} ms`));
      }, ackTimeoutMs);
      members.get(worker)!.set(m.seq, { resolve, reject, timer });
      try {
        worker.send(m);
      } catch { /* it is exiting: its 'exit' settles this */ }
    });
  }

  /** Sends one message to every worker (starting ones too) and waits for all their answers. */
  function everyWorker(m: (seq: number) => ToWorker & { seq: number }): Promise<FromWorker[]> {
    const message = m(++seq);
    return Promise.all([...members.keys()].map((w) => ask(w, message)));
  }

  async function acknowledged(m: (seq: number) => ToWorker & { seq: number }): Promise<void> {
    const errors = (await everyWorker(m)).flatMap((a) => (a.t === 'ack' && a.error ? [a.error] : []));
    if (errors.length) throw new Error(errors[0]);
  }

  async function stats(): Promise<Extract<FromWorker, { t: 'stats' }>[]> {
    return (await everyWorker((s) => ({ t: 'stats', seq: s }))).filter((a): a is Extract<FromWorker, { t: 'stats' }> => a.t === 'stats');
  }

  return {
    async listen(host, port) {
      at = { host, port };
      const ports = await Promise.all(Array.from({ length: o.workers }, () => start()));
      return ports[0];
    },
    async swapTable(_table, text) {
      manifestText = text;
      await acknowledged((s) => ({ t: 'table', seq: s, manifestText: text }));
    },
    async applyState(state) {
      await acknowledged((s) => ({ t: 'state', seq: s, state }));
    },
    async routeStats() {
      await stats();
      let sum = departed;
      for (const answer of lastStats.values()) sum = sumStats(sum, answer);
      return sum;
    },
    async metricsText() {
      const answers = await stats();
      return AggregatorRegistry.aggregate(answers.map((a) => a.metrics)).metrics();
    },
    async shadowReport(route) {
      const answers = await everyWorker((s) => ({ t: 'shadow', seq: s, route, reset: false }));
      return sumShadowReports(answers.flatMap((a) => (a.t === 'shadow' ? [a.report] : [])));
    },
    async resetShadow(route) {
      await everyWorker((s) => ({ t: 'shadow', seq: s, route, reset: true }));
    },
    reopenLogs() {
      for (const w of members.keys()) {
        try { w.send({ t: 'reopen' } satisfies ToWorker); } catch { /* exiting: its replacement opens the file anew */ }
      }
    },
    pids: () => [...members.keys()].map((w) => w.process.pid!),
    async close(graceMs) {
      closing = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
        if (w.isDead()) return resolve();
        const kill = setTimeout(() => w.process.kill('SIGKILL'), graceMs + 2000);
        w.once('exit', () => { clearTimeout(kill); resolve(); });
        w.send({ t: 'close', graceMs } satisfies ToWorker);
      })));
    },
  };
}
