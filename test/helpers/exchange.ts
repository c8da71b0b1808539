// One exchange over a raw socket for hostile and faulty requests: the bytes go out verbatim
// (optionally dribbled), and whatever comes back is read as far as it goes: a complete answer, a
// truncated one (the status and what arrived of the body), no answer (0) or none in time (-1).
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { parseResponseHead } from './raw-http';

export interface ExchangeRequest {
  readonly raw: Buffer;
  /** Send `raw` in pieces of this many bytes, pausing `ms` between them (slow clients). */
  readonly dribble?: { readonly bytes: number; readonly ms: number };
  /** Half-close after sending. Not by default: nginx takes a client's FIN while proxying as an abort (499). */
  readonly halfClose?: boolean;
  /** Over TLS with this SNI name (certificate not verified). */
  readonly tls?: { readonly servername: string };
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
    const out: Buffer[] = [];
    let pos = 0;
    for (;;) {
      const eol = rest.indexOf('\r\n', pos);
      if (eol < 0) return null;
      const size = parseInt(rest.subarray(pos, eol).toString('latin1'), 16);
      if (!size) return { status, headers, body: Buffer.concat(out), complete: true };
      if (rest.length < eol + 2 + size + 2) return null;
      out.push(rest.subarray(eol + 2, eol + 2 + size));
      pos = eol + 2 + size + 2;
    }
  }
  return null; // body to EOF
}

/** Sends `c.raw` verbatim (or dribbled) and reads one answer, however the server ends it. */
export function exchange(port: number, c: ExchangeRequest, timeoutMs = 15_000): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket: Socket = c.tls
      ? tlsConnect({ port, host: '127.0.0.1', servername: c.tls.servername, rejectUnauthorized: false })
      : connect(port, '127.0.0.1');
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
      const parsed = parseResponse(Buffer.concat(chunks));
      if (parsed) finish(parsed);
    });
    socket.on('error', () => finish(fromBytes()));
    socket.on('close', () => finish(fromBytes()));
    socket.on(c.tls ? 'secureConnect' : 'connect', async () => {
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

