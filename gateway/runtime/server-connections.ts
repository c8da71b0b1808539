// The connections to one upstream server, with nginx's meaning of its two limits:
// - `keepalive: N` caps the IDLE connections kept for reuse (nginx's keepalive directive), not
//   the busy ones: a burst opens what it needs, and when it is over at most N stay open.
// - `max_conns: M` caps ALL connections (nginx's `server … max_conns=M`); a request that finds
//   the server at its cap is not queued but fails as "nothing sent", so the next server is tried
//   and, with none left, the answer is nginx's 502.
// undici's Pool caps total connections and queues past it, and keeps every idle connection until
// its keep-alive timeout, so each connection here is one undici Client (pipelining 1) and the
// idle ones are a stack (the most recently used first, as nginx's cache).
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import { Client, type Dispatcher } from 'undici';
import { closeBodySource } from './buffer-body';

export interface ConnectionLimits {
  /** Idle connections kept; 0: every request gets `Connection: close`. */
  readonly keepalive: number;
  /** All connections at once; 0: unlimited. */
  readonly maxConns: number;
  /** The largest response head a new connection takes (read when it opens: a reload may change it). */
  readonly maxHeaderBytes: () => number;
}

/** The server is at its max_conns: refused before anything was sent. */
export class ServerAtMaxConns extends Error {
  readonly code = 'STR_MAX_CONNS';
  constructor(address: string, max: number) { super(`${address} is at max_conns=${max}`); }
}

/** Any name: only a TLS origin would use it. */
const NO_SNI = 'upstream';
/** undici reads `servername` from a request's options; its types leave it out. */
type WithServername = Dispatcher.DispatchOptions & { servername?: string };

export class ServerConnections {
  private readonly idle: Client[] = [];
  /** Every connection open, busy or idle. */
  private readonly all = new Set<Client>();

  constructor(private readonly origin: string, private readonly address: string, private readonly limits: ConnectionLimits) {}

  /** Connections open now (busy and idle): what max_conns bounds. */
  get connections(): number {
    return this.all.size;
  }

  get idleConnections(): number {
    return this.idle.length;
  }

  /** At max_conns with none idle: a request dispatched now is refused. */
  get full(): boolean {
    return this.idle.length === 0 && this.limits.maxConns > 0 && this.all.size >= this.limits.maxConns;
  }

  /** `connectMs`: the route's connect timeout, should a new connection be needed. */
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, connectMs: number): void {
    if (this.full) {
      // A body stream (a buffered body's temp file) nobody will read: close it, as undici would.
      closeBodySource(opts.body);
      handler.onResponseError?.(NO_CONTROLLER, new ServerAtMaxConns(this.address, this.limits.maxConns));
      return;
    }
    const client = this.idle.pop() ?? this.connect(connectMs);
    // Upstreams speak plain HTTP: no SNI. Without a servername undici derives one from the Host
    // header, and asserts on a Host nginx passes on (an unclosed "[::1").
    (opts as WithServername).servername = NO_SNI;
    client.dispatch(opts, new Exchange(this, client, handler));
  }

  /** An exchange is over: back to the idle stack if it may be kept (keepalive 0 keeps none), else closed. */
  release(c: Client, reusable: boolean): void {
    if (reusable && !c.closed && !c.destroyed && this.idle.length < this.limits.keepalive) this.idle.push(c);
    else this.retire(c);
  }

  private connect(connectMs: number): Client {
    const client = new Client(this.origin, {
      pipelining: 1,
      connect: { timeout: connectMs },
      maxHeaderSize: this.limits.maxHeaderBytes(),
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
      // The route's read timeout is set per request; these are only the upper bounds.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    // An idle connection the server closed is dropped rather than reopened on its next use.
    client.on('disconnect', () => {
      const i = this.idle.indexOf(client);
      if (i >= 0) {
        this.idle.splice(i, 1);
        this.retire(client);
      }
    });
    this.all.add(client);
    return client;
  }

  private retire(client: Client): void {
    if (!this.all.delete(client)) return;
    if (!client.closed && !client.destroyed) client.close().catch(() => undefined);
  }

  /** Lets requests in flight finish. */
  async close(): Promise<void> {
    this.idle.length = 0;
    await Promise.allSettled([...this.all].map((c) => c.close()));
  }

  /** Cuts every connection, busy ones too. */
  async destroy(): Promise<void> {
    this.idle.length = 0;
    await Promise.allSettled([...this.all].map((c) => c.destroy()));
  }
}

/**
 * One request on one connection: passes undici's calls on to the caller's handler and gives the
 * connection back once. A class rather than closures: one object per request instead of seven.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private released = false;

  constructor(private readonly connections: ServerConnections, private readonly client: Client, private readonly handler: Dispatcher.DispatchHandler) {}

  private release(reusable: boolean): void {
    if (this.released) return;
    this.released = true;
    this.connections.release(this.client, reusable);
  }

  onRequestStart(ctl: Dispatcher.DispatchController, ctx: unknown): void {
    this.handler.onRequestStart?.(ctl, ctx);
  }

  // An upgraded connection belongs to the tunnel now.
  onRequestUpgrade(ctl: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, socket: Duplex): void {
    this.release(false);
    this.handler.onRequestUpgrade?.(ctl, status, headers, socket);
  }

  onResponseStart(ctl: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders, message: string): void {
    this.handler.onResponseStart?.(ctl, status, headers, message);
  }

  onResponseData(ctl: Dispatcher.DispatchController, chunk: Buffer): void {
    this.handler.onResponseData?.(ctl, chunk);
  }

  onResponseEnd(ctl: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    this.release(true);
    this.handler.onResponseEnd?.(ctl, trailers);
  }

  onResponseError(ctl: Dispatcher.DispatchController, err: Error): void {
    this.release(false);
    this.handler.onResponseError?.(ctl, err);
  }
}

/** A controller for a request that never started: nothing to pause or abort. */
const NO_CONTROLLER: Dispatcher.DispatchController = {
  abort: () => undefined,
  pause: () => undefined,
  resume: () => undefined,
  aborted: false,
  paused: false,
  reason: null,
};
