// The shadow stage: the user is served as always by the side the split chose; a copy of the
// request goes to the other side, from its own bounded pool with its own timeout and in-flight
// limit, and the two answers are compared (shadow-compare.ts) into the route's results
// (shadow-results.ts). Nothing here can delay or fail the user's answer: the copy runs beside it,
// the user's answer is watched as it streams (a tap, up to the size limit), and every copy that
// is not made or not compared is counted with its reason.
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import type { Route, RouteTable, Shadow } from '../manifest/route-table';
import { toSideTarget } from './decide-route';
import { bodySize, detachedBodySource, type BufferedBody } from './buffer-body';
import { classifyUpstreamError, type ResponseTap } from './forward';
import type { Forwarding, Stage } from './forward-stages';
import { compareAnswers, ignoreMatcher, type CapturedAnswer, type PathFilter } from './shadow-compare';
import { ShadowResults, type SkipReason } from './shadow-results';
import { UpstreamPools } from './upstream-pools';

/** Connections per upstream server for copies (a max_conns of their own: a copy over it fails as refused); never a user's. */
export const SHADOW_POOL_CONNECTIONS = 64;
/** The longest an event-loop turn spends comparing copies' answers (ms). */
const COMPARE_SLICE_MS = 0.2;
/** Sent with every copy, so an upstream (and its logs) can tell a copy from a user's request. */
export const SHADOW_HEADER = 'x-strangler-shadow';

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

/** The user's answer as it streams past, kept up to `limit` bytes. */
class UserTap implements ResponseTap {
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private over = false;
  private resolve!: (o: Outcome | null) => void;
  /** The user's answer; null when it did not complete (the side failed, a fallback served it, the client left). */
  readonly done = new Promise<Outcome | null>((r) => { this.resolve = r; });

  constructor(private readonly limit: number) {}

  start(status: number, headers: IncomingHttpHeaders): void {
    this.status = status;
    this.headers = headers;
  }

  data(chunk: Buffer): void {
    if (this.over) return;
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.over = true;
      this.chunks.length = 0;
    } else this.chunks.push(chunk);
  }

  end(): void {
    this.ended = true;
    this.resolve(this.over ? { kind: 'too_large' } : { kind: 'answer', answer: { status: this.status, headers: this.headers, body: joined(this.chunks) } });
  }

  /** The user's response is over: without end(), it was not a complete answer from the decided side. */
  readonly closed = (): void => {
    if (!this.ended) this.resolve(null);
  };
}

export class ShadowCopies {
  readonly results: ShadowResults;
  private readonly pools: UpstreamPools;
  private readonly inFlight = new Map<string, number>();
  private readonly filters = new WeakMap<Shadow, PathFilter>();
  private readonly toCompare: (() => void)[] = [];

  constructor(table: RouteTable, registry: Registry, private readonly log: (line: string) => void) {
    this.results = new ShadowResults(registry);
    this.pools = new UpstreamPools(table, SHADOW_POOL_CONNECTIONS);
  }

  use(table: RouteTable): void {
    this.pools.use(table);
  }

  destroy(): Promise<void> {
    return this.pools.destroy();
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
    this.inFlight.set(route.id, running + 1);

    // What the copies need, taken out of the Forwarding now: no closure below holds the user's
    // request and response objects for as long as a copy to a slow side runs.
    const copyOf: CopyRequest = { method, headers: [...f.headers, SHADOW_HEADER, '1'], buffered: f.buffered, body: f.body as Buffer | null };
    const other = d.side === 'to' ? { upstream: 'legacy', path: d.parsed.requestUri } : toSideTarget(f.ctx.matcher, d.parsed);
    const shadowAnswer = this.send(copyOf, route, s, other);
    const legacyAgain = s.noise_sample > 0 && Math.random() * 100 < s.noise_sample ? this.send(copyOf, route, s, { upstream: 'legacy', path: d.parsed.requestUri }) : null;
    const tap = new UserTap(s.max_body.bytes);
    f.tap = tap;
    f.res.once('close', tap.closed);
    this.compareWhenDone(route, s, d.side === 'legacy', tap.done, shadowAnswer, legacyAgain);
  }

  private compareWhenDone(route: Route, s: Shadow, userIsLegacy: boolean, user: Promise<Outcome | null>, shadow: Promise<Outcome>, again: Promise<Outcome> | null): void {
    void Promise.all([user, shadow, again])
      .then(([u, sh, ag]) => this.inTurn(() => this.settle(route, s, userIsLegacy, u, sh, ag)))
      .catch((err: Error) => this.log(`gateway: ${route.id}: shadow comparison failed: ${err.stack ?? err.message}`))
      .finally(() => this.inFlight.set(route.id, (this.inFlight.get(route.id) ?? 1) - 1));
  }

