// The Redis store: one runtime state shared by every gateway instance.
//
// - A change is a compare-and-set (Lua) of the whole state against the version this instance
//   serves, and is answered only once Redis holds it. The script publishes the new state; every
//   other instance applies it on the message (push), and a periodic reconcile reads the state
//   back in case a message was lost. An instance never applies an older version than it serves
//   of the same lineage (the history a version counts in, chosen when an empty Redis is seeded).
// - A version alone does not name a state: after Redis lost its data, another instance may have
//   seeded it anew and counted to the same version with other routes. Redis's state is the
//   shared truth once present: an instance serving another lineage takes Redis's, whatever its
//   version, and a change is a compare-and-set against the lineage too.
// - Fail-static: commands fail fast (offline queue disabled, per-command timeout, and the change
//   carries a deadline Redis checks against its own clock, so a change answered 503 cannot land
//   later from a stalled server). The last state keeps serving; changes are refused with StateUnavailableError.
// - Every state served is also written to a local snapshot file, which an instance that starts
//   while Redis is down boots from. A Redis that comes back empty, holds a never-changed state
//   (version 0), or an older version of the same lineage (an old dump), is re-seeded from the
//   instances' last state (loudly), never reset.
// - Each instance registers itself (address, version, last seen); the audit log is a stream.
// - A follower (the nginx agent) uses the same read side (boot from its snapshot, push,
//   reconcile) and never writes the state or registers as a gateway; nginx hosts report in a hash.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createClient, type RedisClientType } from 'redis';
import type { Route } from '../manifest/route-table';
import { effectivePercent } from '../manifest/percent';
import type { AuditEntry, AuditSink } from './audit-log';
import { isHostReport, type HostReport, type HostReports } from './state-source';
import { readStateFile, writeStateCopySync } from './state-store';
import {
  checkChanges, lineageOf, overridesOf, parseSnapshot, planChanges, StateUnavailableError,
  type ApplyResult, type Override, type RuntimeState, type StateChanges, type StateHealth, type StateSnapshot,
} from './runtime-state';
import { describeRedisUrl, type RedisTarget } from './state-target';
import { preciseNowMs } from '../util/host-clock';
import { sumWindows, type PublishedWindow, type RolloutShare } from './rollout-share';

export const KEYS = {
  state: 'strangler:state',
  channel: 'strangler:state',
  instances: 'strangler:instances',
  audit: 'strangler:audit',
  nginxHosts: 'strangler:nginx-hosts',
  rolloutLeader: 'strangler:rollout:leader',
  /** A hash per route: one field per instance, its counts of the current window. */
  rolloutWindowPrefix: 'strangler:rollout:window:',
} as const;

/** Takes the lease when nobody holds it, renews it when this instance does; 1 when this instance holds it. */
const LEASE_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** Deletes the lease only when this instance holds it. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Compare-and-set: writes only over `expected` (-1: no state yet) of lineage ARGV[6], before `deadline` (ms, Redis clock). */
const CAS_SCRIPT = `
local t = redis.call('TIME')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[4]) then
  return redis.error_reply('STRANGLERLATE the change reached Redis after its deadline')
end
local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
local l = redis.call('HGET', KEYS[1], 'lineage') or ''
if v ~= tonumber(ARGV[1]) or l ~= ARGV[6] then return {0, v} end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'routes', ARGV[3])
redis.call('PUBLISH', KEYS[2], ARGV[5])
return {1, tonumber(ARGV[2])}`;

/** Seed: writes only where mayReseed holds (checked again here, atomically); returns [written, version before]. */
const SEED_SCRIPT = `
local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1')
local l = redis.call('HGET', KEYS[1], 'lineage') or ''
local mine = tonumber(ARGV[1])
if not (v < 0 or (v < mine and (v == 0 or l == ARGV[4]))) then return {0, v} end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'routes', ARGV[2], 'lineage', ARGV[4])
redis.call('PUBLISH', KEYS[2], ARGV[3])
return {1, v}`;

