// One attempt at forwarding a request to one upstream server with undici's dispatch API: the
// response streams to the client with backpressure in both directions. An attempt either
// starts the client's response or fails before anything was sent, so the caller can still
// fall back to legacy or answer 502/504 itself.
import { STATUS_CODES, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { FailureKind } from './gateway-metrics';
import { clientResponseHeaders, rawResponseHead } from './proxy-headers';
import type { ServerPool } from './upstream-pools';

export interface UpstreamFailure {
  readonly kind: Exclude<FailureKind, 'status'>;
  /** What nginx answers for it: 504 for timeouts, 502 otherwise. */
  readonly status: 502 | 504;
  /** Nothing reached the server (refused, connect timeout): nginx tries the next server. */
  readonly nothingSent: boolean;
  readonly message: string;
}

export type AttemptResult =
  /** The client's response started (it may have been cut later, if the upstream broke off). */
  | { readonly kind: 'responded'; readonly status: number }
  /** The upstream answered 502/503/504 and the caller intercepts it; its body was dropped. */
  | { readonly kind: 'intercepted'; readonly status: 502 | 503 | 504 }
  | { readonly kind: 'failed'; readonly failure: UpstreamFailure }
  /** The client went away first. */
  | { readonly kind: 'client_gone' };

/** Watches the answer relayed to the client (a shadow comparison); called as it passes, never delaying it. */
export interface ResponseTap {
  start(status: number, headers: IncomingHttpHeaders): void;
  data(chunk: Buffer): void;
  end(): void;
}

export interface AttemptOptions {
  readonly server: ServerPool;
  readonly method: string;
  readonly path: string;
  readonly headers: string[];
  readonly body: Buffer | Readable | null;
  /** The route's read timeout: to the response headers, and between two reads of the body. */
  readonly readMs: number;
  /** send_timeout: the longest a client may leave the answer unread. */
  readonly sendMs: number;
  /** Hand 502/503/504 answers back to the caller instead of relaying them (fallback). */
  readonly intercept: boolean;
  readonly res: ServerResponse;
  readonly debug: OutgoingHttpHeaders | null;
  readonly tap?: ResponseTap | null;
}

export function classifyUpstreamError(err: Error & { code?: string }): UpstreamFailure {
  const message = err.message;
  switch (err.code) {
    case 'UND_ERR_CONNECT_TIMEOUT': return { kind: 'connect_timeout', status: 504, nothingSent: true, message };
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT': return { kind: 'timeout', status: 504, nothingSent: false, message };
    case 'STR_MAX_CONNS': case 'ECONNREFUSED': case 'ENOTFOUND': case 'EAI_AGAIN': case 'EHOSTUNREACH': case 'ENETUNREACH': case 'EADDRNOTAVAIL':
      return { kind: 'refused', status: 502, nothingSent: true, message };
    // undici refused the request before sending it: the gateway's own failure, not the upstream's.
    case 'UND_ERR_INVALID_ARG': case 'ERR_ASSERTION': case 'ERR_INVALID_ARG_TYPE': case 'ERR_INVALID_ARG_VALUE': case 'ERR_INVALID_CHAR': case 'ERR_INVALID_HTTP_TOKEN':
      return { kind: 'unsendable', status: 502, nothingSent: false, message };
    default: return { kind: 'reset', status: 502, nothingSent: false, message };
  }
}

/**
 * Writes a chunk of the upstream's answer to the client; pauses the upstream while the client is
 * behind. nginx's send_timeout: a client that reads nothing for `sendMs` loses its connection
 * (the timer outlives the response's end, so an unread tail is bounded too).
 */
function relay(c: Dispatcher.DispatchController, dest: { write(chunk: Buffer): boolean; once(event: 'drain', fn: () => void): unknown; destroy(): unknown }, chunk: Buffer, sendMs: number): void {
  if (!dest.write(chunk)) {
    c.pause();
    const timer = setTimeout(() => dest.destroy(), sendMs);
    dest.once('drain', () => {
      clearTimeout(timer);
      c.resume();
    });
  }
}

class ClientGone extends Error {
  constructor() { super('client closed the connection'); }
}

export function attempt(o: AttemptOptions): Promise<AttemptResult> {
  return new Promise((resolve) => {
    o.server.pool.dispatch({
      path: o.path,
      method: o.method,
      headers: o.headers,
      body: o.body,
      headersTimeout: o.readMs,
      bodyTimeout: o.readMs,
      // keepalive 0: undici sends `Connection: close` and closes after the response.
      reset: !o.server.keepalive,
    }, new Attempt(o, resolve), o.server.connectMs);
  });
}

/**
 * undici's handler for one attempt: relays the answer to the client and settles once. A class
 * rather than a literal of closures: two objects per request (it and its close listener)
 * instead of eight.
 */
class Attempt implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  /** The upstream's 502/503/504, held back for the caller (o.intercept); 0 otherwise. */
  private intercepted: 502 | 503 | 504 | 0 = 0;
  private status = 0;
  private done = false;
  private readonly onClientClose = (): void => {
    if (!this.o.res.writableFinished) this.controller?.abort(new ClientGone());
  };

  constructor(private readonly o: AttemptOptions, private readonly resolve: (r: AttemptResult) => void) {
    o.res.on('close', this.onClientClose);
  }

  private settle(r: AttemptResult): void {
    if (this.done) return;
    this.done = true;
    this.o.res.off('close', this.onClientClose);
    this.resolve(r);
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
    if (this.o.res.destroyed) c.abort(new ClientGone());
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    const o = this.o;
    // An interim answer (103 Early Hints) is not the answer: the final one follows.
    if (statusCode < 200) return;
    if (o.intercept && (statusCode === 502 || statusCode === 503 || statusCode === 504)) {
      this.intercepted = statusCode;
      return;
    }
    this.status = statusCode;
    o.res.writeHead(statusCode, clientResponseHeaders(headers, o.debug));
    o.tap?.start(statusCode, headers);
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.intercepted) return;
    this.o.tap?.data(chunk);
    relay(c, this.o.res, chunk, this.o.sendMs);
  }

  onResponseEnd(): void {
    if (this.intercepted) return this.settle({ kind: 'intercepted', status: this.intercepted });
    this.o.res.end();
    this.o.tap?.end();
    this.settle({ kind: 'responded', status: this.status });
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    const res = this.o.res;
    if (err instanceof ClientGone || res.destroyed) return this.settle({ kind: 'client_gone' });
    if (this.status) {
      // Headers are out: like nginx, all that is left is to cut the connection.
      res.destroy();
      return this.settle({ kind: 'responded', status: this.status });
    }
    this.settle({ kind: 'failed', failure: classifyUpstreamError(err) });
  }
}

