// The shadow stage: the user is served as always by the side the split chose; a copy of the
// request goes to the other side, from its own bounded pool with its own timeout and in-flight
// limit, and the two answers are compared (shadow-compare.ts; compressed ones decoded first,
// shadow-decode.ts) into the route's results (shadow-results.ts). Nothing here can delay or fail
// the user's answer: the copy runs beside it, the user's answer is watched as it streams (a tap,
// up to the size limit), and every copy that is not made or not compared is counted with its
// reason.
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import { SHADOW_HEADER, SHADOW_SAFE_METHODS, type Route, type RouteTable, type Shadow } from '../manifest/route-table';
import { toSideTarget } from './decide-route';
import { proxiedAsReceived } from './nginx-uri';
import { bodySize, closeBodySource, detachedBodySource, type BufferedBody } from './buffer-body';
import { classifyUpstreamError, type ResponseTap } from './forward';
import type { Forwarding, Stage } from './forward-stages';
import { compareAnswers, comparedHeaders, ignoreMatcher, type CapturedAnswer, type Difference, type PathFilter } from './shadow-compare';
import { CompareThread, onThread, type CompareJob } from './shadow-compare-thread';
import { contentCodings, decodeAnswer, needDecoding } from './shadow-decode';
import { ShadowResults, type SkipReason } from './shadow-results';
import { UpstreamPools, type ServerPool } from './upstream-pools';

/** Connections per upstream server for copies, shared by every route copying there (a max_conns of their own: a copy beyond it is skipped as pool_full); never a user's. */
export const SHADOW_POOL_CONNECTIONS = 64;
/** The longest an event-loop turn spends comparing copies' answers (ms). */
const COMPARE_SLICE_MS = 0.2;

/** The user's request as its copies send it. */
interface CopyRequest {
  readonly method: string;
  readonly headers: string[];
  readonly buffered: BufferedBody | null;
  readonly body: Buffer | null;
}

type Outcome =
  | { readonly kind: 'answer'; readonly answer: CapturedAnswer }
  | { readonly kind: 'too_large' }
  | { readonly kind: 'error'; readonly error: string };

/**
 * One request's comparison: waits for the user's answer, the copy's and (for a noise sample)
 * legacy's second, then compares them in turn. A copy that failed or answered past max_body is
 * counted at once, whatever the user's answer still does; a user's answer still streaming
 * `timeout` after the copy's (a long download, a stream) is not waited for. Either way the copy's
 * in-flight slot is free again. Plain objects with methods rather than promises and closures: a
 * copy to a slow side lives long enough to be copied by a scavenge or two, and everything it
 * holds is copied with it.
 */
class Comparison {
  /** null: the user's answer did not complete (also while not told). */
  user: Outcome | null = null;
  shadow: Outcome | null = null;
  again: Outcome | null = null;
  /** The results' generation when the copy began: a reset since then forgets this comparison too. */
  readonly generation: number;
  private waiting: number;
  private userTold = false;
  private queued = false;
  private userTimer: NodeJS.Timeout | null = null;

  constructor(private readonly copies: ShadowCopies, readonly route: Route, readonly s: Shadow, readonly userIsLegacy: boolean, withAgain: boolean) {
    this.waiting = withAgain ? 3 : 2;
    this.generation = copies.results.generation(route.id);
  }

  /** The user's answer: null when it did not complete (the side failed, a fallback served it, the client left, it took too long). */
  userDone(o: Outcome | null): void {
    if (this.userTold) return;
    this.userTold = true;
    this.user = o;
    if (this.userTimer !== null) clearTimeout(this.userTimer);
    this.userTimer = null;
    this.arrived();
  }

  /** A copy's answer: the other side's, or legacy's second (`again`). */
  copyDone(again: boolean, o: Outcome): void {
    if (again) this.again = o;
    else this.shadow = o;
    if (!again && !this.userTold) {
      if (o.kind !== 'answer') return this.queue(); // counted without the user's answer
      this.userTimer = setTimeout(Comparison.userTooSlow, this.s.timeout.ms, this);
    }
    this.arrived();
  }

  private static userTooSlow(c: Comparison): void {
    c.userTimer = null;
    c.userDone(null);
  }