/** One gateway instance in the registry (and in GET /instances). */
export interface InstanceInfo {
  id: string;
  hostname: string;
  pid: number;
  /** Admin API and traffic addresses as URLs, as this instance listens. */
  admin: string;
  listen: string;
  traffic_pids: number[];
  manifest_sha256: string;
  state_version: number;
  /** Whether the instance reaches the shared state. */
  available: boolean;
  started_at: string;
  last_seen: string;
}

/** What an instance says about itself beyond the state: where it listens, what it serves. */
export type InstanceSelf = Pick<InstanceInfo, 'admin' | 'listen' | 'traffic_pids' | 'manifest_sha256'>;

export interface RedisStoreOptions {
  target: RedisTarget;
  /** Local snapshot file: written on every state served, read at start. */
  snapshotFile: string;
  /** Reconcile and heartbeat interval (default 1000 ms). */
  reconcileMs?: number;
  /** Per-command timeout (default 1000 ms): a stalled Redis must not stall an admin call. */
  commandTimeoutMs?: number;
  /** How long start waits for Redis before serving the local snapshot (default 2000 ms). */
  bootWaitMs?: number;
  log?: { info(line: string): void; error(line: string): void };
  /** Read-only: follow the shared state without ever writing it or joining the gateway registry (the nginx agent). */
  follower?: boolean;
}

/** Registry entries older than this are removed by whoever sees them (an instance killed without closing). */
const FORGET_AFTER_MS = 10 * 60_000;
const CAS_ATTEMPTS = 5;

type Client = RedisClientType;

/**
 * Whether this instance's state may replace Redis's (SEED_SCRIPT says the same): Redis has none,
 * one never changed (nothing shared is lost), or an older version of the same lineage (an old
 * dump). Another lineage is never overwritten: it was counted while this instance was away.
 */
function mayReseed(redis: { version: number; lineage: string }, mine: StateSnapshot): boolean {
  return redis.version < 0 || (redis.version < mine.version && (redis.version === 0 || redis.lineage === lineageOf(mine)));
}

export class RedisStateStore implements RuntimeState {
  private state: StateSnapshot;
  private overrides: ReadonlyMap<string, Override>;
  private adoptedAtMs = preciseNowMs();
  private applied: ((state: StateSnapshot) => Promise<void>) | null = null;
  /** Serialises this instance's changes and the states it adopts, in version order. */
  private queue: Promise<unknown> = Promise.resolve();
  private available = false;
  private lastConfirmed = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private lastError = '';
  private lastLogged = 0;
  /** Redis's clock minus ours (ms), measured on every reconcile: change deadlines are in Redis's time. */
  private clockOffsetMs = 0;
  /** Told of each newer state once this instance serves it (the agent's StateSource). */
  private readonly followers = new Set<(state: StateSnapshot) => void>();
  readonly id = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  private readonly startedAt = new Date().toISOString();
  private describeSelf: () => InstanceSelf = () => ({ admin: '', listen: '', traffic_pids: [process.pid], manifest_sha256: '' });
  private readonly log: NonNullable<RedisStoreOptions['log']>;
  private readonly reconcileMs: number;

  private constructor(private readonly o: RedisStoreOptions, private readonly cmd: Client, private readonly sub: Client, initial: StateSnapshot) {
    this.state = initial;
    this.overrides = overridesOf(initial);
    this.log = o.log ?? { info: () => undefined, error: () => undefined };
    this.reconcileMs = o.reconcileMs ?? 1000;
  }

