// The raw HTTP client of the tests: bytes go on the wire exactly as given (HTTP clients normalise
// paths and refuse malformed requests), and the answer is parsed just enough for assertions.
// rawRequest: one request, read to the connection's close. exchange: hostile and faulty requests
// (optionally dribbled), read as far as the first answer goes: complete, truncated, none (0) or
// none in time (-1).
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The raw bytes received, head included. */
  raw: Buffer;
}

export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send these bytes verbatim instead of building a request. */
  rawRequest?: string | Buffer;
  timeoutMs?: number;
  /** Over TLS, with this SNI name (the certificate is not verified: the tests make their own). */
  tls?: TlsClient;
}

export interface TlsClient {
  readonly servername: string;
}

/** A loopback connection, plain or over TLS; `ready` is the event after which bytes may be written. */
function open(port: number, tls: TlsClient | undefined, localAddress?: string): { socket: Socket; ready: 'connect' | 'secureConnect' } {
  const tcp = connect({ port, host: '127.0.0.1', localAddress });
  if (!tls) return { socket: tcp, ready: 'connect' };
  return { socket: tlsConnect({ socket: tcp, servername: tls.servername, rejectUnauthorized: false }), ready: 'secureConnect' };
}

/** A response head (without its blank line): the status, and the headers lower-cased, repeats joined with ", ". */
export function parseResponseHead(head: Buffer): { status: number; headers: Record<string, string> } {
  const [statusLine, ...lines] = head.toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    headers[name] = headers[name] !== undefined ? `${headers[name]}, ${line.slice(i + 1).trim()}` : line.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers };
}

export function rawRequest(port: number, target: string, opts: RawRequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const { socket } = open(port, opts.tls);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response to ${target} within ${opts.timeoutMs ?? 10_000} ms`));
    }, opts.timeoutMs ?? 10_000);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', (err) => { clearTimeout(timer); reject(err); });
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      const headEnd = raw.indexOf('\r\n\r\n');
      if (headEnd < 0) return reject(new Error(`incomplete response to ${target}: ${JSON.stringify(raw.toString('latin1'))}`));
      const { status, headers } = parseResponseHead(raw.subarray(0, headEnd));
      let body: Buffer = raw.subarray(headEnd + 4);
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body, true)!;
      resolve({ status, headers, body, raw });
    });
    if (opts.rawRequest !== undefined) {
      socket.end(opts.rawRequest);
      return;
    }
    const body = opts.body === undefined ? undefined : Buffer.from(opts.body);
    const headers: Record<string, string> = { host: 'localhost', connection: 'close', ...opts.headers };
    if (body && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
    const head = `${opts.method ?? 'GET'} ${target} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
    socket.write(Buffer.from(head, 'latin1'));
    if (body) socket.write(body);
  });
}

/**
 * A chunked body decoded. Until its last chunk has arrived: null, or with `partial` what arrived
 * of it (a connection closed mid-body).
 */
function dechunk(buf: Buffer, partial = false): Buffer | null {
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0) break;
    const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
    if (!size) return Buffer.concat(out);
    if (buf.length < eol + 2 + size + 2) {
      if (partial) out.push(buf.subarray(eol + 2, eol + 2 + size));
      break;
    }
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return partial ? Buffer.concat(out) : null;
}

export interface ExchangeRequest {
  readonly raw: Buffer;
  /** Send `raw` in pieces of this many bytes, pausing `ms` between them (slow clients). */
  readonly dribble?: { readonly bytes: number; readonly ms: number };
  /** Half-close after sending. Not by default: nginx takes a client's FIN while proxying as an abort (499). */
  readonly halfClose?: boolean;
  /** The loopback source address to connect from (127.x.y.z): tags the request, since proxies pass it on as X-Real-IP. */
  readonly from?: string;
  /** Over TLS with this SNI name (certificate not verified). */
  readonly tls?: TlsClient;
  /**
   * Read until the server closes, not only the first answer (requests pipelined after it, the
   * last with `Connection: close`): closing at the first answer races the server's start of the
   * next request, which it may or may not have forwarded yet.
   */
  readonly untilClose?: boolean;
}

export interface Exchange {
  /** 0: closed without an answer; -1: no answer within the bound. */
  status: number;
  /** The answer ended as its framing says (false: cut off, or body up to EOF). */
  complete?: boolean;
  headers: Record<string, string>;
  body: Buffer;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Parses the first response in `raw`; null until it is complete. */
function parseResponse(raw: Buffer): Exchange | null {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const { status, headers } = parseResponseHead(raw.subarray(0, headEnd));
  const rest = raw.subarray(headEnd + 4);
  if (status === 100) {
    const next = parseResponse(rest);
    return next;
  }
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    return rest.length >= n ? { status, headers, body: rest.subarray(0, n), complete: true } : null;
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const body = dechunk(rest);
    return body === null ? null : { status, headers, body, complete: true };
  }
  return null; // body to EOF
}

/** Sends `c.raw` verbatim (or dribbled) and reads one answer (the first), however the server ends it. */
export function exchange(port: number, c: ExchangeRequest, timeoutMs = 15_000): Promise<Exchange> {
  return new Promise((resolve) => {
    const { socket, ready } = open(port, c.tls, c.from);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (e: Exchange) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(e);
    };
    const fromBytes = (): Exchange => {
      const raw = Buffer.concat(chunks);
      const parsed = parseResponse(raw);
      if (parsed) return parsed;
      const headEnd = raw.indexOf('\r\n\r\n');
      if (headEnd < 0) return { status: raw.length ? Number(raw.toString('latin1').split(' ')[1]) || 0 : 0, headers: {}, body: Buffer.alloc(0) };
      const p = parseResponse(Buffer.concat([raw.subarray(0, headEnd + 4), Buffer.from('')]));
      const status = Number(raw.subarray(0, headEnd).toString('latin1').split(' ')[1]);
      return p ?? { status, headers: {}, body: raw.subarray(headEnd + 4) };
    };
    const timer = setTimeout(() => finish({ status: -1, headers: {}, body: Buffer.alloc(0) }), timeoutMs);
    socket.on('data', (d) => {
      chunks.push(d);
      if (c.untilClose) return;
      const parsed = parseResponse(Buffer.concat(chunks));
      if (parsed) finish(parsed);
    });
    socket.on('error', () => finish(fromBytes()));
    socket.on('close', () => finish(fromBytes()));
    socket.on(ready, async () => {
      if (!c.dribble) {
        socket.write(c.raw);
      } else {
        for (let i = 0; i < c.raw.length && !done && !socket.destroyed; i += c.dribble.bytes) {
          socket.write(c.raw.subarray(i, i + c.dribble.bytes));
          await sleep(c.dribble.ms);
        }
      }
      // Half-close only when asked: nginx takes a client's FIN while proxying as an abort (499).
      if (c.halfClose && !socket.destroyed) socket.end();
    });
  });
}