  private arrived(): void {
    if (--this.waiting === 0) this.decodeThenCompare();
  }

  private queue(): void {
    if (this.queued) return;
    this.queued = true;
    this.copies.enqueue(this);
  }

  /**
   * Compressed answers are decoded first, off the event loop (shadow-decode.ts); then the
   * comparison takes its turn. Answers in the same bytes and the same coding are compared as they are.
   */
  private decodeThenCompare(): void {
    const { user, shadow, again } = this;
    if (this.queued) return;
    if (user?.kind !== 'answer' || shadow?.kind !== 'answer') return this.queue(); // nothing to compare
    if (!needDecoding(user.answer, shadow.answer) && (again?.kind !== 'answer' || !needDecoding(user.answer, again.answer))) {
      return this.queue();
    }
    let pending = 1;
    const decoded = (): void => {
      if (--pending === 0) this.queue();
    };
    for (const key of ['user', 'shadow', 'again'] as const) {
      const o = this[key];
      if (o?.kind !== 'answer' || contentCodings(o.answer).length === 0) continue;
      pending++;
      decodeAnswer(o.answer, this.s.max_body.bytes, (r) => {
        this[key] = r;
        decoded();
      });
    }
    decoded();
  }
}

/** An answer as it arrives, kept up to `limit` bytes: the user's (a tap) or a copy's. */
class Capture {
  private status = 0;
  private headers: CapturedAnswer['headers'] = {};
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private over = false;

  constructor(private readonly limit: number) {}

  start(status: number, headers: IncomingHttpHeaders): void {
    this.status = status;
    this.headers = comparedHeaders(headers);
  }

  /** false once the answer is over the limit: what came is dropped. */
  data(chunk: Buffer): boolean {
    if (this.over) return false;
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.over = true;
      this.chunks.length = 0;
      return false;
    }
    this.chunks.push(chunk);
    return true;
  }

  protected outcome(): Outcome {
    if (this.over) return { kind: 'too_large' };
    const c = this.chunks;
    // One buffer of the chunks, copied only when there are several.
    return { kind: 'answer', answer: { status: this.status, headers: this.headers, body: c.length === 1 ? c[0] : Buffer.concat(c) } };
  }
}

/** The user's answer as it streams past. */
class UserTap extends Capture implements ResponseTap {
  private told = false;

  constructor(limit: number, private readonly comparison: Comparison) {
    super(limit);
  }

  private tell(o: Outcome | null): void {
    if (this.told) return;
    this.told = true;
    this.comparison.userDone(o);
  }

  end(): void {
    this.tell(this.outcome());
  }

  /** The user's response is over: without end(), it was not a complete answer from the decided side. */
  readonly closed = (): void => this.tell(null);
}

/** One copy's exchange with its upstream: its whole answer within the shadow's timeout; the comparison is told once. */
class CopyExchange extends Capture implements Dispatcher.DispatchHandler {
  private done = false;
  private controller: Dispatcher.DispatchController | null = null;
  private timer: NodeJS.Timeout | null;

  /** `body`: the copy's reader of a held body, closed once the copy is over, read or not. */
  constructor(limit: number, timeoutMs: number, private readonly comparison: Comparison, private readonly again: boolean, private readonly body: Buffer | Readable | null) {
    super(limit);
    this.timer = setTimeout(CopyExchange.timedOut, timeoutMs, this);
  }

  /** undici bounds the wait for headers and between reads; this bounds the whole copy. */
  private static timedOut(x: CopyExchange): void {
    x.timer = null;
    // Settled first: abort calls onResponseError at once.
    x.settle({ kind: 'error', error: 'timeout' });
    x.controller?.abort(new Error('shadow timeout'));
  }

  settle(o: Outcome): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    closeBodySource(this.body);
    this.comparison.copyDone(this.again, o);
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.start(statusCode, headers);
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.data(chunk)) return;
    this.settle({ kind: 'too_large' });
    c.abort(new Error('shadow answer over max_body'));
  }

  onResponseEnd(): void {
    this.settle(this.outcome());
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.settle({ kind: 'error', error: classifyUpstreamError(err).kind });
  }
}