  /** Boots from the local snapshot, connects, and takes Redis's state if newer (or re-seeds it). Never throws for Redis being down. */
  static async open(o: RedisStoreOptions): Promise<RedisStateStore> {
    const initial = readStateFile(o.snapshotFile) ?? { version: 0, routes: {} }; // StateFileError: refuse to start
    const cmd = createClient({
      url: o.target.url,
      username: o.target.username,
      password: o.target.password,
      // Fail fast rather than queue while disconnected: a change must be refused, not held.
      // (node-redis's command timeout ends once a command is written, so a stalled server is
      // bounded by `timed` below instead.)
      disableOfflineQueue: true,
      commandOptions: { timeout: o.commandTimeoutMs ?? 1000 },
      pingInterval: 5000,
      socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(50 * (retries + 1), 1000) },
    }) as Client;
    // Pub/sub takes its connection over: a second one (node-redis resubscribes after a reconnect).
    const sub = cmd.duplicate() as Client;
    const store = new RedisStateStore(o, cmd, sub, initial);
    for (const c of [cmd, sub]) {
      c.on('error', (err: Error) => store.noteError(err));
      c.on('end', () => store.setAvailable(false, 'connection closed'));
    }
    // Every (re)connection: resync at once, whatever was missed meanwhile.
    cmd.on('ready', () => void store.reconcile());
    sub.on('ready', () => void store.reconcile());
    const connected = Promise.all([cmd.connect(), sub.connect()]).then(() => sub.subscribe(KEYS.channel, (msg) => store.onMessage(msg)));
    connected.catch((err: Error) => store.noteError(err));
    const wait = o.bootWaitMs ?? 2000;
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([connected.catch(() => undefined), new Promise((r) => { timeout = setTimeout(r, wait); })]);
    clearTimeout(timeout);
    await store.reconcile();
    if (!store.available) {
      store.log.error(`state: Redis ${describeRedisUrl(o.target.url)} is unreachable; serving the local snapshot ${o.snapshotFile} (version ${initial.version}) until it is back`);
    }
    store.timer = setInterval(() => void store.reconcile(), store.reconcileMs);
    store.timer.unref();
    return store;
  }

  /** Where this instance serves and what, for the registry (asked on every heartbeat). */
  describe(self: () => InstanceSelf): void {
    this.describeSelf = self;
    void this.heartbeat().catch(() => undefined);
  }

  effectivePercent(route: Route): number {
    return effectivePercent(route, this.overrides.get(route.id));
  }

  override(routeId: string): Override | undefined {
    return this.overrides.get(routeId);
  }

  snapshot(): StateSnapshot {
    return this.state;
  }

  onApplied(fn: (state: StateSnapshot) => Promise<void>): void {
    this.applied = fn;
  }

  health(): StateHealth {
    return {
      store: 'redis', location: describeRedisUrl(this.o.target.url), available: this.available,
      version: this.state.version, stale_seconds: this.available ? 0 : Math.round((Date.now() - this.lastConfirmed) / 100) / 10,
      adopted_at_ms: this.adoptedAtMs,
    };
  }

  apply(changes: StateChanges, by: string): Promise<ApplyResult> {
    if (this.o.follower) return Promise.reject(new Error('a follower of the shared state does not change it'));
    try { checkChanges(changes); } catch (err) { return Promise.reject(err); }
    return this.serially(async () => {
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        if (!this.cmd.isReady) throw this.unavailable();
        const base = this.state;
        const { previous, next } = planChanges(base, changes, by);
        if (next === null) return { version: base.version, previous, routes: base.routes };
        const routesJson = JSON.stringify(next.routes);
        let reply: [number, number];
        try {
          // Compared with this instance's version: a missing (-1) or other version in Redis refuses it.
          reply = await this.timed(this.cmd.eval(CAS_SCRIPT, {
            keys: [KEYS.state, KEYS.channel],
            arguments: [String(base.version), String(next.version), routesJson, String(Math.round(Date.now() + this.clockOffsetMs + (this.o.commandTimeoutMs ?? 1000))),
              JSON.stringify(next), lineageOf(base)],
          })) as [number, number];
        } catch (err) {
          this.noteError(err as Error);
          throw this.unavailable();
        }
        this.confirmed();
        if (reply[0] === 1) {
          await this.adopt(next);
          return { version: next.version, previous, routes: next.routes };
        }
        // Someone else changed it first, or Redis lost, rolled back or re-seeded its state: resync, then retry.
        try {
          await this.syncWithRedis();
        } catch (err) {
          this.noteError(err as Error);
          throw this.unavailable();
        }
      }
      throw new StateUnavailableError('the shared state kept changing under this change; try again');
    });
  }

  /** The audit log as a Redis stream: one history for the whole fleet (each entry as its JSON, and which instance wrote it). */
  auditStream(): AuditSink {
    return {
      append: async (e: AuditEntry) => {
        await this.timed(this.cmd.xAdd(KEYS.audit, '*', { entry: JSON.stringify(e), instance: this.id },
          { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: 100_000 } }));
      },
      last: async (limit: number) => {
        let rows: { message: Record<string, string> }[];
        try {
          rows = await this.timed(this.cmd.xRevRange(KEYS.audit, '+', '-', { COUNT: limit })) as { message: Record<string, string> }[];
        } catch (err) {
          this.noteError(err as Error);
          throw this.unavailable();
        }
        const entries: AuditEntry[] = [];
        for (const r of rows.reverse()) {
          try { entries.push(JSON.parse(r.message.entry) as AuditEntry); } catch { /* a foreign entry: skip */ }
        }
        return entries;
      },
    };
  }

  /** Called with each newer state after this instance serves it; returns an unsubscribe function. */
  follow(listener: (state: StateSnapshot) => void): () => void {
    this.followers.add(listener);
    return () => this.followers.delete(listener);
  }

  /** nginx hosts' reports (strangler agent), one field each in a hash every gateway reads. */
  hostReports(): HostReports {
    return {
      publish: async (r: HostReport) => {
        if (!this.cmd.isReady) throw this.unavailable();
        await this.timed(this.cmd.hSet(KEYS.nginxHosts, r.host, JSON.stringify(r)));
      },
      list: async () => (await this.hashValues<unknown>(KEYS.nginxHosts))
        .filter(isHostReport)
        .sort((a, b) => a.host.localeCompare(b.host)),
    };
  }

  /** Rollouts across the fleet: one decider by a lease, counts summed over every instance (rollout-share.ts). */
  rolloutShare(): RolloutShare {
    return {
      lead: async (ttlMs) => {
        if (!this.cmd.isReady) return false;
        try {
          return Number(await this.timed(this.cmd.eval(LEASE_SCRIPT, { keys: [KEYS.rolloutLeader], arguments: [this.id, String(ttlMs)] }))) === 1;
        } catch (err) {
          this.noteError(err as Error);
          return false;
        }
      },
      publish: async (route, epoch, counts) => {
        if (!this.cmd.isReady) return;
        const key = KEYS.rolloutWindowPrefix + route;
        await this.timed(this.cmd.multi().hSet(key, this.id, JSON.stringify({ epoch, counts })).pExpire(key, 86_400_000).exec());
      },
      release: async () => {
        if (!this.cmd.isReady) return;
        await this.timed(this.cmd.eval(RELEASE_SCRIPT, { keys: [KEYS.rolloutLeader], arguments: [this.id] })).catch(() => undefined);
      },
      gather: async (route, epoch) => sumWindows(await this.hashValues<PublishedWindow>(KEYS.rolloutWindowPrefix + route), epoch),
    };
  }

  /** Every registered instance, this one included. */
  async instances(): Promise<InstanceInfo[]> {
    return (await this.hashValues<InstanceInfo>(KEYS.instances)).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** A hash's values as JSON (foreign values skipped); StateUnavailableError while Redis cannot answer. */
  private async hashValues<T>(key: string): Promise<T[]> {
    let all: Record<string, string>;
    try {
      all = await this.timed(this.cmd.hGetAll(key)) as Record<string, string>;
    } catch (err) {
      this.noteError(err as Error);
      throw this.unavailable();
    }
    const out: T[] = [];
    for (const v of Object.values(all)) {
      try { out.push(JSON.parse(v) as T); } catch { /* a foreign value: skip */ }
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.queue.catch(() => undefined);
    if (this.cmd.isReady && !this.o.follower) await this.timed(this.cmd.hDel(KEYS.instances, this.id)).catch(() => undefined);
    this.followers.clear();
    for (const c of [this.sub, this.cmd]) {
      try { c.destroy(); } catch { /* already closed */ }
    }
  }

  // -------------------------------------------------------------------------------------------

  /** A command answered within the command timeout, or an error: a stalled (SIGSTOPped, swapping) Redis must not stall us. */
  private timed<T>(p: Promise<T>): Promise<T> {
    const ms = this.o.commandTimeoutMs ?? 1000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); });
    p.catch(() => undefined); // an answer after the deadline is dropped
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private unavailable(): StateUnavailableError {
    return new StateUnavailableError(`the shared state (Redis ${describeRedisUrl(this.o.target.url)}) is unreachable${this.lastError ? ` (${this.lastError})` : ''}; ` +
      'this instance keeps serving the last state, and changes are refused until Redis is back');
  }

  private noteError(err: Error): void {
    const msg = err.message || String(err);
    // Logged on the way down, then at most every 30 s while it stays down (reconnects retry often).
    if (this.available || (msg !== this.lastError && Date.now() - this.lastLogged > 30_000)) {
      this.lastLogged = Date.now();
      this.log.error(`state: Redis ${describeRedisUrl(this.o.target.url)}: ${msg}`);
    }
    this.lastError = msg;
    this.setAvailable(false, msg);
  }

  private setAvailable(ok: boolean, why = ''): void {
    if (this.closed) return;
    if (ok && !this.available) this.log.info(`state: Redis ${describeRedisUrl(this.o.target.url)} available, serving version ${this.state.version}`);
    if (!ok && this.available) this.log.error(`state: Redis unavailable (${why}); serving the last state (version ${this.state.version}), changes refused`);
    this.available = ok;
    if (ok) this.lastError = '';
  }

  private confirmed(): void {
    this.lastConfirmed = Date.now();
    this.setAvailable(true);
  }

  /** A pushed state: adopt it if newer; of another lineage, Redis's own state decides. */
  private onMessage(msg: string): void {
    let data: unknown;
    try { data = JSON.parse(msg); } catch { return; }
    const parsed = parseSnapshot(data);
    if ('problem' in parsed) return void this.log.error(`state: ignored a message on ${KEYS.channel}: ${parsed.problem}`);
    if (lineageOf(parsed.snapshot) !== lineageOf(this.state)) return void this.reconcile();
    if (parsed.snapshot.version <= this.state.version) return;
    void this.serially(() => this.adopt(parsed.snapshot)).catch((err: Error) => this.log.error(`state: applying version ${parsed.snapshot.version}: ${err.message}`));
  }

  /** Periodic and on (re)connect: resync with Redis, then heartbeat. Never throws. */
  private async reconcile(): Promise<void> {
    if (this.closed) return;
    try {
      await this.serially(() => this.syncWithRedis());
      await this.heartbeat();
    } catch (err) {
      this.noteError(err as Error);
    }
  }

  /** Reads Redis's state: adopts a newer one or another lineage; re-seeds a missing or older one (mayReseed) from this instance's. */
  private async syncWithRedis(): Promise<void> {
    if (!this.cmd.isReady) throw new Error(this.lastError || 'not connected');
    await this.measureClock();
    const [v, routesJson, lineage] = await this.timed(this.cmd.hmGet(KEYS.state, ['version', 'routes', 'lineage'])) as [string | null, string | null, string | null];
    const mine = this.state;
    const theirs = { version: v === null ? -1 : Number(v), lineage: lineage ?? '' };
    if (mayReseed(theirs, mine)) {
      // A follower never writes the state: it waits for a gateway to (re-)seed it.
      if (this.o.follower) return this.confirmed();
      const seeded: StateSnapshot = mine.lineage ? mine : { ...mine, lineage: randomUUID() };
      const reply = await this.timed(this.cmd.eval(SEED_SCRIPT, {
        keys: [KEYS.state, KEYS.channel],
        arguments: [String(seeded.version), JSON.stringify(seeded.routes), JSON.stringify(seeded), lineageOf(seeded)],
      })) as [number, number];
      if (reply[0] === 1 && mine.version > 0) {
        this.log.error(reply[1] < 0
          ? `state: Redis had no state (restarted empty?); re-seeded it from this instance's last state, version ${mine.version}`
          : reply[1] === 0 && theirs.lineage !== lineageOf(mine)
            ? `state: Redis held a state never changed (version 0, seeded afresh while this instance was away?); re-seeded it from this instance's state, version ${mine.version}`
            : `state: Redis held version ${reply[1]}, older than this instance's ${mine.version} (restored from an old dump?); re-seeded it from this instance's state`);
      }
      this.confirmed();
      if (reply[0] === 0) return this.syncWithRedis(); // another instance seeded first: read what it wrote
      return this.adopt(seeded);
    }
    this.confirmed();
    if (theirs.version === mine.version && theirs.lineage === lineageOf(mine)) return;
    let routes: unknown;
    try { routes = JSON.parse(routesJson ?? ''); } catch { routes = null; }
    const parsed = parseSnapshot({ version: theirs.version, routes, ...(theirs.lineage && { lineage: theirs.lineage }) });
    if ('problem' in parsed) throw new Error(`${KEYS.state} in Redis ${parsed.problem}; not applied`);
    // An instance that never served a shared state (a first start: no snapshot, the manifest's
    // version 0) has nothing of its own to lose: it just takes Redis's.
    if (theirs.lineage !== lineageOf(mine) && (mine.version > 0 || lineageOf(mine) !== '')) {
      this.log.error(`state: Redis holds another history of the state (version ${theirs.version}) than this instance served (version ${mine.version}): ` +
        'Redis lost its data and was seeded and changed anew meanwhile; serving Redis\'s state, the shared one');
    }
    await this.adopt(parsed.snapshot);
  }

  /** Starts serving a newer state, or another lineage's: here, in the workers, and in the local snapshot. */
  private async adopt(next: StateSnapshot): Promise<void> {
    if (lineageOf(next) === lineageOf(this.state) && next.version <= this.state.version) return;
    // Workers first: once this process reports the new version (admin API, registry), every
    // worker serves it too.
    if (this.applied) {
      try {
        await this.applied(next);
      } catch (err) {
        this.log.error(`state: version ${next.version}: ${(err as Error).message}`);
      }
    }
    this.state = next;
    this.overrides = overridesOf(next);
    this.adoptedAtMs = preciseNowMs();
    this.writeSnapshot();
    for (const f of this.followers) f(next);
    void this.heartbeat().catch(() => undefined);
  }

  /**
   * The local snapshot follows the state, for an instance that starts while Redis is down: written
   * at once with each state served, in one synchronous burst (about 0.4 ms for a few overrides, 9 ms
   * for 10,000, on a slow VM disk) and atomically, so that a kill at any moment leaves the last
   * state or the one before. Changes are rare next to requests. Not fsynced: Redis holds
   * the state; the async write with fsyncs took eight thread-pool round trips per change in every
   * instance, and on a busy host those wake-ups slowed the change reaching the others. Writing at
   * most every 200 ms was tried too: an instance killed in that window restarted from an older state.
   */
  private writeSnapshot(): void {
    try {
      writeStateCopySync(this.o.snapshotFile, this.state);
    } catch (err) {
      this.log.error(`state: cannot write the local snapshot ${this.o.snapshotFile}: ${(err as Error).message}`);
    }
  }

  /** Redis's TIME against ours, so a deadline means the same instant to both (clocks may disagree). */
  private async measureClock(): Promise<void> {
    const t0 = Date.now();
    const [sec, usec] = await this.timed(this.cmd.sendCommand(['TIME'])) as [string, string];
    const t1 = Date.now();
    this.clockOffsetMs = Number(sec) * 1000 + Number(usec) / 1000 - (t0 + t1) / 2;
  }

  private async heartbeat(): Promise<void> {
    if (!this.cmd.isReady || this.closed || this.o.follower) return;
    const now = Date.now();
    const me: InstanceInfo = {
      id: this.id, hostname: hostname(), pid: process.pid, ...this.describeSelf(),
      state_version: this.state.version, available: this.available, started_at: this.startedAt, last_seen: new Date(now).toISOString(),
    };
    await this.timed(this.cmd.hSet(KEYS.instances, this.id, JSON.stringify(me)));
    // Instances killed without closing: forget them after a while.
    if (Math.random() < 0.05) {
      const gone = (await this.instances()).filter((i) => now - Date.parse(i.last_seen) > FORGET_AFTER_MS).map((i) => i.id);
      if (gone.length) await this.timed(this.cmd.hDel(KEYS.instances, gone));
    }
  }
}