export type UpgradeResult =
  /** 101: the two sockets are the caller's to pipe together. */
  | { readonly kind: 'upgraded'; readonly headers: IncomingHttpHeaders; readonly socket: Socket }
  /** The upstream answered without switching (a 403, or a server ignoring Upgrade): relayed, as nginx does. */
  | { readonly kind: 'responded'; readonly status: number }
  | { readonly kind: 'failed'; readonly failure: UpstreamFailure };

export interface UpgradeOptions {
  readonly server: ServerPool;
  readonly method: string;
  readonly path: string;
  readonly headers: string[];
  readonly protocol: string;
  readonly readMs: number;
  readonly sendMs: number;
  /** The client's socket (from the server's 'upgrade' event). */
  readonly client: Socket;
  readonly debug: OutgoingHttpHeaders | null;
}

/**
 * An upgrade request upstream. undici's upgrade() turns any answer but 101 into an error, which
 * would make a refused WebSocket (403) a 502; dispatching with `upgrade` keeps both outcomes.
 * A non-101 answer is relayed to the client socket, delimited by closing the connection.
 */
export function upgradeAttempt(o: UpgradeOptions): Promise<UpgradeResult> {
  return new Promise((resolve) => {
    const client = o.client;
    let controller: Dispatcher.DispatchController | null = null;
    let status = 0;
    let done = false;
    const settle = (r: UpgradeResult) => {
      if (done) return;
      done = true;
      client.off('close', onClientClose);
      resolve(r);
    };
    const onClientClose = () => controller?.abort(new ClientGone());
    client.on('close', onClientClose);

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (client.destroyed) c.abort(new ClientGone());
      },
      onRequestUpgrade(_c, _statusCode, headers, socket) {
        settle({ kind: 'upgraded', headers, socket: socket as Socket });
      },
      onResponseStart(_c, statusCode, headers, statusMessage) {
        status = statusCode;
        const out = clientResponseHeaders(headers, o.debug);
        out.connection = 'close';
        client.write(rawResponseHead(statusCode, statusMessage || STATUS_CODES[statusCode] || '', out));
      },
      onResponseData(c, chunk) {
        relay(c, client, chunk, o.sendMs);
      },
      onResponseEnd() {
        client.end();
        settle({ kind: 'responded', status });
      },
      onResponseError(_c, err) {
        if (err instanceof ClientGone || client.destroyed) {
          client.destroy();
          return settle({ kind: 'responded', status: status || 499 });
        }
        if (status) {
          client.destroy(); // the head is out: all that is left is to cut the connection
          return settle({ kind: 'responded', status });
        }
        settle({ kind: 'failed', failure: classifyUpstreamError(err) });
      },
    };

    o.server.pool.dispatch({
      path: o.path,
      method: o.method,
      headers: o.headers,
      upgrade: o.protocol,
      headersTimeout: o.readMs,
      bodyTimeout: o.readMs,
    }, handler, o.server.connectMs);
  });
}