export class ShadowCopies {
  readonly results: ShadowResults;
  private readonly pools: UpstreamPools;
  private readonly inFlight = new Map<string, number>();
  private readonly filters = new WeakMap<Shadow, PathFilter>();
  private readonly toCompare: Comparison[] = [];
  private readonly thread = new CompareThread();

  constructor(table: RouteTable, registry: Registry, private readonly log: (line: string) => void) {
    this.results = new ShadowResults(registry);
    this.pools = new UpstreamPools(table, SHADOW_POOL_CONNECTIONS);
  }

  use(table: RouteTable): void {
    this.pools.use(table);
  }

  async destroy(): Promise<void> {
    await Promise.all([this.pools.destroy(), this.thread.close()]);
  }

  private filter(s: Shadow): PathFilter {
    let f = this.filters.get(s);
    if (f === undefined) this.filters.set(s, f = ignoreMatcher(s.ignore));
    return f;
  }

  /** Starts the copy (or counts why not) and watches the user's answer; returns at once. */
  start(f: Forwarding, s: Shadow): void {
    const d = f.proxied;
    const route = d.route;
    const method = f.req.method!;
    const skip = (reason: SkipReason) => this.results.skipped(route.id, reason);
    if (!s.methods.includes(method) || (route.methods !== null && !route.methods.includes(method))) return skip('method');
    if (s.percent < 100 && Math.random() * 100 >= s.percent) return;
    if (f.body instanceof Readable) return skip('body_streamed');
    // A buffered body (request buffering) is held in memory or in a temp file: either is copied.
    const size = f.buffered !== null ? bodySize(f.buffered) : f.body?.length ?? 0;
    if (size > s.max_body.bytes) return skip('body_too_large');
    const running = this.inFlight.get(route.id) ?? 0;
    if (running >= s.max_in_flight) return skip('in_flight');
    const other = d.side === 'to' ? { upstream: 'legacy', path: proxiedAsReceived(d.parsed) } : toSideTarget(f.ctx.matcher, d.parsed);
    const server = this.serverFor(other.upstream, route, s);
    // The copies' connections to it (shared by every route copying there) are all busy: not sent.
    if (server?.pool.full) return skip('pool_full');
    this.inFlight.set(route.id, running + 1);

    // What the copies need, taken out of the Forwarding now: nothing below holds the user's
    // request and response objects for as long as a copy to a slow side runs.
    const copyOf: CopyRequest = { method, headers: [...f.headers, SHADOW_HEADER, '1'], buffered: f.buffered, body: f.body as Buffer | null };
    // side_effect_free speaks for the function: legacy never gets a request that may change state twice.
    const again = s.noise_sample > 0 && SHADOW_SAFE_METHODS.includes(method) && Math.random() * 100 < s.noise_sample;
    const comparison = new Comparison(this, route, s, d.side === 'legacy', again);
    const tap = new UserTap(s.max_body.bytes, comparison);
    f.tap = tap;
    // on, not once: tell() acts once anyway, and once() makes a wrapper object per copy.
    f.res.on('close', tap.closed);
    this.send(copyOf, s, server, other.path, comparison, false);
    if (again) this.send(copyOf, s, this.serverFor('legacy', route, s), proxiedAsReceived(d.parsed), comparison, true);
  }

  /** The server a copy to `upstream` goes to (the next in round-robin order). */
  private serverFor(upstream: string, route: Route, s: Shadow): ServerPool | undefined {
    return this.pools.serversFor(upstream, Math.min(route.timeouts.connect.ms, s.timeout.ms))[0];
  }

  /**
   * Comparisons wait their turn, a slice of the event loop at a time: copies to a slow side start
   * together and answer together, and comparing a whole wave in one turn held up every user's
   * request behind it.
   */
  enqueue(c: Comparison): void {
    this.toCompare.push(c);
    if (this.toCompare.length === 1) setImmediate(this.compareSome);
  }

  private readonly compareSome = (): void => {
    const until = performance.now() + COMPARE_SLICE_MS;
    do this.compareOne(this.toCompare.shift()!); while (this.toCompare.length > 0 && performance.now() < until);
    if (this.toCompare.length > 0) setImmediate(this.compareSome);
  };