  /**
   * Comparisons wait their turn, a slice of the event loop at a time: copies to a slow side start
   * together and answer together, and comparing a whole wave in one turn held up every user's
   * request behind it.
   */
  private inTurn(compare: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.toCompare.push(() => {
        try {
          compare();
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      });
      if (this.toCompare.length === 1) setImmediate(this.compareSome);
    });
  }

  private readonly compareSome = (): void => {
    const until = performance.now() + COMPARE_SLICE_MS;
    do this.toCompare.shift()!(); while (this.toCompare.length > 0 && performance.now() < until);
    if (this.toCompare.length > 0) setImmediate(this.compareSome);
  };

  private settle(route: Route, s: Shadow, userIsLegacy: boolean, user: Outcome | null, shadow: Outcome, again: Outcome | null): void {
    const id = route.id;
    if (shadow.kind === 'error') return this.results.error(id, shadow.error);
    if (user === null) return this.results.skipped(id, 'user_incomplete');
    if (user.kind !== 'answer' || shadow.kind !== 'answer') return this.results.skipped(id, 'response_too_large');
    const legacy = userIsLegacy ? user.answer : shadow.answer;
    const fn = userIsLegacy ? shadow.answer : user.answer;
    const ignored = this.filter(s);
    if (again !== null && again.kind === 'answer') {
      this.results.learnNoise(id, compareAnswers(legacy, again.answer).map((x) => x.path).filter((p) => !ignored(p)));
    }
    this.results.compared(id, compareAnswers(legacy, fn).filter((x) => !ignored(x.path) && !this.results.isNoise(id, x.path)));
  }

  /** One copy: the whole answer up to max_body, within the shadow's timeout; never rejects. */
  private send(copy: CopyRequest, route: Route, s: Shadow, target: { upstream: string; path: string }): Promise<Outcome> {
    const [server] = this.pools.serversFor(target.upstream, Math.min(route.timeouts.connect.ms, s.timeout.ms));
    if (!server) return Promise.resolve({ kind: 'error', error: 'refused' });
    const limit = s.max_body.bytes;
    let body: Buffer | Readable | null;
    try {
      // Its own reader of a buffered body: the copy may still read it after the request is over.
      body = copy.buffered !== null ? detachedBodySource(copy.buffered) : copy.body;
    } catch (err) {
      return Promise.resolve({ kind: 'error', error: (err as NodeJS.ErrnoException).code ?? 'body_unreadable' });
    }
    return new Promise((resolve) => {
      let status = 0;
      let headers: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      let controller: Dispatcher.DispatchController | null = null;
      const settle = (o: Outcome) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(o);
      };
      // undici bounds the wait for headers and between reads; this bounds the whole copy.
      const timer = setTimeout(() => {
        // Settled first: abort calls onResponseError at once.
        settle({ kind: 'error', error: 'timeout' });
        controller?.abort(new Error('shadow timeout'));
      }, s.timeout.ms);
      server.pool.dispatch({
        path: target.path,
        method: copy.method,
        headers: copy.headers,
        body,
        headersTimeout: s.timeout.ms,
        bodyTimeout: s.timeout.ms,
        reset: !server.keepalive,
      }, {
        onRequestStart(c) { controller = c; },
        onResponseStart(_c, statusCode, h) {
          status = statusCode;
          headers = h;
        },
        onResponseData(c, chunk) {
          size += chunk.length;
          if (size > limit) {
            settle({ kind: 'too_large' });
            c.abort(new Error('shadow answer over max_body'));
          } else chunks.push(chunk);
        },
        onResponseEnd() {
          settle({ kind: 'answer', answer: { status, headers, body: joined(chunks) } });
        },
        onResponseError(_c, err) {
          settle({ kind: 'error', error: classifyUpstreamError(err).kind });
        },
      });
    });
  }
}

/** One buffer of the chunks, copied only when there are several. */
function joined(chunks: Buffer[]): Buffer {
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/** The stage: between reading the body and the attempt, so a held body is known and the tap is in place. */
export const shadowCopy: Stage = (f) => {
  const s = f.proxied.route.shadow;
  if (s !== null) f.ctx.shadow.start(f, s);
  return false;
};