  private compareOne(c: Comparison): void {
    const id = c.route.id;
    let threaded = false;
    try {
      threaded = this.settle(c);
    } catch (err) {
      this.log(`gateway: ${id}: shadow comparison failed: ${(err as Error).stack ?? (err as Error).message}`);
    } finally {
      if (!threaded) this.release(id);
    }
  }

  /** The comparison is over: its copy's in-flight slot is free. */
  private release(id: string): void {
    this.inFlight.set(id, (this.inFlight.get(id) ?? 1) - 1);
  }

  /** Counts the comparison, or hands large answers to the comparison thread: true then, and the slot is released when it answers. */
  private settle(c: Comparison): boolean {
    const id = c.route.id;
    if (this.results.generation(id) !== c.generation) return false; // begun before the results were reset
    const job = this.jobOf(c);
    if (job === null) return false;
    if (!onThread(job)) {
      const noise = job.again === null ? null : compareAnswers(job.legacy, job.again).map((x) => x.path);
      this.record(c, compareAnswers(job.legacy, job.fn), noise, false);
      return false;
    }
    this.thread.compare(job, (r) => {
      try {
        if ('error' in r) {
          this.log(`gateway: ${id}: shadow comparison failed: ${r.error}`);
          this.results.error(id, 'compare_failed');
        } else this.record(c, r.differences, r.noise, true);
      } finally {
        this.release(id);
      }
    });
    return true;
  }

  /** The answers to compare; null when there is nothing to compare, counted here as an error or a skip. */
  private jobOf(c: Comparison): CompareJob | null {
    const id = c.route.id;
    const shadow = c.shadow!;
    const user = c.user;
    if (shadow.kind === 'error') this.results.error(id, shadow.error);
    else if (shadow.kind === 'too_large' || user?.kind === 'too_large') this.results.skipped(id, 'response_too_large');
    else if (user?.kind !== 'answer') this.results.skipped(id, 'user_incomplete');
    else {
      return {
        legacy: c.userIsLegacy ? user.answer : shadow.answer,
        fn: c.userIsLegacy ? shadow.answer : user.answer,
        again: c.again?.kind === 'answer' ? c.again.answer : null,
      };
    }
    return null;
  }

  /** A comparison's findings, less what the route ignores; `examples`: the values are examples already. */
  private record(c: Comparison, differences: readonly Difference[], noise: readonly string[] | null, examples: boolean): void {
    const id = c.route.id;
    if (this.results.generation(id) !== c.generation) return; // reset while the thread compared
    const ignored = this.filter(c.s);
    if (noise !== null) this.results.learnNoise(id, noise.filter((p) => !ignored(p)));
    this.results.compared(id, differences.filter((x) => !ignored(x.path)), examples);
  }

  /** One copy (legacy's second when `again`): the comparison is told its outcome once, whatever happens. */
  private send(copy: CopyRequest, s: Shadow, server: ServerPool | undefined, path: string, comparison: Comparison, again: boolean): void {
    if (!server) return comparison.copyDone(again, { kind: 'error', error: 'refused' });
    let body: Buffer | Readable | null;
    try {
      // Its own reader of a buffered body: the copy may still read it after the request is over.
      body = copy.buffered !== null ? detachedBodySource(copy.buffered) : copy.body;
    } catch (err) {
      return comparison.copyDone(again, { kind: 'error', error: (err as NodeJS.ErrnoException).code ?? 'body_unreadable' });
    }
    const exchange = new CopyExchange(s.max_body.bytes, s.timeout.ms, comparison, again, body);
    // undici reports every failure through the handler, a bad request included.
    server.pool.dispatch({
      path,
      method: copy.method,
      headers: copy.headers,
      body,
      headersTimeout: s.timeout.ms,
      bodyTimeout: s.timeout.ms,
      reset: !server.keepalive,
    }, exchange, server.connectMs);
  }
}

/** The stage: between reading the body and the attempt, so a held body is known and the tap is in place. */
export const shadowCopy: Stage = (f) => {
  const s = f.proxied.route.shadow;
  if (s !== null) f.ctx.shadow.start(f, s);
  return false;
};
